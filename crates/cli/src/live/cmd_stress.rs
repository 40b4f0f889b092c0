//! `usb-offload stress`: the stack on real threads under random storms, the testing
//! side of "testing vs checking" on the same model code.
//!
//! Each round boots a fresh system (`model::kit::setup`, as a checked execution does),
//! then runs either a storm — the DSP's sessions (with the answers to a disconnect
//! indication the model knows: disable, never, late, BYE, DEL_CLIENT, a new enable; and
//! crashes that come back) against 1–3 random events in their kernel threads, with an
//! injected fault in some rounds — or, with `--scenario`, a scenario of the suite
//! itself on OS threads (its `choose` points drawn at random). At the end of a round
//! the live run is left to quiesce and the checker's end-of-execution checks run on
//! its state. A hung-task watchdog reports a deadlock and ends the run.

use super::control::Event;
use super::log::Log;
use model::dsp::{self, Reaction, StreamReq};
use model::system::{Config, Fault, Sys};
use model::Design;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  usb-offload stress --design v1-caller-locks --duration 10 --seed 1
  usb-offload stress --design v2-offload-spinlock --scenario stream-vs-reset --duration 5

Exit codes: 0 no finding; 1 findings or a hung task; 2 usage error.")]
pub struct Args {
    /// The offload design.
    #[arg(long, default_value = "v2-offload-spinlock")]
    pub design: Design,
    /// Real seconds to run (rounds start until then).
    #[arg(long, default_value_t = 10.0, value_name = "S", allow_hyphen_values = true, value_parser = crate::args::seconds)]
    pub duration: f64,
    /// Seed of the storms and of the model's choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run this scenario of the suite on real threads instead of random storms (with
    /// `--versus-check`: a comma-separated list).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Real seconds per model second (the 10 s disconnect wait lasts 10 ms at 0.001).
    #[arg(long, default_value_t = 0.001, value_name = "X", allow_hyphen_values = true, value_parser = crate::args::time_scale)]
    pub time_scale: f64,
    /// A task blocked this long (real seconds) is a hung task.
    #[arg(long, default_value_t = 2.0, value_name = "SECS", allow_hyphen_values = true, value_parser = crate::args::seconds)]
    pub hung_task_timeout: f64,
    /// No fault injection (allocation failures, failing suspends).
    #[arg(long)]
    pub no_faults: bool,
    /// Stop at the first deadlock, leak or panic.
    #[arg(long)]
    pub stop_at_first: bool,
    /// For each design, the time this run needs to its first deadlock, leak or panic of the
    /// scenario (`--scenario`, default stream-vs-reset) beside the time `check` needs
    /// to find it; `--duration` caps each stress run.
    #[arg(long)]
    pub versus_check: bool,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a run found, for the summary.
#[derive(Default)]
struct Tally {
    rounds: u64,
    events: u64,
    /// property → (kind, first time in seconds, round, summary, occurrences)
    first: BTreeMap<String, (String, f64, u64, String, u64)>,
}

impl Tally {
    fn add(&mut self, f: &ksync::Finding, t: f64) -> bool {
        let round = self.rounds;
        let e = self
            .first
            .entry(f.property.clone())
            .or_insert_with(|| (f.kind.as_str().to_string(), t, round, f.summary.clone(), 0));
        e.4 += 1;
        e.4 == 1
    }
}

pub fn run(a: Args) -> u8 {
    if a.versus_check {
        return super::versus::run(&a);
    }
    let scenario = match &a.scenario {
        Some(n) => match model::find_scenario(n) {
            Some(s) => Some(s),
            None => {
                eprintln!("error: unknown scenario {n:?} (`usb-offload scenarios` lists them)");
                return crate::EXIT_USAGE;
            }
        },
        None => None,
    };
    ksync::live::set_time_scale(a.time_scale);
    let log = Arc::new(Log::new(a.json));
    let tally = Arc::new(parking_lot::Mutex::new(Tally::default()));
    let t0 = Instant::now();
    spawn_watchdog(
        a.design,
        a.scenario.clone(),
        Duration::from_secs_f64(a.hung_task_timeout),
        log.clone(),
        tally.clone(),
        t0,
    );
    let mut rng = ksync::rng::Rng::new(a.seed);
    let end = t0 + Duration::from_secs_f64(a.duration);
    let _ = ksync::take_live_findings();
    while Instant::now() < end {
        let round = tally.lock().rounds;
        ksync::live::seed(a.seed ^ round.wrapping_mul(0x9E37_79B9));
        let events = match scenario {
            Some(sc) => {
                (sc.run)(a.design);
                1
            }
            None => storm(a.design, &mut rng, !a.no_faults),
        };
        let calm = ksync::live::quiesce(Duration::from_secs(60));
        ksync::live::run_quiescence_hooks();
        let t = t0.elapsed().as_secs_f64();
        let found = ksync::take_live_findings();
        let mut tl = tally.lock();
        tl.rounds += 1;
        tl.events += events;
        if !calm {
            log.event("no-quiesce", "the round did not quiesce in 60 s", json!({}));
        }
        for f in &found {
            if tl.add(f, t) {
                log.event(
                    "finding",
                    &format!(
                        "round {round} at {t:.3} s: {}",
                        super::control::finding_line(f)
                    ),
                    json!({ "round": round, "t_first": t, "finding": super::control::finding_json(f) }),
                );
            }
        }
        if a.stop_at_first
            && tl
                .first
                .values()
                .any(|e| e.0 == "leak" || e.0 == "deadlock" || e.0 == "panic")
        {
            break;
        }
    }
    let tl = tally.lock();
    summary(
        &log,
        a.design,
        a.scenario.as_deref(),
        &tl,
        t0.elapsed().as_secs_f64(),
        None,
    );
    if tl.first.is_empty() {
        crate::EXIT_OK
    } else {
        crate::EXIT_FINDING
    }
}

fn summary(
    log: &Log,
    design: Design,
    scenario: Option<&str>,
    tl: &Tally,
    secs: f64,
    hung: Option<f64>,
) {
    let first: Vec<_> = tl
        .first
        .iter()
        .map(|(p, (k, t, r, s, n))| json!({ "property": p, "kind": k, "t_first": t, "round": r, "occurrences": n, "summary": s }))
        .collect();
    log.event(
        "summary",
        &format!(
            "{} {}: {} rounds, {} events in {secs:.2} s; {} distinct finding(s){}{}",
            design,
            scenario.unwrap_or("storm"),
            tl.rounds,
            tl.events,
            tl.first.len(),
            if tl.first.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    tl.first
                        .iter()
                        .map(|(p, (_, t, _, _, n))| format!("{p} ×{n} (first {t:.3} s)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            hung.map_or(String::new(), |t| format!("; hung task at {t:.3} s")),
        ),
        json!({ "design": design.name(), "scenario": scenario, "rounds": tl.rounds, "events": tl.events,
            "seconds": secs, "findings": first, "hung_at": hung }),
    );
}

/// The answers to a disconnect indication the model's DSP knows.
const REACTIONS: [Reaction; 6] = [
    Reaction::Disable,
    Reaction::Never,
    Reaction::Late,
    Reaction::Bye,
    Reaction::DelClient,
    Reaction::Enable,
];

/// One storm round: a fresh system, the DSP's sessions against random events. The
/// number of events run.
fn storm(design: Design, rng: &mut ksync::rng::Rng, faults: bool) -> u64 {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = [0, 2000][rng.below(2)];
    let n = 1 + rng.below(REACTIONS.len());
    cfg.dsp_reactions = (0..n)
        .map(|_| REACTIONS[rng.below(REACTIONS.len())])
        .collect();
    let sys = model::kit::setup(cfg);
    if faults && rng.below(3) == 0 {
        let all: Vec<Fault> = Fault::ALL[1..]
            .iter()
            .chain(&Fault::SUSPEND)
            .copied()
            .collect();
        sys.fault.set(all[rng.below(all.len())] as i64);
    }
    let sessions = 1 + rng.below(3);
    let crash = rng.below(4) == 0;
    let s = sys.clone();
    let mut hs = vec![ksync::spawn("DSP", move || {
        dsp_sessions(&s, sessions, crash)
    })];
    let picks = 1 + rng.below(3);
    for _ in 0..picks {
        let ev = Event::INJECTABLE[rng.below(Event::INJECTABLE.len())];
        let delay = rng.below(3) as u64;
        let s = sys.clone();
        hs.push(ksync::spawn(ev.task(), move || {
            ksync::msleep(delay);
            ev.run(&s);
        }));
    }
    for h in hs {
        h.join();
    }
    1 + picks as u64
}

/// The DSP: `n` enable/disable sessions, each request given up after the QMI client's
/// timeout; with `crash`, the DSP node goes away after the first enable and comes
/// back (BYE, then a new session).
fn dsp_sessions(sys: &Sys, n: usize, crash: bool) {
    for i in 0..n {
        let ok = request(sys, true).is_some_and(|r| r.status == 0);
        if crash && i == 0 {
            sys.qmi.send_bye(sys);
            continue;
        }
        if ok && ksync::choose(4) != 0 {
            request(sys, false);
        }
    }
}

fn request(sys: &Sys, enable: bool) -> Option<dsp::StreamResp> {
    let txn = sys.qmi.alloc_txn();
    let bytes = qmi::encode_req(txn, &StreamReq::new(enable, 0).to_qmi());
    dsp::request_raw_timeout(sys, txn, bytes, true).map(|r| {
        r.msg
            .as_ref()
            .map_or_else(Default::default, dsp::StreamResp::from)
    })
}

/// A hung task ends the run: the threads involved never return.
fn spawn_watchdog(
    design: Design,
    scenario: Option<String>,
    limit: Duration,
    log: Arc<Log>,
    tally: Arc<parking_lot::Mutex<Tally>>,
    t0: Instant,
) {
    let period = (limit / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    std::thread::Builder::new()
        .name("khungtaskd".into())
        .spawn(move || loop {
            std::thread::sleep(period);
            let Some((hung, all)) = ksync::live::hung_tasks(limit) else {
                continue;
            };
            let h = super::control::report_hang(&hung, &all, limit);
            // the moment the hang began: when the first of its tasks blocked
            let began = hung
                .iter()
                .filter_map(|t| t.blocked.as_ref().map(|b| b.1))
                .max()
                .unwrap_or_default();
            let t = (t0.elapsed().saturating_sub(began)).as_secs_f64();
            log.event(
                "hung-task",
                &format!("blocked since {t:.3} s: {}", h.tasks),
                json!({ "t_first": t, "cycle": h.cycle, "report": h.report }),
            );
            let mut tl = tally.lock();
            // a panic of a kernel thread (an oops) is the cause of the hang that
            // follows it: it is the finding, the hang is not a deadlock of its own
            let mut oops = false;
            for f in ksync::take_live_findings() {
                oops |= f.kind == ksync::FindingKind::Panic;
                if tl.add(&f, t) {
                    log.event(
                        "finding",
                        &format!("at {t:.3} s: {}", super::control::finding_line(&f)),
                        json!({ "t_first": t, "finding": super::control::finding_json(&f) }),
                    );
                }
            }
            if !oops {
                let f = ksync::Finding::new(
                    ksync::FindingKind::Deadlock,
                    "LK-2",
                    format!(
                        "hung tasks {}",
                        hung.iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                tl.add(&f, t);
            }
            summary(
                &log,
                design,
                scenario.as_deref(),
                &tl,
                t0.elapsed().as_secs_f64(),
                Some(t),
            );
            std::process::exit(crate::EXIT_FINDING as i32);
        })
        .expect("spawn watchdog");
}
