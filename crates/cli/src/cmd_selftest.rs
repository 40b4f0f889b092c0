//! `usb-offload selftest`: checks the checker on classic small programs — DPOR against
//! an independent brute force that counts Mazurkiewicz traces, the expected verdicts,
//! and lockdep's property that the ABBA cycle shows in one serial execution.

use explore::selftest::{classics, run_classic, Options, Outcome};
use std::io::Write;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// JSON Lines, one object per program.
    #[arg(long)]
    pub json: bool,
    /// Run only the programs whose name contains this (repeatable).
    #[arg(long = "program", value_name = "NAME")]
    pub programs: Vec<String>,
    /// Skip the plain-DFS column and give brute force 2 s per large program.
    #[arg(long)]
    pub quick: bool,
    /// List the programs and exit.
    #[arg(long)]
    pub list: bool,
    /// Random programs to compare with brute force after the classic ones (default
    /// 200, or 50 with --quick; 0 skips them). Programs whose brute force would run
    /// more than 20 000 schedules are skipped and counted.
    #[arg(long, value_name = "N")]
    pub random: Option<u64>,
}

fn row(o: &Outcome) -> String {
    let findings = if o.findings.is_empty() {
        "-".to_string()
    } else {
        o.findings.join(",")
    };
    let dfs = if o.dfs_executions == 0 {
        "-".to_string()
    } else if o.dfs_finished {
        o.dfs_executions.to_string()
    } else {
        format!(">{}", o.dfs_executions)
    };
    let traces = if o.brute_complete {
        o.traces.to_string()
    } else {
        format!("≥{}", o.traces)
    };
    let traces = match o.closed_form {
        Some(cf) if !o.brute_complete => format!("{traces} (cf {cf})"),
        _ => traces,
    };
    format!(
        "{:<22} {:<5} {:<5} {:<29} {:>8} {:>10} {:>14} {:<5} {:>6.3} {:>7.2}s {}",
        o.program,
        o.verdict,
        o.expected,
        findings,
        o.dpor_executions,
        dfs,
        traces,
        if o.sound { "yes" } else { "NO" },
        o.optimality,
        o.seconds,
        if o.ok { "ok" } else { "MISMATCH" },
    )
}

pub fn run(a: Args) -> u8 {
    let all = classics();
    if a.list {
        for c in &all {
            println!(
                "{:<22} {:<5} {}",
                c.name(),
                c.expected.as_str(),
                c.description
            );
        }
        return crate::EXIT_OK;
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|c| {
            a.programs.is_empty() || a.programs.iter().any(|p| c.name().contains(p.as_str()))
        })
        .collect();
    if chosen.is_empty() {
        eprintln!("selftest: no program matches {:?} (see --list)", a.programs);
        return crate::EXIT_USAGE;
    }
    // The classics' findings are reported under the model's property ids.
    let defaults = Options {
        property_ids: model::invariants::runtime_check_property,
        ..Options::default()
    };
    let opts = if a.quick {
        Options {
            brute_budget: Duration::from_secs(2),
            run_dfs: false,
            ..defaults
        }
    } else {
        defaults
    };
    let mut all_ok = true;
    let mut serial_lines = Vec::new();
    if !a.json {
        println!(
            "{:<22} {:<5} {:<5} {:<29} {:>8} {:>10} {:>14} {:<5} {:>6} {:>8} check",
            "program", "got", "want", "findings", "dpor", "dfs", "traces", "sound", "optim", "time"
        );
    }
    let stdout = std::io::stdout();
    let bar = crate::term::bar(chosen.len() as u64, "programs");
    for (i, c) in chosen.iter().enumerate() {
        bar.set_message(c.name().to_string());
        let o = run_classic(c, &opts);
        bar.inc(1);
        crate::term::log(&format!(
            "[{}/{}] {}: {}",
            i + 1,
            chosen.len(),
            o.program,
            if o.ok { "ok" } else { "MISMATCH" }
        ));
        all_ok &= o.ok;
        let mut out = stdout.lock();
        if a.json {
            let _ = writeln!(out, "{}", serde_json::to_string(&o).expect("json"));
        } else {
            let _ = writeln!(out, "{}", row(&o));
            for p in &o.problems {
                let _ = writeln!(out, "    !! {p}");
            }
            if let (Some(k), false) = (&o.known_issue, o.sound) {
                let _ = writeln!(out, "    known engine gap: {k}");
            }
            if let Some(s) = o.serial_lockdep {
                serial_lines.push(format!(
                    "  {}: one serial execution (t1 to completion, then t2) reports the lock-order cycle: {}",
                    o.program,
                    if s { "yes" } else { "NO" }
                ));
            }
        }
        let _ = out.flush();
    }
    bar.finish_and_clear();
    let n_random = a.random.unwrap_or(if a.quick { 50 } else { 200 });
    let random = (n_random > 0 && a.programs.is_empty()).then(|| {
        let spin = crate::term::bar(1, "phases");
        spin.set_message(format!("{n_random} random programs against brute force"));
        crate::term::log(&format!(
            "selftest: comparing {n_random} random programs with brute force"
        ));
        let d = explore::selftest::random::check_seeds(
            0..n_random,
            20_000,
            model::invariants::runtime_check_property,
        );
        spin.finish_and_clear();
        d
    });
    if let Some(d) = &random {
        all_ok &= d.unsound.is_empty();
        if a.json {
            println!("{}", serde_json::json!({ "random_programs": d }));
        }
    }
    if !a.json {
        if let Some(d) = &random {
            println!(
                "\nrandom programs (seeds 0..{n_random}, two families): {} compared with brute force ({} fire timers; {} with leaf-spinlock sections and completions, each also against its plain-spinlock and count-and-wait-queue version), {} too large to brute-force, {} unsound",
                d.tested,
                d.with_timers,
                d.with_sections,
                d.too_large,
                d.unsound.len()
            );
            println!(
                "  each also searched in parallel ({} workers sharing the tree by work stealing, simulated): {} executions against {} serial",
                explore::selftest::PARALLEL_WORKERS,
                d.parallel_executions,
                d.serial_executions
            );
            println!(
                "  and split in 2 and in 3 shards (--shard): {} executions in all ({} serial; split after two executions and split again, so that these small trees are split too; every shard runs those two and repeats what races above its pieces add)",
                d.shard_executions,
                d.serial_executions
            );
            for u in &d.unsound {
                println!("    !! {u}");
            }
        }
        println!();
        println!("lockdep property:");
        for l in &serial_lines {
            println!("{l}");
        }
        println!(
            "\ncolumns: dpor = DPOR executions (incl. sleep-set-abandoned), dfs = plain DFS executions, \
traces = Mazurkiewicz traces counted by brute force (cf = closed form), sound = DPOR reached every \
trace and finding brute force reached (serial and parallel search), optim = DPOR complete executions / traces"
        );
        println!(
            "selftest: {}",
            if all_ok {
                "all programs as expected"
            } else {
                "MISMATCH"
            }
        );
    }
    if all_ok {
        crate::EXIT_OK
    } else {
        crate::EXIT_FINDING
    }
}
