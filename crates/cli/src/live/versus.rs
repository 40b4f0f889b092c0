//! `usb-offload stress --versus-check`: testing against checking on the same code.
//! Per design: the time `check` needs for the scenario (to its first finding, and to
//! the end of its exhaustive search), beside the time stress — the scenario run over
//! and over on real threads, in a child process per design because a deadlock keeps
//! its threads forever — needs to its first deadlock, leak or panic.

use super::cmd_stress::Args;
use model::Design;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Instant;

struct Row {
    design: Design,
    check_first: (f64, String),
    check_all: (f64, u64, Vec<String>),
    stress: Option<(f64, String, u64)>,
}

pub fn run(a: &Args) -> u8 {
    let names = a
        .scenario
        .clone()
        .unwrap_or_else(|| "stream-vs-reset".into());
    let mut first = true;
    for name in names.split(',') {
        let Some(sc) = model::find_scenario(name) else {
            eprintln!("error: unknown scenario {name:?}");
            return crate::EXIT_USAGE;
        };
        table(a, &sc, first);
        first = false;
    }
    crate::EXIT_OK
}

fn table(a: &Args, sc: &model::Scenario, header: bool) {
    let name = sc.name;
    let mut rows = Vec::new();
    for design in Design::ALL {
        let program = sc.program(design);
        let t = Instant::now();
        let first = explore::explore(
            &program,
            &explore::Config {
                stop_at_first: true,
                ..sc.search_config()
            },
        );
        let check_first = (
            t.elapsed().as_secs_f64(),
            first
                .findings
                .first()
                .map(|f| format!("{} {}", f.finding.property, f.finding.kind.as_str()))
                .unwrap_or_else(|| "none".into()),
        );
        let t = Instant::now();
        let all = sc.check(design).report;
        let dl: std::collections::BTreeSet<String> = all
            .findings
            .iter()
            .filter(|f| {
                matches!(
                    f.finding.kind,
                    ksync::FindingKind::Deadlock
                        | ksync::FindingKind::Leak
                        | ksync::FindingKind::RecursiveLock
                        | ksync::FindingKind::Panic
                )
            })
            .map(|f| f.finding.property.clone())
            .collect();
        let check_all = (
            t.elapsed().as_secs_f64(),
            all.executions,
            dl.into_iter().collect(),
        );
        let exe = std::env::current_exe().expect("own executable");
        let out = Command::new(exe)
            .args(["stress", "--json", "--stop-at-first", "--scenario", name])
            .args(["--design", design.name()])
            .args(["--duration", &a.duration.to_string()])
            .args(["--seed", &a.seed.to_string()])
            .args(["--time-scale", &a.time_scale.to_string()])
            .args(["--hung-task-timeout", &a.hung_task_timeout.to_string()])
            .stderr(std::process::Stdio::null())
            .output()
            .expect("run stress");
        let summary: Option<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event"] == "summary");
        let stress = summary.and_then(|s| {
            let rounds = s["rounds"].as_u64().unwrap_or(0);
            s["findings"]
                .as_array()?
                .iter()
                .filter(|f| matches!(f["kind"].as_str(), Some("leak" | "deadlock" | "panic")))
                .map(|f| {
                    (
                        f["t_first"].as_f64().unwrap_or(0.0),
                        format!(
                            "{} {}",
                            f["property"].as_str().unwrap_or("?"),
                            f["kind"].as_str().unwrap_or("?")
                        ),
                        f["round"].as_u64().unwrap_or(rounds) + 1,
                    )
                })
                .min_by(|x, y| x.0.total_cmp(&y.0))
        });
        rows.push(Row {
            design,
            check_first,
            check_all,
            stress,
        });
    }
    if a.json {
        for r in &rows {
            println!(
                "{}",
                json!({ "scenario": name, "design": r.design.name(),
                    "check_first_s": r.check_first.0, "check_first": r.check_first.1,
                    "check_exhaustive_s": r.check_all.0, "check_executions": r.check_all.1,
                    "check_deadlocks_leaks": r.check_all.2,
                    "stress_first_s": r.stress.as_ref().map(|s| s.0),
                    "stress_first": r.stress.as_ref().map(|s| s.1.clone()),
                    "stress_rounds": r.stress.as_ref().map(|s| s.2) })
            );
        }
    } else {
        if header {
            println!(
                "check (exhaustive DPOR) vs stress (the scenario on real threads, seed {}, time scale {}, cap {} s)\n",
                a.seed, a.time_scale, a.duration
            );
            println!(
                "| scenario | design | check: first finding | check: exhaustive (deadlocks/leaks/panics found) | stress: first deadlock, leak or panic |"
            );
            println!("|---|---|---|---|---|");
        }
        for r in &rows {
            println!(
                "| {name} | {} | {:.3} s ({}) | {:.2} s, {} executions ({}) | {} |",
                r.design,
                r.check_first.0,
                r.check_first.1,
                r.check_all.0,
                r.check_all.1,
                if r.check_all.2.is_empty() {
                    "none".to_string()
                } else {
                    r.check_all.2.join(", ")
                },
                match &r.stress {
                    Some((t, p, n)) => format!("{t:.3} s ({p}, round {n})"),
                    None => format!("none within {} s", a.duration),
                }
            );
        }
    }
}
