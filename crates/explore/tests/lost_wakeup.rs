//! The lost-wake-up detector and the deadlock summaries: a sleeper
//! whose condition holds with no wake-up sent to it is reported when its timeout
//! would end the wait, or when nothing can run any more; the kernel protocol
//! (prepare, re-check, sleep; store, then wake) stays silent. Each program is also
//! brute-forced, so DPOR must reach every finding brute force reaches.

use explore::selftest::brute::{brute_force, Limits};
use explore::{explore, Config, Found, Program};
use ksync::{frame, spawn, AtomicU32, LockClass, Mutex, RuntimeCheck, WaitQueue, WaitResult};
use std::sync::Arc;

fn findings(p: &Program) -> Vec<Found> {
    let r = explore(p, &Config::default());
    assert!(r.exhausted, "{}: not exhausted", p.name);
    let keys: std::collections::BTreeSet<String> =
        r.findings.iter().map(|f| f.signature.clone()).collect();
    let bf = brute_force(p, &Limits::default());
    assert!(bf.complete, "{}: brute force did not finish", p.name);
    let missing: Vec<_> = bf.finding_keys.difference(&keys).collect();
    assert!(missing.is_empty(), "{}: DPOR missed {missing:?}", p.name);
    r.findings
}

fn of_check(f: &[Found], check: RuntimeCheck) -> Vec<&Found> {
    f.iter()
        .filter(|x| x.finding.check == Some(check))
        .collect()
}

/// A waiter sleeps with a timeout until a flag is set; the setter never wakes the
/// queue (`wake`: false), or wakes it only before setting the flag (`wake_first`).
fn handoff(name: &str, wake: bool, wake_first: bool, timeout: Option<u64>) -> Program {
    Program::new(name.to_string(), move || {
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::labeled(LockClass::new("W_flag"), "dev0"));
        let (f2, w2) = (flag.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            let _f = frame("wait_for_flag");
            let r = wq.wait_event_timeout(|| flag.load() != 0, timeout);
            ksync::note(|| format!("waiter: {r:?}"));
        });
        let setter = spawn("setter", move || {
            let _f = frame("set_flag");
            if wake && wake_first {
                w2.wake_up();
            }
            f2.store(1);
            if wake && !wake_first {
                w2.wake_up();
            }
        });
        waiter.join();
        setter.join();
    })
}

#[test]
fn condition_set_without_wake_up_is_lost_even_with_a_timeout() {
    let f = findings(&handoff("no-wake", false, false, Some(100)));
    let lost = of_check(&f, RuntimeCheck::LostWakeup);
    assert_eq!(lost.len(), 1, "{f:#?}");
    let s = &lost[0].finding.summary;
    assert!(
        s.contains("waiter in wait_for_flag sleeps on W_flag(dev0)"),
        "{s}"
    );
    assert!(s.contains("flag last written by setter in set_flag"), "{s}");
    assert!(s.contains("only its timeout ends the wait"), "{s}");
    assert_eq!(lost[0].finding.task.as_deref(), Some("waiter"));
    assert_eq!(lost[0].finding.locks, vec!["W_flag".to_string()]);
    // The timeout hides it otherwise: nothing else is reported.
    assert_eq!(f.len(), 1, "{f:#?}");
}

#[test]
fn wake_up_before_the_store_is_lost() {
    // The waiter can be woken before the flag is set, re-check, sleep again, and
    // then the store comes with no further wake-up.
    let f = findings(&handoff("wake-first", true, true, Some(100)));
    assert_eq!(of_check(&f, RuntimeCheck::LostWakeup).len(), 1, "{f:#?}");
}

#[test]
fn store_then_wake_is_silent() {
    for t in [Some(100), None] {
        let f = findings(&handoff("protocol", true, false, t));
        assert!(f.is_empty(), "timeout {t:?}: {f:#?}");
    }
}

#[test]
fn lost_wake_up_without_timeout_is_named_in_the_deadlock() {
    let f = findings(&handoff("no-wake-forever", false, false, None));
    let lost = of_check(&f, RuntimeCheck::LostWakeup);
    assert_eq!(lost.len(), 1, "{f:#?}");
    assert!(
        lost[0].finding.summary.contains("it sleeps forever"),
        "{}",
        lost[0].finding.summary
    );
    let dl = of_check(&f, RuntimeCheck::Deadlock);
    assert_eq!(dl.len(), 1, "{f:#?}");
    let s = &dl[0].finding.summary;
    assert!(
        s.contains("waiter in wait_for_flag sleeps on W_flag(dev0) (its condition holds"),
        "{s}"
    );
    assert_eq!(
        dl[0].finding.locks,
        vec!["W_flag in wait_for_flag".to_string()]
    );
}

/// The task that will wake the queue is blocked behind a lock the waiter holds while
/// a third task sets the flag without waking: the wake-up comes, late (after the
/// timeout). That is the waiter holding what its waker needs (LK-6), not a lost
/// wake-up.
#[test]
fn a_late_wake_up_is_not_lost() {
    let p = Program::new("late-wake", || {
        let a = Arc::new(Mutex::new(LockClass::new("A"), ()));
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("W")));
        let (a2, f2, w2, f3) = (a.clone(), flag.clone(), wq.clone(), flag.clone());
        let waiter = spawn("waiter", move || {
            let _g = a.lock();
            wq.wait_event_timeout(|| flag.load() != 0, Some(100));
        });
        let waker = spawn("waker", move || {
            let _g = a2.lock();
            f2.store(1);
            w2.wake_up();
        });
        let racer = spawn("racer", move || f3.store(2));
        waiter.join();
        waker.join();
        racer.join();
    });
    let f = findings(&p);
    assert!(of_check(&f, RuntimeCheck::LostWakeup).is_empty(), "{f:#?}");
}

/// A wake-up sent after the timeout by a task that was not held up (it only slept)
/// does not excuse the lost one.
#[test]
fn a_wake_up_after_the_timeout_from_a_free_task_does_not_excuse() {
    let p = Program::new("wake-after-timeout", || {
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("W")));
        let (f2, w2) = (flag.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            wq.wait_event_timeout(|| flag.load() != 0, Some(100));
        });
        let setter = spawn("setter", move || {
            f2.store(1);
            ksync::msleep(500);
            w2.wake_up();
        });
        waiter.join();
        setter.join();
    });
    let f = findings(&p);
    assert_eq!(of_check(&f, RuntimeCheck::LostWakeup).len(), 1, "{f:#?}");
}

/// A wait that nothing can end (its condition never holds) is not a lost wake-up.
#[test]
fn a_condition_that_stays_false_is_only_a_timeout() {
    let p = Program::new("never", || {
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("W_never")));
        let f2 = flag.clone();
        let h = spawn("waiter", move || {
            let r = wq.wait_event_timeout(|| f2.load() != 0, Some(50));
            assert_eq!(r, WaitResult::TimedOut);
        });
        flag.store(0);
        h.join();
    });
    let f = findings(&p);
    assert!(f.is_empty(), "{f:#?}");
}

/// A sleeper holds a lock that the task which would wake it needs: the summary
/// names both waits, with the functions that wait.
fn lock_then_sleep(waker_site: &'static str) -> Program {
    Program::new(format!("lock-then-sleep-{waker_site}"), move || {
        let l = Arc::new(Mutex::labeled(LockClass::new("L_dev"), "1-1", ()));
        let flag = Arc::new(AtomicU32::new("in_use", 1));
        let wq = Arc::new(WaitQueue::labeled(LockClass::new("W_inuse"), "card0"));
        let (l2, f2, w2) = (l.clone(), flag.clone(), wq.clone());
        let sleeper = spawn("T_sys", move || {
            let _f = frame("send_disconnect_ind");
            let _g = l.lock();
            wq.wait_event(|| flag.load() == 0);
        });
        let waker = spawn("T_hub", move || {
            let _f = frame(waker_site);
            let _g = l2.lock();
            f2.store(0);
            w2.wake_up();
        });
        sleeper.join();
        waker.join();
    })
}

#[test]
fn deadlock_summary_names_every_blocked_task_and_its_wait() {
    let f = findings(&lock_then_sleep("usb_disconnect"));
    let dl = of_check(&f, RuntimeCheck::Deadlock);
    assert_eq!(dl.len(), 1, "{f:#?}");
    let s = &dl[0].finding.summary;
    assert!(
        s.contains("T_hub in usb_disconnect waits for L_dev(1-1) held by T_sys"),
        "{s}"
    );
    assert!(
        s.contains("T_sys in send_disconnect_ind sleeps on W_inuse(card0)"),
        "{s}"
    );
    assert!(!s.contains("main"), "joins are consequences: {s}");
    let mut locks = dl[0].finding.locks.clone();
    locks.sort();
    assert_eq!(
        locks,
        vec![
            "L_dev in usb_disconnect".to_string(),
            "W_inuse in send_disconnect_ind".to_string()
        ]
    );
    // The same classes blocked in another function are another deadlock.
    let g = findings(&lock_then_sleep("usb_reset_device"));
    let other = of_check(&g, RuntimeCheck::Deadlock);
    assert_ne!(other[0].finding.dedup_key(), dl[0].finding.dedup_key());
}

#[test]
fn lock_cycle_summary_names_the_functions() {
    let p = Program::new("abba-sites", || {
        let a = Arc::new(Mutex::new(LockClass::new("A"), ()));
        let b = Arc::new(Mutex::new(LockClass::new("B"), ()));
        let (a2, b2) = (a.clone(), b.clone());
        let h1 = spawn("t1", move || {
            let _f = frame("f1");
            let _x = a.lock();
            let _y = b.lock();
        });
        let h2 = spawn("t2", move || {
            let _f = frame("f2");
            let _y = b2.lock();
            let _x = a2.lock();
        });
        h1.join();
        h2.join();
    });
    let f = findings(&p);
    let dl = of_check(&f, RuntimeCheck::Deadlock);
    assert!(!dl.is_empty(), "{f:#?}");
    for d in dl {
        let s = &d.finding.summary;
        assert!(s.contains("in f2 waits for A held by t1"), "{s}");
        assert!(s.contains("in f1 waits for B held by t2"), "{s}");
    }
}

/// A condition that takes a lock cannot be evaluated from the scheduler (the lock
/// may be held by a suspended task): the evaluation is refused, not hung, and the
/// wait is left alone.
#[test]
fn a_condition_that_locks_is_not_evaluated() {
    let p = Program::new("locking-cond", || {
        let m = Arc::new(Mutex::new(LockClass::new("M"), ()));
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("W")));
        let (m2, f2) = (m.clone(), flag.clone());
        let waiter = spawn("waiter", move || {
            wq.wait_event_timeout(
                || {
                    let _g = m2.lock();
                    f2.load() != 0
                },
                Some(100),
            );
        });
        let setter = spawn("setter", move || {
            let _g = m.lock();
            flag.store(1);
        });
        waiter.join();
        setter.join();
    });
    let r = explore(&p, &Config::default());
    assert!(r.exhausted);
    assert!(
        r.findings
            .iter()
            .all(|f| f.finding.check != Some(RuntimeCheck::LostWakeup)),
        "{:#?}",
        r.findings
    );
}
