//! Checking the checker: classic small programs, each run by DPOR, by plain DFS and by
//! an independent brute force that counts Mazurkiewicz traces. DPOR is sound on a
//! program when it reaches every trace and every finding brute force reaches; its
//! optimality is its complete executions over the trace count.

pub mod brute;
pub mod programs;
pub mod random;
pub mod shapes;

use crate::{explore, Config, Program, Strategy};
use brute::{brute_force, observe_dfs, observe_parallel, run_serial, Limits};
use ksync::{FindingKind, PropertyIds, RuntimeCheck};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The answer a classic program must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    Pass,
    Fail,
}

impl Expected {
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Fail => "fail",
        }
    }
}

/// A self-test program with its known answer.
#[derive(Clone)]
pub struct Classic {
    pub program: Program,
    pub description: &'static str,
    pub expected: Expected,
    /// Finding kinds it must produce (for expected failures).
    pub expected_kinds: &'static [&'static str],
    /// Number of Mazurkiewicz traces, where a closed form is known.
    pub closed_form: Option<u64>,
    /// Brute force finishes quickly (well under a second in release mode); the
    /// others are brute-forced under a time budget and cross-checked against the
    /// closed form.
    pub brute_cheap: bool,
    /// Also run it serially and expect a lock-order finding (lockdep property).
    pub serial_lockdep: bool,
    /// A known gap of the DPOR engine this program exposes (the self-test still
    /// reports it as unsound until the engine is fixed).
    pub known_issue: Option<&'static str>,
    /// The same program without the checker's one-step sections (plain spinlocks
    /// instead of leaf ones): brute force on it must reach exactly the findings this
    /// one reaches, which checks the reduction itself, not only the search over it.
    pub unreduced: Option<Program>,
}

impl Classic {
    pub fn name(&self) -> &str {
        &self.program.name
    }
}

fn classic(program: Program, description: &'static str) -> Classic {
    Classic {
        program,
        description,
        expected: Expected::Pass,
        expected_kinds: &[],
        closed_form: None,
        brute_cheap: true,
        serial_lockdep: false,
        known_issue: None,
        unreduced: None,
    }
}

/// Traces of [`programs::philosophers`]: each fork is first taken by one of its two
/// users (2^N orientations); "every fork first by its left user" is exactly the
/// deadlock (one trace, cut at the cycle), "every fork first by its right user" is
/// infeasible: 2^N − 1.
pub fn philosopher_traces(n: u32) -> u64 {
    (1u64 << n) - 1
}

/// Every classic program, small to large.
pub fn classics() -> Vec<Classic> {
    use programs::*;
    let mut v = vec![
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock", "lock-order"],
            serial_lockdep: true,
            ..classic(abba(), "two tasks take locks A, B in opposite orders")
        },
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock", "lock-order", "invariant"],
            ..classic(
                abba_hidden(),
                "ABBA where t2 asserts t1 wrote first: fails only when t2 takes both locks before t1 takes A \
(its race is with t2's acquisition of A, blocked in the deadlocking execution)",
            )
        },
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock", "lock-order"],
            closed_form: Some(philosopher_traces(3)),
            ..classic(philosophers(3), "dining philosophers, N=3, left fork then right")
        },
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock", "lock-order"],
            closed_form: Some(philosopher_traces(4)),
            ..classic(philosophers(4), "dining philosophers, N=4")
        },
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock", "lock-order"],
            closed_form: Some(philosopher_traces(5)),
            brute_cheap: false,
            ..classic(philosophers(5), "dining philosophers, N=5")
        },
        Classic {
            expected: Expected::Fail,
            expected_kinds: &["deadlock"],
            ..classic(
                lost_wakeup(),
                "waiter tests a flag then sleeps without prepare/recheck; the wake-up can be lost",
            )
        },
        classic(
            wakeup_protocol(),
            "the same hand-off with wait_event's prepare/recheck: no lost wake-up",
        ),
        Classic {
            closed_form: Some(1),
            ..classic(private_locks(3), "3 tasks, each on its own lock: one trace")
        },
        classic(indexer(3, 2, 6), "indexer: 3 tasks insert 2 values each in a 6-slot CAS hash table"),
        classic(lastzero(3), "lastzero: a[0..=3]; t0 scans for the last zero, tj: a[j] = a[j-1] + 1"),
        classic(trylock(), "a trylock racing with a task that takes the lock twice"),
        classic(choices(), "two writers choose which atomic to write, a reader reads both"),
        classic(
            timed_handoff(),
            "a waiter holding A waits with a timeout for a flag set under A; a racer writes the flag",
        ),
    ];
    // The shapes the model uses; each reports its outcome as a finding, so brute force
    // and DPOR are compared on the outcomes reachable.
    let shape = |program: Program, description: &'static str| Classic {
        expected: Expected::Fail,
        expected_kinds: &["invariant"],
        ..classic(program, description)
    };
    v.extend([
        shape(
            shapes::timed_lock_chain(),
            "unplug-vs-suspend in miniature: an acquisition that completes only after a timeout races the one before it",
        ),
        shape(
            shapes::cut_short(),
            "usbfs-vs-suspend in miniature: a task still runnable when another's self-deadlock ends the execution takes a lock again later",
        ),
        shape(
            shapes::timeout_vs_wake(),
            "wait_event_timeout racing its wake-up, whose waker waits behind a lock held across a timed wait of chosen length",
        ),
        shape(
            shapes::delayed_work_vs_lock(),
            "delayed work armed under a lock racing another task's timed wait under that lock",
        ),
        shape(
            shapes::ordered_worker(),
            "an ordered worker that sleeps when idle runs a set-up item and a producer's item",
        ),
        shape(
            shapes::choice_in_timed_wait(),
            "choose() inside a timed wait's condition and after its timeout, against a racing writer",
        ),
        shape(
            shapes::signal_vs_wake(),
            "an interruptible timed wait whose wake-up races the signal main sends",
        ),
        Classic {
            unreduced: Some(shapes::leaf_sections(false)),
            ..shape(
                shapes::leaf_sections(true),
                "runtime PM's power.lock in miniature: leaf-spinlock sections run as one step reach what the plain spinlock's steps reach",
            )
        },
        Classic {
            brute_cheap: false,
            ..shape(
                shapes::setup_then_race(),
                "a set-up phase with a worker and a timed wait, then two racers on the set-up's wait queue",
            )
        },
    ]);
    for (t, k, cheap) in [(2, 2, true), (3, 2, true), (2, 3, true), (4, 2, false)] {
        v.push(Classic {
            closed_form: Some(nested_traces(t, k)),
            brute_cheap: cheap,
            ..classic(
                nested(t as usize, k as usize),
                "nested locks T×K: (T·K)!/(K!)^T traces",
            )
        });
    }
    v
}

/// Options of a self-test run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Budget of brute force on a program that is not cheap (cheap ones always run to
    /// the end).
    pub brute_budget: Duration,
    /// Budget of the plain-DFS column.
    pub dfs_budget: Duration,
    /// Run the plain-DFS column at all.
    pub run_dfs: bool,
    /// The property ids the runtime's findings are reported under.
    pub property_ids: PropertyIds,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            brute_budget: Duration::from_secs(10),
            dfs_budget: Duration::from_secs(10),
            run_dfs: true,
            property_ids: RuntimeCheck::name,
        }
    }
}

/// Workers of the simulated parallel search each program is also checked with.
pub const PARALLEL_WORKERS: usize = 3;

/// The result of one classic program.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub program: String,
    pub description: String,
    /// "pass" or "fail" (DPOR's verdict; "incomplete" if it could not finish).
    pub verdict: String,
    pub expected: String,
    /// Finding kinds DPOR reported, sorted.
    pub findings: Vec<String>,
    pub dpor_executions: u64,
    pub dpor_pruned: u64,
    pub dpor_complete: u64,
    /// Complete DPOR executions that repeated a trace.
    pub dpor_redundant: u64,
    pub dfs_executions: u64,
    pub dfs_finished: bool,
    /// Distinct traces brute force met (all of them when `brute_complete`).
    pub traces: u64,
    pub brute_schedules: u64,
    pub brute_complete: bool,
    pub closed_form: Option<u64>,
    /// Distinct traces DPOR met.
    pub dpor_traces: u64,
    /// Traces brute force met that DPOR did not.
    pub missing_traces: u64,
    /// Finding keys brute force met that DPOR did not report.
    pub missing_findings: Vec<String>,
    /// Finding keys of DPOR and brute force.
    pub dpor_keys: Vec<String>,
    pub brute_keys: Vec<String>,
    pub sound: bool,
    /// DPOR complete executions / traces.
    pub optimality: f64,
    /// The serial single execution reported a lock-order cycle (programs with
    /// `serial_lockdep` only).
    pub serial_lockdep: Option<bool>,
    /// Everything checked agrees (verdict as expected, kinds present, sound, closed
    /// form matched, serial lockdep).
    pub ok: bool,
    /// Why `ok` is false.
    pub problems: Vec<String>,
    /// The known engine gap this program exposes, if any.
    pub known_issue: Option<String>,
    pub dpor_seconds: f64,
    pub dfs_seconds: f64,
    pub brute_seconds: f64,
    pub seconds: f64,
}

/// Runs one classic program through DPOR, DFS and brute force and compares them.
pub fn run_classic(c: &Classic, opts: &Options) -> Outcome {
    let start = Instant::now();
    let p = &c.program.clone().with_property_ids(opts.property_ids);
    let mut problems = Vec::new();

    // The user-facing search.
    let rep = explore(p, &Config::default());
    let dpor_keys: BTreeSet<String> = rep.findings.iter().map(|f| f.finding.signature()).collect();
    let mut kinds: Vec<String> = rep
        .findings
        .iter()
        .map(|f| f.finding.kind.as_str().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();

    // The same search, observed execution by execution.
    let obs = observe_dfs(p, true, &Limits::default());
    if obs.executions != rep.executions || obs.pruned != rep.pruned {
        problems.push(format!(
            "observed DPOR ran {}/{} executions/pruned, explore() {}/{}",
            obs.executions, obs.pruned, rep.executions, rep.pruned
        ));
    }

    let (dfs_execs, dfs_finished, dfs_secs) = if opts.run_dfs {
        let r = explore(
            p,
            &Config {
                strategy: Strategy::Dfs,
                max_time: Some(opts.dfs_budget),
                ..Config::default()
            },
        );
        (r.executions, r.exhausted, r.elapsed.as_secs_f64())
    } else {
        (0, false, 0.0)
    };

    let limits = Limits {
        max_time: if c.brute_cheap {
            None
        } else {
            Some(opts.brute_budget)
        },
        ..Limits::default()
    };
    let bf = brute_force(p, &limits);
    if let Some(d) = &bf.diverged {
        problems.push(format!("brute force: program is not deterministic: {d}"));
    }

    let mut reduction_sound = true;
    if let Some(u) = &c.unreduced {
        let plain = brute_force(&u.clone().with_property_ids(opts.property_ids), &limits);
        let lost: Vec<&String> = plain.finding_keys.difference(&bf.finding_keys).collect();
        let gained: Vec<&String> = bf.finding_keys.difference(&plain.finding_keys).collect();
        if !lost.is_empty() || !gained.is_empty() || !plain.complete {
            reduction_sound = false;
            problems.push(format!(
                "one-step sections changed the findings: lost {lost:?}, gained {gained:?} (plain version searched to the end: {})",
                plain.complete
            ));
        }
    }
    let missing_traces = bf.forms.iter().filter(|f| !obs.forms.contains(*f)).count() as u64;
    let missing_findings: Vec<String> = bf.finding_keys.difference(&dpor_keys).cloned().collect();
    // The parallel search, its work stealing simulated deterministically.
    let par = observe_parallel(p, PARALLEL_WORKERS, &Limits::default());
    let par_missing_traces = bf.forms.iter().filter(|f| !par.forms.contains(*f)).count();
    let par_missing_findings: Vec<&String> =
        bf.finding_keys.difference(&par.finding_keys).collect();
    let parallel_sound = par_missing_traces == 0 && par_missing_findings.is_empty();
    if !parallel_sound {
        problems.push(format!(
            "parallel DPOR ({PARALLEL_WORKERS} workers) missed {par_missing_traces} trace(s) and finding(s) {par_missing_findings:?} brute force reached"
        ));
    }
    let mut sound = missing_traces == 0
        && missing_findings.is_empty()
        && bf.diverged.is_none()
        && reduction_sound
        && parallel_sound;
    if missing_traces > 0 {
        problems.push(format!(
            "DPOR missed {missing_traces} trace(s) brute force reached"
        ));
    }
    if !missing_findings.is_empty() {
        problems.push(format!(
            "DPOR missed finding(s): {}",
            missing_findings.join("; ")
        ));
    }
    let traces = bf.forms.len() as u64;
    if let Some(cf) = c.closed_form {
        if bf.complete && traces != cf {
            problems.push(format!(
                "brute force counted {traces} traces, closed form {cf}"
            ));
        }
        if obs.forms.len() as u64 != cf {
            sound &= obs.forms.len() as u64 >= cf;
            problems.push(format!(
                "DPOR reached {} traces, closed form {cf}",
                obs.forms.len()
            ));
        }
    }
    if bf.complete && obs.forms.len() as u64 > traces {
        problems.push(format!(
            "DPOR reached {} traces, more than brute force's {traces}",
            obs.forms.len()
        ));
    }
    if opts.run_dfs && dfs_finished && bf.complete && dfs_execs != bf.schedules {
        problems.push(format!(
            "plain DFS ran {dfs_execs} executions, brute force {} schedules",
            bf.schedules
        ));
    }

    let verdict = rep.verdict().as_str().to_string();
    if verdict != c.expected.as_str() {
        problems.push(format!(
            "verdict {verdict}, expected {}",
            c.expected.as_str()
        ));
    }
    for k in c.expected_kinds {
        if !kinds.iter().any(|x| x == k) {
            problems.push(format!("expected a finding of kind {k}"));
        }
    }

    let serial_lockdep = c.serial_lockdep.then(|| {
        let out = run_serial(p);
        let ok = out
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::LockOrder)
            && !out.findings.iter().any(|f| f.kind == FindingKind::Deadlock);
        if !ok {
            problems.push("serial execution did not report the lock-order cycle".into());
        }
        ok
    });

    let denom = c
        .closed_form
        .filter(|_| !bf.complete)
        .unwrap_or(traces)
        .max(1);
    let optimality = obs.complete() as f64 / denom as f64;
    if !sound && problems.is_empty() {
        problems.push("unsound".into());
    }
    Outcome {
        program: p.name.clone(),
        description: c.description.to_string(),
        verdict,
        expected: c.expected.as_str().to_string(),
        findings: kinds,
        dpor_executions: rep.executions,
        dpor_pruned: rep.pruned,
        dpor_complete: rep.executions - rep.pruned,
        dpor_redundant: obs.redundant,
        dfs_executions: dfs_execs,
        dfs_finished,
        traces,
        brute_schedules: bf.schedules,
        brute_complete: bf.complete,
        closed_form: c.closed_form,
        dpor_traces: obs.forms.len() as u64,
        missing_traces,
        missing_findings,
        dpor_keys: dpor_keys.into_iter().collect(),
        brute_keys: bf.finding_keys.into_iter().collect(),
        sound,
        optimality,
        serial_lockdep,
        ok: problems.is_empty(),
        problems,
        known_issue: c.known_issue.map(str::to_string),
        dpor_seconds: rep.elapsed.as_secs_f64(),
        dfs_seconds: dfs_secs,
        brute_seconds: bf.elapsed.as_secs_f64(),
        seconds: start.elapsed().as_secs_f64(),
    }
}
