//! Lock-order cycles printed in the layout of lockdep's "possible circular locking
//! dependency detected" report, so kernel developers read them at a glance.

use crate::rt::LockOrderCycle;
use std::fmt::Write;

fn stack_lines(out: &mut String, stack: &[&'static str]) {
    for f in stack.iter().rev() {
        let _ = writeln!(out, "       {f}");
    }
}

/// Formats `cycle`, found while `task` (holding `held`, inside `frames`) acquired the
/// lock that closed it.
pub fn format_cycle(
    cycle: &LockOrderCycle,
    task: &str,
    held: &[String],
    frames: &[&'static str],
) -> String {
    let mut o = String::new();
    let new = &cycle.edges[0];
    let (src, dst) = (new.from_name(), new.to_name());
    // Where the acquisition happened, if a kernel frame says so.
    let here = frames
        .last()
        .map(|f| format!(" at: {f}"))
        .unwrap_or_default();
    let _ = writeln!(o, "======================================================");
    let _ = writeln!(o, "WARNING: possible circular locking dependency detected");
    let _ = writeln!(o, "------------------------------------------------------");
    let _ = writeln!(o, "{task} is trying to acquire lock:");
    let _ = writeln!(o, " ({dst}){here}\n");
    let _ = writeln!(o, "but task is already holding lock:");
    let _ = writeln!(o, " ({src}) at: {}\n", new.from_site);
    let _ = writeln!(o, "which lock already depends on the new lock.\n");
    let _ = writeln!(o, "the existing dependency chain (in reverse order) is:\n");
    let chain = &cycle.edges[1..];
    for (i, e) in chain.iter().enumerate().rev() {
        let _ = writeln!(o, "-> #{} ({}):", i + 1, e.to_name());
        let _ = writeln!(
            o,
            "       [{} held {} from {}]",
            e.task,
            e.from_name(),
            e.from_site
        );
        stack_lines(&mut o, &e.stack);
        o.push('\n');
    }
    let _ = writeln!(o, "-> #0 ({dst}):");
    stack_lines(&mut o, &new.stack);
    let _ = writeln!(o, "\nother info that might help us debug this:\n");
    let mut names: Vec<String> = cycle.edges.iter().map(|e| e.to_name()).collect();
    names.rotate_right(1);
    names.push(names[0].clone());
    let _ = writeln!(o, "Chain exists of:\n  {}\n", names[1..].join(" --> "));
    let parent = chain
        .last()
        .map(|e| e.from_name())
        .unwrap_or_else(|| dst.clone());
    let _ = writeln!(o, " Possible unsafe locking scenario:\n");
    let _ = writeln!(o, "       CPU0                    CPU1");
    let _ = writeln!(o, "       ----                    ----");
    let _ = writeln!(o, "  lock({src});");
    let _ = writeln!(o, "                               lock({parent});");
    let _ = writeln!(o, "                               lock({src});");
    let _ = writeln!(o, "  lock({dst});");
    let _ = writeln!(o, "\n *** DEADLOCK ***\n");
    let _ = writeln!(
        o,
        "{} lock{} held by {task}:",
        held.len(),
        if held.len() == 1 { "" } else { "s" }
    );
    for (i, h) in held.iter().enumerate() {
        let _ = writeln!(o, " #{i}: ({h})");
    }
    let _ = writeln!(o, "\nstack backtrace:");
    stack_lines(&mut o, frames);
    o
}

/// The hung-task report of live mode, in the layout of the kernel's `khungtaskd`
/// ("INFO: task ... blocked for more than ...") followed by lockdep's
/// `debug_show_all_locks` ("Showing all locks held in the system"), and the
/// waits-for cycle among the blocked tasks if their lock waits close one.
pub fn format_hung_tasks(
    hung: &[crate::live::TaskSnapshot],
    all: &[crate::live::TaskSnapshot],
    limit: std::time::Duration,
) -> String {
    let mut o = String::new();
    for t in hung {
        let Some((on, dur, frames)) = &t.blocked else {
            continue;
        };
        if *dur >= limit {
            let _ = writeln!(
                o,
                "INFO: task {} blocked for more than {} ms (blocked {} ms).",
                t.name,
                limit.as_millis(),
                dur.as_millis()
            );
        } else {
            let _ = writeln!(
                o,
                "INFO: task {} blocked for {} ms, holding a lock a hung task waits for.",
                t.name,
                dur.as_millis()
            );
        }
        let _ = writeln!(o, "task:{:<15} state:D  waiting for: {on}", t.name);
        if let Some(h) = t.waits_for(all) {
            let _ = writeln!(o, "  held by: {}", h.name);
        }
        let _ = writeln!(o, "Call Trace:");
        stack_lines(&mut o, frames);
        o.push('\n');
    }
    let _ = writeln!(o, "Showing all locks held in the system:");
    for t in all.iter().filter(|t| !t.held.is_empty()) {
        let n = t.held.len();
        let _ = writeln!(
            o,
            "{n} lock{} held by {}:",
            if n == 1 { "" } else { "s" },
            t.name
        );
        for (i, h) in t.held.iter().enumerate() {
            let _ = writeln!(o, " #{i}: {h}");
        }
    }
    if let Some(cycle) = waits_for_cycle(hung, all) {
        let _ = writeln!(o, "\nwaits-for cycle (deadlock):");
        for t in &cycle {
            let (on, holder) = match (&t.blocked, t.waits_for(all)) {
                (Some((on, ..)), Some(h)) => (on.to_string(), h.name.clone()),
                _ => continue,
            };
            let _ = writeln!(o, "  {} blocked on {on}, held by {holder}", t.name);
        }
    }
    o
}

/// A cycle of lock waits starting from a hung task, if there is one.
pub fn waits_for_cycle(
    hung: &[crate::live::TaskSnapshot],
    all: &[crate::live::TaskSnapshot],
) -> Option<Vec<crate::live::TaskSnapshot>> {
    for start in hung {
        let mut path: Vec<&crate::live::TaskSnapshot> = vec![start];
        let mut cur = start;
        while let Some(next) = cur.waits_for(all) {
            if let Some(p) = path.iter().position(|t| t.id == next.id) {
                return Some(path[p..].iter().map(|t| (*t).clone()).collect());
            }
            path.push(next);
            cur = next;
        }
    }
    None
}
