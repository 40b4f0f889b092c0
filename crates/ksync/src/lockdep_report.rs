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
