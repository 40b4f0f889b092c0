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

fn format_trace_slice(trace: &[TraceEntry], last: u32, total: usize) -> String {
    let mut tasks: Vec<&str> = Vec::new();
    for e in trace {
        if !tasks.contains(&e.task.as_str()) {
            tasks.push(&e.task);
        }
    }
    let mut stacks: Vec<Vec<&'static str>> = vec![Vec::new(); tasks.len()];
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
        let col = tasks.iter().position(|t| *t == e.task).unwrap_or(0);
        let indent = "  ".repeat(col.min(8));
        if !e.frames.is_empty() && stacks[col] != e.frames {
            stacks[col] = e.frames.clone();
            let _ = writeln!(o, "        {indent}{} in {}", e.task, e.frames.join(" > "));
        }
        let held = if e.held.is_empty() {
            String::new()
        } else {
            format!("   [holds {}]", e.held.join(", "))
        };
        let t = if e.time_ms > 0 {
            format!(" @{}ms", e.time_ms)
        } else {
            String::new()
        };
        let _ = writeln!(o, "  {:>5} {indent}{}: {}{held}{t}", e.step, e.task, e.what);
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
    let _ = writeln!(
        o,
        "[{}] {} {}: {}",
        f.id,
        fi.kind.as_str(),
        fi.property,
        fi.summary
    );
    let _ = writeln!(o, "  mechanism: {}", f.signature);
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
