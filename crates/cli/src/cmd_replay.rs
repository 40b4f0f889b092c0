//! `usb-offload replay TOKEN`: re-runs one counterexample step by step.

use crate::suite;
use serde_json::json;

#[derive(clap::Args)]
#[command(
    after_help = "A token is damaged if it was cut short, extended or altered (it carries its length and a checksum): \
replay refuses it with exit code 2; copy it whole from the `check` output. If an intact token no longer fits \
the model (the model changed since the token was made), replay says so and exits with 2 as well.\n\n\
Exit codes: 0 the execution ends without a finding, 1 it reproduces findings, 2 usage error \
(bad option, damaged or foreign token, the model left the token's schedule)."
)]
pub struct Args {
    /// A replay token printed by `check` (starts with `uo2.`).
    pub token: String,
    /// Steps before the execution counts as incomplete (use the value `check` ran with).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = crate::args::max_steps)]
    pub max_steps: u32,
    /// The trace and findings as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page: the sequence diagram beside the text.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Also write the sequence diagram alone, as SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
}

pub fn run(a: Args) -> u8 {
    let tok = match explore::token::decode(&a.token) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let (_, _, program) = match suite::program_by_name(&tok.program) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let r = explore::replay(&program, &tok.decisions, a.max_steps);
    let text = human(&program.name, &tok.decisions, &r, a.max_steps);
    if let Err(e) = write_files(&a, &program.name, &r, &text) {
        eprintln!("error: {e}");
        return crate::EXIT_USAGE;
    }
    if a.json {
        let v = json!({
            "program": program.name,
            "end": r.outcome.end,
            "steps": r.outcome.steps,
            "diverged": r.diverged,
            "findings": r.outcome.findings,
            "trace": r.outcome.trace,
        });
        println!("{v}");
    } else {
        print!("{text}");
    }
    if r.diverged.is_some() {
        crate::EXIT_USAGE
    } else if r.outcome.findings.is_empty() {
        crate::EXIT_OK
    } else {
        crate::EXIT_FINDING
    }
}

/// The human text of a replay: the trace, how it ended, and its findings.
fn human(name: &str, decisions: &[u32], r: &explore::Replay, max_steps: u32) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "replaying {name} ({} decisions)", decisions.len());
    o.push_str(&explore::report::format_trace(&r.outcome.trace));
    let _ = writeln!(
        o,
        "end: {:?} after {} steps",
        r.outcome.end, r.outcome.steps
    );
    if let Some(d) = &r.diverged {
        let _ = writeln!(o, "warning: the replay left the recorded schedule ({d}); the token is intact, so the model changed since the token was made: run `usb-offload check` again for a fresh token");
    }
    if r.outcome.end == ksync::rt::EndKind::StepBound {
        let _ = writeln!(
            o,
            "note: the execution hit the step bound ({max_steps} steps); if `check` ran with a larger --max-steps, pass it here too"
        );
    }
    for f in &r.outcome.findings {
        let _ = writeln!(o, "\n{}", explore::report::headline(f));
        let _ = writeln!(o, "  mechanism: {}", f.signature());
        for l in f.detail.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    o
}

/// The `--html` and `--svg` files, if asked for.
fn write_files(a: &Args, name: &str, r: &explore::Replay, text: &str) -> Result<(), String> {
    let write = |path: &std::path::Path, body: String| {
        std::fs::write(path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if let Some(p) = &a.html {
        let page =
            crate::html::replay_page(name, &a.token, &r.outcome.trace, &r.outcome.findings, text);
        write(p, page)?;
    }
    if let Some(p) = &a.svg {
        let d = crate::html::replay_diagram(name, &r.outcome.trace, &r.outcome.findings);
        write(p, crate::diagram_svg::standalone(&d))?;
    }
    Ok(())
}
