//! `usb-offload explain ID`: one finding of `check`, by its stable id, with its
//! shortest counterexample (or, for a lock-order cycle, one witness per edge).

use crate::suite::{self, SuiteOpts};
use explore::Strategy;

#[derive(clap::Args)]
#[command(
    after_help = "The id is the one `check` prints for each finding, DESIGN/SCENARIO/PROPERTY#N, e.g.\n  usb-offload explain v2-offload-spinlock/stream-vs-system-suspend/ACC-5#1\nThe pair is searched again exactly as `check` searches it (same bounds), so the ids agree."
)]
pub struct Args {
    /// A finding id printed by `check`: DESIGN/SCENARIO/PROPERTY#N.
    pub id: String,
    /// Steps per execution before it counts as incomplete (as given to `check`).
    #[arg(long, default_value_t = 20_000)]
    pub max_steps: u32,
    /// The finding as JSON (the object `check --json` prints for it).
    #[arg(long)]
    pub json: bool,
}

/// Splits `design/scenario/PROP#n` into the pair's name and the property part.
fn split_id(id: &str) -> Result<(&str, &str), String> {
    let bad = || {
        format!("`{id}` is not a finding id; ids look like v2-offload-spinlock/stream-vs-system-suspend/ACC-5#1 (`usb-offload check` prints them)")
    };
    let (pair, prop) = id.rsplit_once('/').ok_or_else(bad)?;
    if !prop.contains('#') || !pair.contains('/') {
        return Err(bad());
    }
    Ok((pair, prop))
}

pub fn run(a: Args) -> u8 {
    let (pair, _) = match split_id(&a.id) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let (design, scenario, _) = match suite::program_by_name(pair) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let opts = SuiteOpts {
        strategy: Strategy::Dpor,
        max_executions: None,
        max_steps: a.max_steps,
        max_time: None,
        jobs: 1,
        seed: 1,
        shard: None,
        shard_plan: None,
        progress: crate::term::progress(),
        no_declared_bound: false,
    };
    let r = suite::run_pairs(vec![(design, scenario)], &opts)
        .pop()
        .expect("one pair");
    let Some(f) = r.report.findings.iter().find(|f| f.id == a.id) else {
        let ids: Vec<&str> = r.report.findings.iter().map(|f| f.id.as_str()).collect();
        eprintln!(
            "error: {pair} has no finding {}; its findings are: {}",
            a.id,
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        );
        return crate::EXIT_USAGE;
    };
    if a.json {
        println!("{}", crate::cmd_check::finding_json(f));
    } else {
        print!(
            "{}",
            explore::report::format_found(&r.program, f, a.max_steps)
        );
    }
    crate::EXIT_FINDING
}
