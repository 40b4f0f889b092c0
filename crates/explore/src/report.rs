//! Human-readable counterexamples: per-task steps with kernel function names, the
//! locks each task holds, and the replay token.

use crate::{Found, Program};
use ksync::rt::TraceEntry;
use std::fmt::Write;

/// Formats a replayed trace: one line per event, indented in the column of its task;
/// a task's call stack is printed when it changes.
pub fn format_trace(trace: &[TraceEntry]) -> String {
    format_trace_until(trace, u32::MAX)
}

/// As [`format_trace`], stopping after step `last`.
pub fn format_trace_until(trace: &[TraceEntry], last: u32) -> String {
    format_trace_window(trace, last, usize::MAX)
}

/// As [`format_trace_until`], showing only the last `tail` events before the stop
/// (the earlier ones are counted, and `replay` shows them).
pub fn format_trace_window(trace: &[TraceEntry], last: u32, tail: usize) -> String {
    let upto = trace.iter().take_while(|e| e.step <= last).count();
    let skip = upto.saturating_sub(tail);
    let mut o = String::new();
    if skip > 0 {
        let _ = writeln!(
            o,
            "        … {skip} earlier event(s) not shown (`usb-offload replay` shows them all)"
        );
    }
    o.push_str(&format_trace_slice(
        &trace[skip..],
        last,
        trace.len() - skip,
    ));
    o
}

/// A finding's one-line headline: `deadlock LK-2: T_hub waits for …`, without the
/// kind said twice when the summary starts with it.
pub fn headline(f: &ksync::Finding) -> String {
    format!(
        "{} {}: {}",
        f.kind.as_str(),
        f.property,
        undoubled(f.kind, &f.summary)
    )
}

/// `summary` without a leading `KIND: ` (the headline already names the kind).
fn undoubled(kind: ksync::FindingKind, summary: &str) -> &str {
    summary
        .strip_prefix(kind.as_str())
        .and_then(|r| r.strip_prefix(": "))
        .unwrap_or(summary)
}

/// A trace line of a finding (`!! deadlock LK-2: deadlock: …`) without the doubled kind.
pub fn finding_line(what: &str) -> String {
    let Some(rest) = what.strip_prefix("!! ") else {
        return what.to_string();
    };
    // `KIND PROP: KIND: summary`
    if let Some((head, summary)) = rest.split_once(": ") {
        if let Some(kind) = head.split(' ').next() {
            if let Some(s) = summary
                .strip_prefix(kind)
                .and_then(|r| r.strip_prefix(": "))
            {
                return format!("!! {head}: {s}");
            }
        }
    }
    what.to_string()
}

/// The frames of `new` to print after `old`: the whole stack when it is short, else
/// the frames past the part shared with `old` (folded to a count), or the outer two
/// and inner three frames of a new long stack.
pub fn fold_stack(old: &[&str], new: &[&'static str]) -> String {
    const LONG: usize = 6;
    let common = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    if new.len() <= LONG {
        return new.join(" > ");
    }
    if common >= 2 && common < new.len() {
        // Keep the last shared frame, so the reader sees where the new calls start.
        let keep = common - 1;
        return format!("[{keep} frames] > {}", new[keep..].join(" > "));
    }
    if common >= new.len() && !new.is_empty() {
        // A return to a caller: the stack is a prefix of the old one.
        let keep = new.len().saturating_sub(2);
        return format!("[{keep} frames] > {}", new[keep..].join(" > "));
    }
    format!(
        "{} > [{} frames] > {}",
        new[..2].join(" > "),
        new.len() - 5,
        new[new.len() - 3..].join(" > ")
    )
}

/// The lock an acquisition line takes: `mutex_lock(&chip->mutex(card0))` →
/// `&chip->mutex(card0)`. Such a line is recorded before the lock is taken.
fn acquired(what: &str) -> Option<&str> {
    ["mutex_lock(", "spin_lock("]
        .iter()
        .find_map(|p| what.strip_prefix(p))
        .and_then(|r| r.strip_suffix(')'))
}

/// `[+a -b]`: the change from `before` to `after`, empty when none.
fn held_change(before: &[String], after: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for a in after {
        if !before.contains(a) {
            parts.push(format!("+{a}"));
        }
    }
    for b in before {
        if !after.contains(b) {
            parts.push(format!("-{b}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("   [{}]", parts.join(" "))
    }
}

fn format_trace_slice(trace: &[TraceEntry], last: u32, total: usize) -> String {
    // The tasks with events of their own (a finding of the end of the execution
    // has no task, and is no column).
    let mut tasks: Vec<&str> = Vec::new();
    for e in trace {
        if !e.task.is_empty() && !tasks.contains(&e.task.as_str()) {
            tasks.push(&e.task);
        }
    }
    let mut stacks: Vec<Vec<&'static str>> = vec![Vec::new(); tasks.len()];
    // Whether a task's held locks and waits were printed in full yet, and its last
    // `ends` list.
    let mut introduced = vec![false; tasks.len()];
    // The locks each task is known to hold, as the lines so far tell.
    let mut state: Vec<Vec<String>> = vec![Vec::new(); tasks.len()];
    let mut ends: Vec<Vec<String>> = vec![Vec::new(); tasks.len()];
    let mut o = String::new();
    let _ = writeln!(o, "  tasks: {}", tasks.join(", "));
    let mut shown = 0;
    let mut boot = 0usize;
    for e in trace {
        if e.step > last {
            break;
        }
        shown += 1;
        // The system's set-up (frames under `boot`) is summarised in one line.
        if e.frames.first() == Some(&"boot") {
            boot += 1;
            continue;
        }
        if boot > 0 {
            let _ = writeln!(o, "        (set-up: {boot} events under boot)");
            boot = 0;
        }
        if e.task.is_empty() {
            let _ = writeln!(o, "  {:>5} {}", e.step, finding_line(&e.what));
            continue;
        }
        let col = tasks.iter().position(|t| *t == e.task).unwrap_or(0);
        let indent = "  ".repeat(col.min(8));
        if e.what.starts_with("!! ") {
            let _ = writeln!(
                o,
                "  {:>5} {indent}{}: {}",
                e.step,
                e.task,
                finding_line(&e.what)
            );
            continue;
        }
        if !e.frames.is_empty() && stacks[col] != e.frames {
            let _ = writeln!(
                o,
                "        {indent}{} in {}",
                e.task,
                fold_stack(&stacks[col], &e.frames)
            );
            stacks[col] = e.frames.clone();
        }
        let mut notes = String::new();
        if !introduced[col] {
            introduced[col] = true;
            if !e.held.is_empty() {
                notes.push_str(&format!("   [holds {}]", e.held.join(", ")));
            }
        } else if e.blocked {
            // A blocked task's locks are the point of the line: say them again.
            if !e.held.is_empty() {
                notes.push_str(&format!("   [holds {}]", e.held.join(", ")));
            }
        } else {
            notes.push_str(&held_change(&state[col], &e.held));
        }
        state[col].clone_from(&e.held);
        if !e.blocked {
            if let Some(l) = acquired(&e.what) {
                if !state[col].iter().any(|h| h == l) {
                    notes.push_str(&format!("   [+{l}]"));
                    state[col].push(l.to_string());
                }
            }
        }
        if e.ends != ends[col] {
            if !e.ends.is_empty() {
                notes.push_str(&format!("   [can end waits on {}]", e.ends.join(", ")));
            }
            ends[col] = e.ends.clone();
        }
        let t = if e.time_ms > 0 {
            format!(" @{}ms", e.time_ms)
        } else {
            String::new()
        };
        let what = if e.blocked {
            format!("BLOCKED: {}", e.what)
        } else {
            e.what.clone()
        };
        let _ = writeln!(o, "  {:>5} {indent}{}: {what}{notes}{t}", e.step, e.task);
    }
    if shown < total {
        let _ = writeln!(
            o,
            "        … {} more event(s) until the execution ends",
            total - shown
        );
    }

    o
}

/// Formats one finding with its counterexample (replayed here to get the trace).
pub fn format_found(program: &Program, f: &Found, max_steps: u32) -> String {
    let mut o = String::new();
    let fi = &f.finding;
    let _ = writeln!(o, "[{}] {}", f.id, headline(fi));
    // A finding of no task's frame carries `@?` in its signature; the reader
    // needs no placeholder.
    let _ = writeln!(o, "  mechanism: {}", f.signature.replace("@?", ""));
    if let Some(t) = &fi.task {
        let _ = writeln!(
            o,
            "  found in task {t} at step {} ({} execution(s) hit it)",
            fi.step, f.occurrences
        );
    } else {
        let _ = writeln!(o, "  {} execution(s) hit it", f.occurrences);
    }
    if !fi.detail.is_empty() {
        for l in fi.detail.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    if fi.kind == ksync::FindingKind::LockOrder {
        let _ = writeln!(
            o,
            "  potential: the cycle is accumulated over executions; each edge was first recorded by:"
        );
        for w in &f.edge_witnesses {
            let _ = writeln!(
                o,
                "    {} -> {}: usb-offload replay {}",
                w.from, w.to, w.token
            );
        }
        let _ = writeln!(
            o,
            "  replay (the execution that closed the cycle): usb-offload replay {}",
            f.token
        );
        return o;
    }
    let r = crate::replay(program, &f.decisions, max_steps);
    let _ = writeln!(o, "  counterexample ({} steps):", r.outcome.steps);
    let last = if fi.kind == ksync::FindingKind::Deadlock {
        u32::MAX
    } else {
        fi.step
    };
    o.push_str(&format_trace_window(&r.outcome.trace, last, 60));
    let _ = writeln!(o, "  replay: usb-offload replay {}", f.token);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_stacks_fold_to_what_changed() {
        let a = ["w", "x", "y", "z", "p", "q", "r"];
        let b = ["w", "x", "y", "z", "p", "q", "r", "s"];
        assert_eq!(fold_stack(&a, &b), "[6 frames] > r > s");
        assert_eq!(fold_stack(&[], &["f", "g"]), "f > g");
        assert_eq!(fold_stack(&[], &b), "w > x > [3 frames] > q > r > s");
        assert_eq!(fold_stack(&b, &a), "[5 frames] > q > r");
    }

    #[test]
    fn the_kind_is_said_once() {
        assert_eq!(
            finding_line("!! deadlock LK-2: deadlock: T waits for m"),
            "!! deadlock LK-2: T waits for m"
        );
        assert_eq!(
            finding_line("!! invariant ACC-2: put on 0"),
            "!! invariant ACC-2: put on 0"
        );
        let f = ksync::Finding::new(ksync::FindingKind::Deadlock, "LK-2", "deadlock: T waits");
        assert_eq!(headline(&f), "deadlock LK-2: T waits");
    }

    #[test]
    fn held_locks_print_as_changes() {
        assert_eq!(
            acquired("mutex_lock(&chip->mutex(card0))"),
            Some("&chip->mutex(card0)")
        );
        assert_eq!(acquired("unlock(x)"), None);
        assert_eq!(
            held_change(&["a".into()], &["a".into(), "b".into()]),
            "   [+b]"
        );
        assert_eq!(held_change(&["a".into()], &[]), "   [-a]");
        assert_eq!(held_change(&["a".into()], &["a".into()]), "");
    }
}
