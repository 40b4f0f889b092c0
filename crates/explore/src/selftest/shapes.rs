//! Small programs in the shapes the model uses: timed waits under locks, delayed
//! work on an ordered worker that sleeps when idle, a set-up phase before the
//! concurrent part, choices inside a timed wait. Each reports the outcome it ends
//! in as a finding, so that brute force and DPOR are compared on the reachable
//! outcomes, not only on trace counts.

use crate::Program;
use ksync::{
    choose, msleep, spawn, AtomicU32, FindingKind, JoinHandle, LockClass, Mutex, SpinLock,
    WaitQueue, WaitResult, WorkQueue,
};
use std::sync::Arc;

fn join_all(hs: Vec<JoinHandle>) {
    for h in hs {
        h.join();
    }
}

/// Reports the outcome `what` of an execution (an `invariant` finding whose property
/// names the outcome), so that every distinct outcome is a distinct finding key.
fn outcome(what: String) {
    ksync::report(FindingKind::Invariant, &format!("OUT-{what}"), what.clone());
}

/// The unplug-vs-suspend shape. `sys` decides for the child under the child's lock,
/// waits with a timeout under it (the DSP never answers), then takes the parent's
/// lock; `hub` takes the parent's lock, then the child's, waits with a timeout under
/// both, and detaches the child. `sys` sees the child detached after it decided only
/// when `hub` took the parent while `sys` slept: the race between the two
/// acquisitions of the child's lock, one of which completes only after a timer fired.
/// `hub` is spawned first, so a search that keeps the first order it tries misses it.
pub fn timed_lock_chain() -> Program {
    Program::new("timed-lock-chain", || {
        let parent = Arc::new(Mutex::new(LockClass::new("tlc.parent"), ()));
        let child = Arc::new(Mutex::new(LockClass::new("tlc.child"), ()));
        let detached = Arc::new(AtomicU32::new("tlc.detached", 0));
        let never = Arc::new(WaitQueue::new(LockClass::new("tlc.W")));
        let (p2, c2, d2, w2) = (
            parent.clone(),
            child.clone(),
            detached.clone(),
            never.clone(),
        );
        let hub = spawn("hub", move || {
            let _p = p2.lock();
            let _c = c2.lock();
            w2.wait_event_timeout(|| false, Some(100));
            d2.store(1);
        });
        let sys = spawn("sys", move || {
            let decided_attached = {
                let _c = child.lock();
                let attached = detached.load() == 0;
                never.wait_event_timeout(|| false, Some(100));
                attached
            };
            let _p = parent.lock();
            ksync::check(!(decided_attached && detached.load() == 1), "TLC-1", || {
                "sys decided for an attached child that hub detached before sys took the parent"
                    .into()
            });
        });
        join_all(vec![hub, sys]);
    })
}

/// `wait_event_timeout` racing its wake-up: the waker is blocked on a lock whose
/// holder itself waits with a timeout of a chosen length, so the waiter's wait ends
/// by the wake-up or by its own timeout; a second writer races on the flag.
pub fn timeout_vs_wake() -> Program {
    Program::new("timeout-vs-wake", || {
        let l = Arc::new(Mutex::new(LockClass::new("tvw.L"), ()));
        let flag = Arc::new(AtomicU32::new("tvw.flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("tvw.W")));
        let idle = Arc::new(WaitQueue::new(LockClass::new("tvw.idle")));
        let (l2, f2, w2) = (l.clone(), flag.clone(), wq.clone());
        let holder = spawn("holder", move || {
            let _g = l.lock();
            let ms = if choose(2) == 0 { 20 } else { 80 };
            idle.wait_event_timeout(|| false, Some(ms));
        });
        let waker = spawn("waker", move || {
            let _g = l2.lock();
            f2.store(1);
            w2.wake_up();
        });
        let waiter = spawn("waiter", move || {
            let r = wq.wait_event_timeout(|| flag.load() != 0, Some(50));
            outcome(format!("{r:?}-{}", flag.load()));
        });
        join_all(vec![holder, waker, waiter]);
    })
}

/// A delayed timer armed by one task racing another task's lock: `a` queues delayed
/// work while holding L; `b` waits with a timeout while holding L, then writes x;
/// the item writes x too. Which write lands last depends on whether the timer was
/// armed before `b`'s critical section or only after it (then later).
pub fn delayed_work_vs_lock() -> Program {
    Program::new("delayed-work-vs-lock", || {
        let wq = WorkQueue::new_ordered("dwl.wq");
        let l = Arc::new(Mutex::new(LockClass::new("dwl.L"), ()));
        let x = Arc::new(AtomicU32::new("dwl.x", 0));
        let never = Arc::new(WaitQueue::new(LockClass::new("dwl.W")));
        let (l2, x2, xm) = (l.clone(), x.clone(), x.clone());
        let a = spawn("a", move || {
            let _g = l.lock();
            wq.queue_delayed_work("dwl_item", 10, move || x.store(x.load() * 10 + 2));
        });
        let b = spawn("b", move || {
            {
                let _g = l2.lock();
                never.wait_event_timeout(|| false, Some(30));
            }
            x2.store(x2.load() * 10 + 1);
        });
        join_all(vec![a, b]);
        // Long after both: the item has run whatever the order.
        msleep(100);
        outcome(format!("x{}", xm.load()));
    })
}

/// An ordered worker that runs queued items and sleeps when idle: main queues an
/// item during set-up; a producer queues a second one while holding a lock the first
/// item needs. The items append to a shared value in the order they run.
pub fn ordered_worker() -> Program {
    Program::new("ordered-worker", || {
        let wq = WorkQueue::new_ordered("ow.wq");
        let l = Arc::new(Mutex::new(LockClass::new("ow.L"), ()));
        let log = Arc::new(AtomicU32::new("ow.log", 0));
        let (l1, log1) = (l.clone(), log.clone());
        wq.queue_work("ow_first", move || {
            let _g = l1.lock();
            log1.store(log1.load() * 10 + 1);
        });
        let log2 = log.clone();
        spawn("producer", move || {
            let _g = l.lock();
            wq.queue_work("ow_second", move || log2.store(log2.load() * 10 + 2));
        });
        // Long after both items: the worker is idle again.
        msleep(100);
        outcome(format!("log{}", log.load()));
    })
}

/// A set-up phase before the concurrent part, as every model scenario has: main
/// starts a worker and waits (with a timeout) for a set-up item that takes a lock
/// main held, then spawns two racers, one of which waits with a timeout for the
/// other.
pub fn setup_then_race() -> Program {
    Program::new("setup-then-race", || {
        let wq = WorkQueue::new_ordered("str.wq");
        let l = Arc::new(Mutex::new(LockClass::new("str.L"), 0u32));
        let flag = Arc::new(AtomicU32::new("str.flag", 0));
        let wait = Arc::new(WaitQueue::new(LockClass::new("str.W")));
        let (l2, f2, w2) = (l.clone(), flag.clone(), wait.clone());
        {
            let _g = l.lock();
            wq.queue_work("str_setup", move || {
                *l2.lock() += 1;
                f2.store(1);
                w2.wake_up();
            });
        }
        let r = wait.wait_event_timeout(|| flag.load() != 0, Some(5));
        let base = *l.lock();
        let (f3, w3) = (flag.clone(), wait.clone());
        let r1 = spawn("r1", move || {
            let r1 = w3.wait_event_timeout(|| f3.load() == 2, Some(10));
            outcome(format!("{r:?}-{base}-{r1:?}"));
        });
        let r2 = spawn("r2", move || {
            flag.store(2);
            wait.wake_up();
        });
        join_all(vec![r1, r2]);
    })
}

/// A choice point inside a timed wait: the waiter's condition asks the environment
/// (as the DSP's reaction is chosen while the driver waits), and after a timeout it
/// chooses a recovery; a racer writes the state the waiter checks.
pub fn choice_in_timed_wait() -> Program {
    Program::new("choice-in-timed-wait", || {
        let st = Arc::new(AtomicU32::new("citw.state", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("citw.W")));
        let (st2, wq2) = (st.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            let mut asked = false;
            let r = wq.wait_event_timeout(
                || {
                    if !asked && st.load() == 1 {
                        asked = true;
                        return choose(2) == 1;
                    }
                    st.load() == 2
                },
                Some(40),
            );
            let fix = if r == WaitResult::TimedOut {
                choose(2)
            } else {
                9
            };
            outcome(format!("{r:?}-{fix}-{}", st.load()));
        });
        let racer = spawn("racer", move || {
            st2.store(1);
            wq2.wake_up();
            if choose(2) == 1 {
                st2.store(2);
                wq2.wake_up();
            }
        });
        join_all(vec![waiter, racer]);
    })
}

/// A signal racing a wake-up, as usbfs's interruptible `W_inuse` wait meets the
/// disable that releases it: the waiter's interruptible timed wait ends by the
/// condition, by the signal main sends, or (if neither came in time) by its timeout.
pub fn signal_vs_wake() -> Program {
    Program::new("signal-vs-wake", || {
        let flag = Arc::new(AtomicU32::new("svw.flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("svw.W")));
        let (f2, w2) = (flag.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            let r = wq.wait_event_interruptible_timeout(|| flag.load() != 0, Some(50));
            outcome(format!("{r:?}-{}", flag.load()));
        });
        let waker = spawn("waker", move || {
            f2.store(1);
            w2.wake_up();
        });
        ksync::yield_now();
        ksync::signal(&waiter);
        join_all(vec![waiter, waker]);
    })
}

/// The usbfs-vs-suspend shape: `sys` holds the child's lock across a timed wait (the
/// DSP never answers) while `usr` waits for it; `usr` then deadlocks on itself (a
/// recursive acquisition, reported at once: the execution ends there, whatever the
/// others could still do). `sys`, still runnable at that point, reads something
/// unrelated and takes the child's lock again; it gets there only if its second
/// acquisition comes before `usr`'s, a race that no execution shows until `sys` is
/// run ahead of the step that cuts it short. `usr` is spawned before `sys`, so a
/// search that keeps the first order it tries ends every execution at `usr`'s
/// deadlock. A bystander, spawned first, makes two unrelated steps: the deadlock
/// can cut it short after none, one or both.
pub fn cut_short() -> Program {
    Program::new("cut-short", || {
        let child = Arc::new(Mutex::new(LockClass::new("cs.child"), ()));
        let state = Arc::new(AtomicU32::new("cs.state", 0));
        let other = Arc::new(AtomicU32::new("cs.other", 0));
        let never = Arc::new(WaitQueue::new(LockClass::new("cs.W")));
        let by = Arc::new(AtomicU32::new("cs.by", 0));
        let bystander = spawn("bystander", move || {
            by.store(1);
            by.store(2);
        });
        let (c2, s2) = (child.clone(), state.clone());
        let usr = spawn("usr", move || {
            let _g = c2.lock();
            s2.store(1);
            let _again = c2.lock();
        });
        let sys = spawn("sys", move || {
            {
                let _g = child.lock();
                never.wait_event_timeout(|| false, Some(100));
            }
            let _ = other.load();
            let _g = child.lock();
            outcome(format!("relocked-{}", state.load()));
        });
        join_all(vec![bystander, usr, sys]);
    })
}

/// Every shape program.
pub fn all() -> Vec<Program> {
    vec![
        timed_lock_chain(),
        cut_short(),
        timeout_vs_wake(),
        delayed_work_vs_lock(),
        ordered_worker(),
        setup_then_race(),
        choice_in_timed_wait(),
        signal_vs_wake(),
    ]
}

/// Runtime PM's `power.lock` in miniature, written once with a leaf spinlock (whose
/// sections the checker runs as one step) and once with a plain one (`leaf = false`,
/// every operation a step): the reference brute force runs to check that one-step
/// sections lose no outcome. `resume` counts a user in and moves the status through
/// RESUMING under the lock; `idle` reads the count and, at zero, flags an idle
/// notification; `watch` reads the status twice without the lock, as a waiter does.
/// The outcome is what `idle` decided, what `watch` saw and the final state, jointly.
pub fn leaf_sections(leaf: bool) -> Program {
    let name = if leaf {
        "leaf-sections"
    } else {
        "leaf-sections-plain"
    };
    Program::new(name, move || {
        #[derive(Default)]
        struct Counts {
            users: u32,
            idle_flag: bool,
        }
        let class = LockClass::new("ls.power.lock");
        let lock = Arc::new(if leaf {
            SpinLock::leaf(class, "dev", Counts::default())
        } else {
            SpinLock::labeled(class, "dev", Counts::default())
        });
        let status = Arc::new(if leaf {
            AtomicU32::guarded_by("ls.status", 0, &lock)
        } else {
            AtomicU32::ordered("ls.status", 0)
        });
        let (l1, s1) = (lock.clone(), status.clone());
        let resume = spawn("resume", move || {
            {
                let mut d = l1.lock();
                d.users += 1;
                if s1.load() == 0 {
                    s1.store(1);
                }
            }
            let mut d = l1.lock();
            if s1.load() == 1 {
                s1.store(2);
            }
            d.users -= 1;
        });
        // What the tasks saw, for the joint outcome (plain data: no scheduling point).
        let seen = Arc::new(std::sync::Mutex::new([String::new(), String::new()]));
        let (l2, s2, seen2) = (lock.clone(), status.clone(), seen.clone());
        let idle = spawn("idle", move || {
            let idle = {
                let d = l2.lock();
                d.users == 0 && s2.load() != 1
            };
            if idle {
                l2.lock().idle_flag = true;
            }
            seen2.lock().expect("seen")[0] = format!("idle-{idle}");
        });
        let (s3, seen3) = (status.clone(), seen.clone());
        let watch = spawn("watch", move || {
            let a = s3.load();
            let b = s3.load();
            seen3.lock().expect("seen")[1] = format!("watch-{a}{b}");
        });
        join_all(vec![resume, idle, watch]);
        let (users, flag) = lock.peek(|d| (d.users, d.idle_flag));
        let [i, w] = seen.lock().expect("seen").clone();
        outcome(format!("{i}-{w}-end-{users}-{flag}-{}", status.peek()));
    })
}
