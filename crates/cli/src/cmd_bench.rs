//! `usb-offload bench explore`: scheduler throughput, and the classic programs under
//! our DPOR, our plain DFS and shuttle's DFS side by side.

#[cfg(feature = "shuttle")]
#[path = "bench_shuttle.rs"]
mod bench_shuttle;

use explore::selftest::classics;
use explore::{explore, Config, Strategy};
use serde::Serialize;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// What to benchmark: `explore` (the engine on classic programs, with shuttle when
    /// built with the `shuttle` feature) or
    /// `check` (the model suite, per design × scenario) or `live` (enable/disable round
    /// trips over the live socket, per design).
    pub what: String,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    /// Short runs (1 s caps instead of 10 s).
    #[arg(long)]
    pub quick: bool,
}

/// The programs compared with shuttle (those written for it in `bench_shuttle`).
const PROGRAMS: &[&str] = &[
    "abba",
    "philosophers-3",
    "philosophers-4",
    "philosophers-5",
    "private-locks-3",
    "indexer-3x2-6",
    "lastzero-3",
    "nested-2x2",
    "nested-2x3",
    "nested-3x2",
    "nested-4x2",
];

#[derive(Serialize)]
struct ProgramRow {
    program: String,
    dpor_executions: u64,
    dpor_pruned: u64,
    /// Wall time of the complete DPOR search.
    ours_seconds: f64,
    dfs_executions: u64,
    dfs_finished: bool,
    dfs_seconds: f64,
    /// Shuttle's DFS on the same program (null: built without the `shuttle` feature).
    shuttle: Option<ShuttleRun>,
    /// Shuttle executions per second over our plain-DFS executions per second
    /// (the same unreduced search: raw scheduler speed).
    dfs_speed_ratio: Option<f64>,
}

/// What one shuttle DFS run did.
#[derive(Serialize)]
pub struct ShuttleRun {
    /// Executions started.
    pub executions: u64,
    /// The DFS ran out of schedules before the time cap.
    pub finished: bool,
    /// The run stopped at a failing execution (deadlock or panic), its number.
    pub failed_at: Option<u64>,
    pub seconds: f64,
}

#[cfg(feature = "shuttle")]
fn shuttle_dfs(name: &str, cap: Duration) -> Option<ShuttleRun> {
    let body = bench_shuttle::program(name).expect("shuttle program");
    Some(bench_shuttle::run_dfs(body, cap))
}

#[cfg(not(feature = "shuttle"))]
fn shuttle_dfs(_name: &str, _cap: Duration) -> Option<ShuttleRun> {
    None
}

#[derive(Serialize)]
struct Throughput {
    program: String,
    strategy: String,
    /// Searches run one after another to fill the time (a small search ends in
    /// milliseconds, where a single run would time its set-up).
    searches: u64,
    /// The first search ran to its end (false: the time cap cut it, and it was the
    /// only one).
    complete: bool,
    executions: u64,
    steps: u64,
    seconds: f64,
    steps_per_sec: f64,
    executions_per_sec: f64,
}

#[derive(Serialize)]
struct BenchReport {
    /// Scheduling steps per second, one core (plain DFS on nested-4x2).
    steps_per_sec: f64,
    /// Executions per second, one core (plain DFS on nested-4x2).
    executions_per_sec: f64,
    throughput: Vec<Throughput>,
    cap_seconds: f64,
    /// Geometric mean of `dfs_speed_ratio` over the programs where both unreduced
    /// searches ran long enough and shuttle did not stop at a bug (< 1: ours is faster;
    /// null without the `shuttle` feature).
    shuttle_speed_ratio: Option<f64>,
    programs: Vec<ProgramRow>,
}

/// Runs `program` under `strategy`, search after search, until `cap` has passed.
fn throughput(
    name: &str,
    program: &explore::Program,
    strategy: Strategy,
    cap: Duration,
) -> Throughput {
    let start = std::time::Instant::now();
    let (mut searches, mut executions, mut steps, mut complete) = (0, 0, 0, true);
    while searches == 0 || start.elapsed() < cap {
        let r = explore(
            program,
            &Config {
                strategy,
                max_time: Some(cap.saturating_sub(start.elapsed())),
                ..Config::default()
            },
        );
        if searches == 0 {
            complete = r.exhausted;
        }
        searches += 1;
        executions += r.executions;
        steps += r.total_steps;
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Throughput {
        program: name.to_string(),
        strategy: format!("{strategy:?}").to_lowercase(),
        searches,
        complete,
        executions,
        steps,
        seconds: secs,
        steps_per_sec: steps as f64 / secs,
        executions_per_sec: executions as f64 / secs,
    }
}

/// The model pair timed beside the classic programs: the suite's largest search.
const MODEL_PAIR: (model::Design, &str) = (model::Design::Typed, "enable-vs-system-suspend");

pub fn run(a: Args) -> u8 {
    if a.what == "check" {
        return crate::cmd_bench_check::run(a.json, a.quick);
    }
    if a.what == "live" {
        return crate::live::bench::run(a.json, a.quick);
    }
    if a.what != "explore" {
        eprintln!(
            "bench: unknown benchmark `{}` (expected `explore`, `check` or `live`)\nusage: usb-offload bench explore|check|live [--json] [--quick]",
            a.what
        );
        return crate::EXIT_USAGE;
    }
    let cap = Duration::from_secs(if a.quick { 1 } else { 10 });
    let tp_cap = Duration::from_secs(if a.quick { 1 } else { 5 });
    let all = classics();
    let mut tps = Vec::new();
    for (name, s) in [
        ("nested-4x2", Strategy::Dfs),
        ("philosophers-5", Strategy::Dfs),
        ("nested-4x2", Strategy::Dpor),
        ("philosophers-5", Strategy::Dpor),
        ("indexer-3x2-6", Strategy::Dpor),
    ] {
        let c = all
            .iter()
            .find(|c| c.name() == name)
            .expect("classic program");
        tps.push(throughput(name, &c.program, s, tp_cap));
    }
    let (design, scenario) = MODEL_PAIR;
    let sc = model::find_scenario(scenario).expect("model scenario");
    let label = format!("{}/{scenario}", design.name());
    tps.push(throughput(
        &label,
        &sc.program(design),
        Strategy::Dpor,
        tp_cap,
    ));
    let mut rows = Vec::new();
    for &name in PROGRAMS {
        let c = all
            .iter()
            .find(|c| c.name() == name)
            .expect("classic program");
        let dpor = explore(&c.program, &Config::default());
        let dfs = explore(
            &c.program,
            &Config {
                strategy: Strategy::Dfs,
                max_time: Some(cap),
                ..Config::default()
            },
        );
        let sh = shuttle_dfs(name, cap);
        let dfs_rate = dfs.executions as f64 / dfs.elapsed.as_secs_f64().max(1e-9);
        let dfs_speed_ratio = sh
            .as_ref()
            .map(|sh| sh.executions as f64 / sh.seconds.max(1e-9) / dfs_rate.max(1e-9));
        rows.push(ProgramRow {
            program: name.to_string(),
            dpor_executions: dpor.executions,
            dpor_pruned: dpor.pruned,
            ours_seconds: dpor.elapsed.as_secs_f64(),
            dfs_executions: dfs.executions,
            dfs_finished: dfs.exhausted,
            dfs_seconds: dfs.elapsed.as_secs_f64(),
            shuttle: sh,
            dfs_speed_ratio,
        });
    }
    let ratios: Vec<f64> = rows
        .iter()
        .filter_map(|p| {
            let sh = p.shuttle.as_ref()?;
            let comparable = sh.failed_at.is_none() && p.dfs_seconds > 0.05 && sh.seconds > 0.05;
            comparable.then(|| p.dfs_speed_ratio.unwrap_or(1.0).max(1e-12).ln())
        })
        .collect();
    let shuttle_speed_ratio =
        (!ratios.is_empty()).then(|| (ratios.iter().sum::<f64>() / ratios.len() as f64).exp());
    let report = BenchReport {
        shuttle_speed_ratio,
        steps_per_sec: tps[0].steps_per_sec,
        executions_per_sec: tps[0].executions_per_sec,
        throughput: tps,
        cap_seconds: cap.as_secs_f64(),
        programs: rows,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report).expect("json"));
    } else {
        print_human(&report);
    }
    crate::EXIT_OK
}

fn print_human(r: &BenchReport) {
    println!("scheduler throughput (one core; whole searches repeated to fill the time, '>': one search cut by it):");
    for t in &r.throughput {
        let searches = if t.complete {
            format!("{:>6} searches", t.searches)
        } else {
            format!("{:>6} search >  ", t.searches)
        };
        println!(
            "  {:<32} {:<5} {searches} {:>9} executions {:>11} steps in {:>5.2}s = {:>5.2} M steps/s, {:>7.0} executions/s",
            t.program,
            t.strategy,
            t.executions,
            t.steps,
            t.seconds,
            t.steps_per_sec / 1e6,
            t.executions_per_sec
        );
    }
    println!(
        "\nclassic programs (cap {:.0} s per search; '>' = did not finish; shuttle: DfsScheduler, no reduction):",
        r.cap_seconds
    );
    println!(
        "{:<16} {:>9} {:>9} {:>11} {:>8} {:>12} {:>8} {:>10} {:>12}",
        "program", "dpor", "ours s", "dfs", "dfs s", "shuttle", "sh s", "sh/dpor", "sh s/ours s"
    );
    for p in &r.programs {
        let dfs = if p.dfs_finished {
            p.dfs_executions.to_string()
        } else {
            format!(">{}", p.dfs_executions)
        };
        let (sh, sh_s, sh_dpor, sh_ours) = match &p.shuttle {
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
            Some(s) => {
                let more = if s.finished || s.failed_at.is_some() {
                    ""
                } else {
                    "≥"
                };
                let count = match (s.finished, s.failed_at) {
                    (_, Some(n)) => format!("bug@{n}"),
                    (true, None) => s.executions.to_string(),
                    (false, None) => format!(">{}", s.executions),
                };
                (
                    count,
                    format!("{:.2}", s.seconds),
                    format!(
                        "{more}{:.0}×",
                        s.executions as f64 / p.dpor_executions.max(1) as f64
                    ),
                    format!("{more}{:.0}×", s.seconds / p.ours_seconds.max(1e-6)),
                )
            }
        };
        println!(
            "{:<16} {:>9} {:>9.4} {:>11} {:>8.2} {:>12} {:>8} {:>10} {:>12}",
            p.program,
            p.dpor_executions,
            p.ours_seconds,
            dfs,
            p.dfs_seconds,
            sh,
            sh_s,
            sh_dpor,
            sh_ours,
        );
    }
    match r.shuttle_speed_ratio {
        Some(geo) => println!(
            "\nraw speed, same unreduced DFS: shuttle executions/s over ours, geometric mean {geo:.2} \
(< 1: ours is faster)\nsh/dpor = shuttle executions per DPOR execution; sh s/ours s = shuttle wall time over our DPOR's"
        ),
        None => println!(
            "\nshuttle columns: this binary was built without the comparison; \
`cargo run --release -p usb-offload --features shuttle -- bench explore` adds it"
        ),
    }
}
