//! `usb-offload bench check`: executions and seconds per design × scenario and for the
//! whole suite, one search at a time (single core) and with every core.

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
        progress: crate::term::progress(),
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
    if json_out {
        let v = json!({
            "pairs": rows,
            "suite": {
                "pairs": all_cores.len(),
                "executions": execs,
                "steps": steps,
                "wall_seconds": wall,
                "cpu_seconds": cpu,
                "jobs": suite::default_jobs(),
                "exhaustive": exhaustive,
                "time_cap_seconds": cap.map(|c| c.as_secs_f64()),
            }
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
        println!(
            "\nsuite: {} pairs, {execs} executions, {steps} steps, {wall:.1} s wall on {} cores ({cpu:.1} s of searching){}",
            all_cores.len(),
            suite::default_jobs(),
            if exhaustive { ", every search exhaustive" } else { ", some searches stopped at the time cap" }
        );
    }
    crate::EXIT_OK
}
