//! Completions under the checker: one step for `complete`, one for the waiter's
//! taking of the count, and a timed wait that looks before it sleeps.

use explore::{explore, Config, Program, Report};
use ksync::{spawn, AtomicU32, Completion, FindingKind, LockClass};
use std::collections::BTreeSet;
use std::sync::Arc;

fn search(p: &Program) -> Report {
    let r = explore(p, &Config::default());
    assert!(r.exhausted, "{}: the search must end", p.name);
    r
}

/// The final states the program reported (`END ...` invariant findings).
fn ends(r: &Report) -> BTreeSet<String> {
    r.findings
        .iter()
        .filter(|f| f.finding.property.starts_with("END"))
        .map(|f| f.finding.property.clone())
        .collect()
}

fn end(state: String) {
    ksync::report(
        FindingKind::Invariant,
        &format!("END {state}"),
        state.clone(),
    );
}

/// A completer and a waiter on a one-step completion or, as the reference, on a
/// stepwise one (the waiter's look, registration and sleep are steps the search
/// orders against the completer's).
fn handoff(reference: bool) -> Program {
    Program::new(format!("handoff-{reference}"), move || {
        let done = Arc::new(completion(reference));
        let d = done.clone();
        let h = spawn("completer", move || d.complete());
        done.wait_for_completion();
        h.join();
    })
}

fn completion(reference: bool) -> Completion {
    let class = LockClass::new("done");
    if reference {
        Completion::stepwise(class)
    } else {
        Completion::new(class)
    }
}

#[test]
fn a_waiter_is_not_ordered_against_the_complete_it_waits_for() {
    let one_step = search(&handoff(false));
    let reference = search(&handoff(true));
    assert!(one_step.findings.is_empty() && reference.findings.is_empty());
    // The waiter cannot take the count before it is raised: nothing to reorder.
    assert_eq!(one_step.executions - one_step.pruned, 1);
    assert!(reference.executions - reference.pruned > 1);
}

#[test]
fn a_timed_wait_nobody_completes_times_out_after_its_timeout() {
    let p = Program::new("timeout", || {
        let done = Completion::new(LockClass::new("done"));
        let got = done.wait_for_completion_timeout(Some(10));
        end(format!("got={got} t={}", ksync::now_ms()));
    });
    let r = search(&p);
    assert_eq!(ends(&r), BTreeSet::from(["END got=false t=10".to_string()]));
}

#[test]
fn complete_all_releases_every_waiter_and_every_later_wait() {
    let p = Program::new("complete-all", || {
        let done = Arc::new(Completion::new(LockClass::new("done")));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let d = done.clone();
                spawn(&format!("w{i}"), move || d.wait_for_completion())
            })
            .collect();
        done.complete_all();
        for h in hs {
            h.join();
        }
        let later = done.wait_for_completion_timeout(Some(5));
        end(format!("later={later}"));
    });
    let r = search(&p);
    assert_eq!(ends(&r), BTreeSet::from(["END later=true".to_string()]));
}

#[test]
fn a_wait_that_is_never_completed_is_a_deadlock_naming_the_completion() {
    let p = Program::new("never", || {
        Completion::new(LockClass::new("qmi_response")).wait_for_completion();
    });
    let r = search(&p);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0].finding;
    assert_eq!(f.kind, FindingKind::Deadlock);
    assert!(
        f.summary.contains("waits for completion qmi_response"),
        "{}",
        f.summary
    );
}

/// Two waiters with timeouts of 10 and 30 ms on a completion completed once
/// (stepwise in the reference); the end says who got it.
fn two_timed_waiters(reference: bool) -> Program {
    Program::new(format!("two-waiters-{reference}"), move || {
        let done = Arc::new(completion(reference));
        done.complete();
        let got: Vec<Arc<AtomicU32>> = (0..2).map(|_| Arc::new(AtomicU32::new("got", 0))).collect();
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (d, g) = (done.clone(), got[i].clone());
                spawn(&format!("w{i}"), move || {
                    g.store(d.wait_for_completion_timeout(Some(10 + 20 * i as u64)) as u32)
                })
            })
            .collect();
        for h in hs {
            h.join();
        }
        end(format!("w0={} w1={}", got[0].load(), got[1].load()));
    })
}

fn either_ends() -> BTreeSet<String> {
    BTreeSet::from(["END w0=0 w1=1".to_string(), "END w0=1 w1=0".to_string()])
}

#[test]
fn either_of_two_timed_waiters_can_take_the_one_complete() {
    // The search must reach both ends (the timed-out wait happens after the clock
    // step, so only the first look of each wait can be reordered against the other's).
    assert_eq!(ends(&search(&two_timed_waiters(false))), either_ends());
}

#[test]
fn a_stepwise_reference_reaches_the_same_ends() {
    assert_eq!(ends(&search(&two_timed_waiters(true))), either_ends());
}
