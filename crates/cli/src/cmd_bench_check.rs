//! `usb-offload bench check`: executions and seconds per design × scenario and for the
//! whole suite with every core, then the largest searches each run alone, on one core
//! and on every core (work stealing), side by side.

use crate::suite::{self, SuiteOpts};
use explore::Strategy;
use serde_json::json;
use std::time::{Duration, Instant};

pub fn run(json_out: bool, quick: bool) -> u8 {
    let pairs = match suite::select(&[], &[]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let cap = if quick {
        Some(Duration::from_secs(5))
    } else {
        None
    };
    let opts = |jobs| SuiteOpts {
        strategy: Strategy::Dpor,
        max_executions: None,
        max_steps: 20_000,
        max_time: cap,
        jobs,
        seed: 1,
        shard: None,
        shard_plan: None,
        progress: crate::term::progress(),
        no_declared_bound: false,
    };
    let t = Instant::now();
    let all_cores = suite::run_pairs(pairs, &opts(suite::default_jobs()));
    let wall = t.elapsed().as_secs_f64();
    let rows: Vec<_> = all_cores
        .iter()
        .map(|r| {
            let secs = r.report.elapsed.as_secs_f64().max(1e-9);
            let mut v = suite::pair_json(r);
            v.insert(
                "executions_per_sec".into(),
                json!(r.report.executions as f64 / secs),
            );
            v.insert(
                "steps_per_sec".into(),
                json!(r.report.total_steps as f64 / secs),
            );
            v.insert("exhausted".into(), json!(r.report.exhausted));
            serde_json::Value::Object(v)
        })
        .collect();
    let execs: u64 = all_cores.iter().map(|r| r.report.executions).sum();
    let steps: u64 = all_cores.iter().map(|r| r.report.total_steps).sum();
    let cpu: f64 = all_cores
        .iter()
        .map(|r| r.report.elapsed.as_secs_f64())
        .sum();
    let exhaustive = all_cores.iter().all(|r| r.report.exhausted);
    let cores = suite::default_jobs();
    let largest =
        one_search_on_every_core(&all_cores, if quick { 2 } else { LARGEST }, cores, &opts);
    if json_out {
        let v = json!({
            "pairs": rows,
            "suite": {
                "pairs": all_cores.len(),
                "executions": execs,
                "steps": steps,
                "wall_seconds": wall,
                "cpu_seconds": cpu,
                "jobs": cores,
                "exhaustive": exhaustive,
                "time_cap_seconds": cap.map(|c| c.as_secs_f64()),
            },
            "one_search_on_every_core": largest.iter().map(Side::json).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        println!(
            "{:<20} {:<28} {:>10} {:>12} {:>8} {:>12}",
            "design", "scenario", "verdict", "executions", "seconds", "steps/s"
        );
        for r in &all_cores {
            let secs = r.report.elapsed.as_secs_f64();
            println!(
                "{:<20} {:<28} {:>10} {:>12} {:>8.2} {:>12.0}",
                r.design.name(),
                r.scenario.name,
                r.report.verdict().as_str(),
                r.report.executions,
                secs,
                r.report.total_steps as f64 / secs.max(1e-9)
            );
        }
        // What stopped the searches that did not end: a scenario's declared bound, or
        // --quick's time cap.
        let mut stopped: std::collections::BTreeMap<&str, usize> = Default::default();
        for r in all_cores.iter().filter(|r| !r.report.exhausted) {
            *stopped.entry(r.bound().unwrap_or("a limit")).or_default() += 1;
        }
        let ends = if stopped.is_empty() {
            ", every search exhaustive".to_string()
        } else {
            let list: Vec<String> = stopped.iter().map(|(b, n)| format!("{n} at {b}")).collect();
            format!(", every search exhaustive but {}", list.join(", "))
        };
        println!(
            "\nsuite: {} pairs, {execs} executions, {steps} steps, {wall:.1} s wall on {} cores ({cpu:.1} s of searching, {:.0} executions/s/core){ends}",
            all_cores.len(),
            cores,
            execs as f64 / cpu.max(1e-9)
        );
        println!("\nthe largest searches alone, on 1 core and on {cores} (work stealing):");
        println!(
            "{:<20} {:<28} {:>12} {:>12} {:>8} {:>8} {:>10} {:>10}",
            "design", "scenario", "executions", "on cores", "×", "seconds", "on cores", "×"
        );
        for l in &largest {
            println!(
                "{:<20} {:<28} {:>12} {:>12} {:>8.2} {:>8.1} {:>10.1} {:>10.2}",
                l.design,
                l.scenario,
                l.serial.0,
                l.parallel.0,
                l.parallel.0 as f64 / l.serial.0.max(1) as f64,
                l.serial.1,
                l.parallel.1,
                l.parallel.1 / l.serial.1.max(1e-9)
            );
        }
    }
    crate::EXIT_OK
}

/// How many of the largest searches are run alone on one core and on every core.
const LARGEST: usize = 4;

/// One search run alone on one core and on every core: (executions, seconds) each.
struct Side {
    design: &'static str,
    scenario: &'static str,
    serial: (u64, f64),
    parallel: (u64, f64),
    cores: usize,
    exhaustive: bool,
}

impl Side {
    fn json(&self) -> serde_json::Value {
        json!({
            "design": self.design,
            "scenario": self.scenario,
            "cores": self.cores,
            "serial_executions": self.serial.0,
            "serial_seconds": self.serial.1,
            "parallel_executions": self.parallel.0,
            "parallel_seconds": self.parallel.1,
            "executions_ratio": self.parallel.0 as f64 / self.serial.0.max(1) as f64,
            "seconds_ratio": self.parallel.1 / self.serial.1.max(1e-9),
            "exhaustive": self.exhaustive,
        })
    }
}

/// The `n` searches with the most executions in `suite_run`, each run alone on one
/// core, then on `cores` (nothing else runs meanwhile, so the times compare).
fn one_search_on_every_core(
    suite_run: &[suite::PairResult],
    n: usize,
    cores: usize,
    opts: &dyn Fn(usize) -> SuiteOpts,
) -> Vec<Side> {
    // Exhaustive ones only: a search cut at a bound runs as many executions however
    // many cores run it.
    let mut by_size: Vec<&suite::PairResult> =
        suite_run.iter().filter(|r| r.report.exhausted).collect();
    by_size.sort_by_key(|r| std::cmp::Reverse(r.report.executions));
    by_size
        .into_iter()
        .take(n)
        .map(|r| {
            let alone = |jobs| {
                let o = opts(jobs);
                let run = suite::run_pairs(vec![(r.design, r.scenario)], &o);
                let rep = &run[0].report;
                (rep.executions, rep.elapsed.as_secs_f64(), rep.exhausted)
            };
            let (se, ss, sx) = alone(1);
            let (pe, ps, px) = alone(cores);
            Side {
                design: r.design.name(),
                scenario: r.scenario.name,
                serial: (se, ss),
                parallel: (pe, ps),
                cores,
                exhaustive: sx && px,
            }
        })
        .collect()
}
