//! Runs every scenario × design through the checker (DPOR) with a time bound and
//! prints executions, whether the space was exhausted, and the distinct findings.
//!
//! `cargo run -p model --release --example explore_scenarios -- [scenario] [seconds]`

use std::sync::Arc;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = args.first().filter(|s| s.as_str() != "all").cloned();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    for sc in model::all_scenarios() {
        if only.as_deref().is_some_and(|o| o != sc.name) {
            continue;
        }
        for d in model::Design::ALL {
            let f = sc.run;
            let prog = explore::Program {
                name: format!("{d}/{}", sc.name),
                main: Arc::new(move || f(d)),
                property_ids: model::invariants::runtime_check_property,
            };
            let cfg = explore::Config {
                max_time: Some(Duration::from_secs(secs)),
                ..Default::default()
            };
            let r = explore::explore(&prog, &cfg);
            println!(
                "{:<28} {:<20} {:>10} execs {:>6} pruned exhausted={} stepbound={} {:.1}s verdict={}",
                sc.name,
                d.name(),
                r.executions,
                r.pruned,
                r.exhausted,
                r.step_bound_hits,
                r.elapsed.as_secs_f64(),
                r.verdict().as_str()
            );
            for f in &r.findings {
                println!(
                    "      {:>6}x {:<14} {:<7} {}",
                    f.occurrences,
                    f.finding.kind.as_str(),
                    f.finding.property,
                    f.finding.summary
                );
            }
        }
    }
}
