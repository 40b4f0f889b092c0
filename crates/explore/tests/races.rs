//! Data-race detection on plain fields.

use explore::{explore, Config, Program};
use ksync::{spawn, LockClass, Mutex, Racy, RuntimeCheck, SpinLock};
use std::sync::Arc;

fn two_writers(lock_a: bool, lock_b: bool, same_lock: bool) -> Program {
    Program::new("racy", move || {
        let word = Arc::new(Racy::new("udev->bitfield", 0u32));
        let l1 = Arc::new(SpinLock::new(LockClass::new("offload_lock"), ()));
        let l2 = Arc::new(Mutex::new(LockClass::new("udevL"), ()));
        let (w1, w2) = (word.clone(), word.clone());
        let (a1, b2, a2) = (l1.clone(), l2.clone(), l1.clone());
        let h1 = spawn("t1", move || {
            let _g = lock_a.then(|| a1.lock());
            w1.update(|w| w | 1);
        });
        let h2 = spawn("t2", move || {
            let _g = (lock_b && !same_lock).then(|| b2.lock());
            let _h = (lock_b && same_lock).then(|| a2.lock());
            w2.update(|w| w | 2);
        });
        h1.join();
        h2.join();
    })
}

fn races(p: &Program) -> usize {
    explore(p, &Config::default())
        .findings
        .iter()
        .filter(|f| f.finding.check == Some(RuntimeCheck::DataRace))
        .count()
}

#[test]
fn unsynchronised_writes_race() {
    assert_eq!(races(&two_writers(false, false, false)), 1);
}

#[test]
fn writes_under_different_locks_race() {
    // offload_pm_locked under offload_lock, its word neighbours under udevL.
    assert_eq!(races(&two_writers(true, true, false)), 1);
}

#[test]
fn writes_under_one_lock_do_not_race() {
    assert_eq!(races(&two_writers(true, true, true)), 0);
}

#[test]
fn spawn_and_join_order_accesses() {
    let p = Program::new("ordered", || {
        let w = Arc::new(Racy::new("field", 0u32));
        w.write(1);
        let w2 = w.clone();
        let h = spawn("child", move || w2.write(2));
        h.join();
        w.write(3);
    });
    assert_eq!(races(&p), 0);
}

#[test]
fn a_completion_orders_the_completer_before_the_waiter() {
    // The waiter may find the completion done without sleeping (no wake-up edge):
    // the completion itself orders, as its lock does in the kernel.
    let p = Program::new("completion", || {
        let w = Arc::new(Racy::new("field", 0u32));
        let done = Arc::new(ksync::Completion::new(LockClass::new("done")));
        let (w2, d2) = (w.clone(), done.clone());
        let h = spawn("completer", move || {
            w2.write(1);
            d2.complete();
        });
        done.wait_for_completion();
        w.write(2);
        h.join();
    });
    assert_eq!(races(&p), 0);
}

#[test]
fn atomics_do_not_order() {
    let p = Program::new("flag", || {
        let w = Arc::new(Racy::new("field", 0u32));
        let flag = Arc::new(ksync::AtomicU32::new("flag", 0));
        let (w2, f2) = (w.clone(), flag.clone());
        let h = spawn("writer", move || {
            w2.write(1);
            f2.store(1);
        });
        if flag.load() == 1 {
            w.write(2);
        }
        h.join();
    });
    assert_eq!(races(&p), 1);
}

#[test]
fn a_program_names_the_property_of_a_runtime_check() {
    let p = two_writers(false, false, false);
    let unnamed = explore(&p, &Config::default());
    assert!(unnamed
        .findings
        .iter()
        .all(|f| f.finding.property == "data-race"));
    let named = explore(
        &p.with_property_ids(|c| match c {
            RuntimeCheck::DataRace => "RACE-1",
            other => other.name(),
        }),
        &Config::default(),
    );
    assert_eq!(named.findings.len(), 1);
    assert_eq!(named.findings[0].finding.property, "RACE-1");
    assert_eq!(named.findings[0].finding.kind, ksync::FindingKind::DataRace);
}
