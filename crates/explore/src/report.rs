//! Human-readable counterexamples: per-task steps with kernel function names, the
//! locks each task holds, and the replay token.

use crate::{Found, Program};
use ksync::rt::TraceEntry;
use std::fmt::Write;

/// Formats a replayed trace: one line per step, indented in the column of its task.
pub fn format_trace(trace: &[TraceEntry]) -> String {
    let mut tasks: Vec<&str> = Vec::new();
    for e in trace {
        if !tasks.contains(&e.task.as_str()) {
            tasks.push(&e.task);
        }
    }
    let mut o = String::new();
    let _ = writeln!(o, "  tasks: {}", tasks.join(", "));
    for e in trace {
        let col = tasks.iter().position(|t| *t == e.task).unwrap_or(0);
        let indent = "    ".repeat(col.min(6));
        let stack = if e.frames.is_empty() {
            String::new()
        } else {
            format!("{} :: ", e.frames.join(" > "))
        };
        let held = if e.held.is_empty() {
            String::new()
        } else {
            format!("   [holds {}]", e.held.join(", "))
        };
        let t = if e.time_ms > 0 { format!(" t={}ms", e.time_ms) } else { String::new() };
        let _ = writeln!(o, "  {:>5}{t} {indent}{}: {stack}{}{held}", e.step, e.task, e.what);
    }
    o
}

/// Formats one finding with its counterexample (replayed here to get the trace).
pub fn format_found(program: &Program, f: &Found, max_steps: u32) -> String {
    let mut o = String::new();
    let fi = &f.finding;
    let _ = writeln!(o, "[{}] {} {}: {}", program.name, fi.kind.as_str(), fi.property, fi.summary);
    if let Some(t) = &fi.task {
        let _ = writeln!(o, "  found in task {t} at step {} ({} execution(s) hit it)", fi.step, f.occurrences);
    }
    if !fi.detail.is_empty() {
        for l in fi.detail.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    if !f.decisions.is_empty() || fi.kind != ksync::FindingKind::LockOrder {
        let r = crate::replay(program, &f.decisions, max_steps);
        let _ = writeln!(o, "  counterexample ({} steps):", r.outcome.steps);
        o.push_str(&format_trace(&r.outcome.trace));
    }
    let _ = writeln!(o, "  replay: usb-offload replay {}", f.token);
    o
}
