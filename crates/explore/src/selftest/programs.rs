//! The classic small programs of the self-test, written against ksync as model code is.

use crate::Program;
use ksync::{spawn, AtomicU32, JoinHandle, LockClass, Mutex, WaitQueue};
use std::cell::Cell;
use std::sync::Arc;

fn join_all(hs: Vec<JoinHandle>) {
    for h in hs {
        h.join();
    }
}

/// Two tasks take two locks in opposite orders.
pub fn abba() -> Program {
    Program::new("abba", || {
        let a = Arc::new(Mutex::new(LockClass::new("abba.A"), ()));
        let b = Arc::new(Mutex::new(LockClass::new("abba.B"), ()));
        let (a2, b2) = (a.clone(), b.clone());
        let h1 = spawn("t1", move || {
            let _x = a.lock();
            let _y = b.lock();
        });
        let h2 = spawn("t2", move || {
            let _y = b2.lock();
            let _x = a2.lock();
        });
        join_all(vec![h1, h2]);
    })
}

/// ABBA with a bug behind the deadlock: t2 checks that t1 already wrote the shared
/// value. It fails only when t2 takes both locks before t1 takes A, a trace whose
/// only race with t1 is t2's blocked acquisition of A in the deadlocking execution.
pub fn abba_hidden() -> Program {
    Program::new("abba-hidden", || {
        let a = Arc::new(Mutex::new(LockClass::new("abbah.A"), ()));
        let b = Arc::new(Mutex::new(LockClass::new("abbah.B"), 0u32));
        let (a2, b2) = (a.clone(), b.clone());
        let h1 = spawn("t1", move || {
            let _x = a.lock();
            let mut y = b.lock();
            *y = 1;
        });
        let h2 = spawn("t2", move || {
            let y = b2.lock();
            let _x = a2.lock();
            ksync::check(*y == 1, "ABBA-1", || {
                "t2 ran before t1 wrote the value".into()
            });
        });
        join_all(vec![h1, h2]);
    })
}

const FORKS: [&str; 8] = [
    "fork0", "fork1", "fork2", "fork3", "fork4", "fork5", "fork6", "fork7",
];

/// Dining philosophers: philosopher `i` takes fork `i`, then fork `i+1 mod n`, eats once.
pub fn philosophers(n: usize) -> Program {
    assert!((2..=FORKS.len()).contains(&n));
    Program::new(format!("philosophers-{n}"), move || {
        let forks: Vec<Arc<Mutex<u32>>> = (0..n)
            .map(|i| Arc::new(Mutex::new(LockClass::new(FORKS[i]), 0)))
            .collect();
        // No joins: the execution ends when every philosopher has eaten (or deadlocked).
        for i in 0..n {
            let left = forks[i].clone();
            let right = forks[(i + 1) % n].clone();
            spawn(&format!("phil{i}"), move || {
                let mut l = left.lock();
                let mut r = right.lock();
                *l += 1;
                *r += 1;
            });
        }
    })
}

/// Sleeps until the next wake-up of `wq`, whatever the state: `set_current_state();
/// schedule();` without a condition to re-check. (The closure is evaluated once before
/// registration and once after; the third evaluation follows a wake-up.)
fn sleep_once(wq: &WaitQueue) {
    let calls = Cell::new(0u32);
    wq.wait_event(|| {
        calls.set(calls.get() + 1);
        calls.get() > 2
    });
}

/// The waiter tests the flag, then sleeps without registering first: a wake-up between
/// the test and the sleep is lost and the waiter sleeps forever.
pub fn lost_wakeup() -> Program {
    Program::new("lost-wakeup", || {
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("lw.wq")));
        let (f2, w2) = (flag.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            if flag.load() == 0 {
                sleep_once(&wq);
            }
        });
        let waker = spawn("waker", move || {
            f2.store(1);
            w2.wake_up();
        });
        join_all(vec![waiter, waker]);
    })
}

/// The same hand-off with the kernel protocol (`wait_event` re-checks the flag after
/// registering on the queue): no wake-up is lost.
pub fn wakeup_protocol() -> Program {
    Program::new("wakeup-protocol", || {
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("wp.wq")));
        let (f2, w2) = (flag.clone(), wq.clone());
        let waiter = spawn("waiter", move || {
            wq.wait_event(|| flag.load() != 0);
        });
        let waker = spawn("waker", move || {
            f2.store(1);
            w2.wake_up();
        });
        join_all(vec![waiter, waker]);
    })
}

const PRIVATE: [&str; 8] = [
    "priv0", "priv1", "priv2", "priv3", "priv4", "priv5", "priv6", "priv7",
];

/// `n` tasks, each taking its own lock twice: everything commutes, one trace.
pub fn private_locks(n: usize) -> Program {
    assert!(n <= PRIVATE.len());
    Program::new(format!("private-locks-{n}"), move || {
        let hs = (0..n)
            .map(|i| {
                spawn(&format!("t{i}"), move || {
                    let m = Mutex::new(LockClass::new(PRIVATE[i]), 0u32);
                    for _ in 0..2 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        join_all(hs);
    })
}

/// Nested locks T×K: `t` tasks, each `k` times {lock A; lock B; x += 1; unlock B;
/// unlock A}. (T·K)! / (K!)^T traces.
pub fn nested(t: usize, k: usize) -> Program {
    Program::new(format!("nested-{t}x{k}"), move || {
        let a = Arc::new(Mutex::new(LockClass::new("nested.A"), ()));
        let b = Arc::new(Mutex::new(LockClass::new("nested.B"), 0u32));
        let hs = (0..t)
            .map(|i| {
                let (a, b) = (a.clone(), b.clone());
                spawn(&format!("t{i}"), move || {
                    for _ in 0..k {
                        let _ga = a.lock();
                        let mut gb = b.lock();
                        *gb += 1;
                    }
                })
            })
            .collect();
        join_all(hs);
    })
}

/// The closed form of [`nested`]: (T·K)! / (K!)^T.
pub fn nested_traces(t: u64, k: u64) -> u64 {
    let fact = |n: u64| (1..=n).product::<u64>();
    fact(t * k) / fact(k).pow(t as u32)
}

/// Indexer (Flanagan & Godefroid, POPL 2005), small: `threads` tasks each insert
/// `per` values into an open-addressing hash table of `size` atomics with
/// compare-and-swap, probing linearly on a collision.
pub fn indexer(threads: usize, per: usize, size: usize) -> Program {
    assert!(threads * per <= size, "the table must hold every value");
    Program::new(format!("indexer-{threads}x{per}-{size}"), move || {
        let table: Arc<Vec<AtomicU32>> =
            Arc::new((0..size).map(|_| AtomicU32::new("table", 0)).collect());
        // No joins: the execution ends when every task has (fewer schedules for brute force).
        for tid in 0..threads {
            let table = table.clone();
            spawn(&format!("t{tid}"), move || {
                for m in 0..per {
                    let w = (m * 11 + tid + 1) as u32;
                    let mut h = w as usize % size;
                    while table[h].compare_exchange(0, w).is_err() {
                        h = (h + 1) % size;
                    }
                }
            });
        }
    })
}

/// Lastzero (Abdulla et al., POPL 2014): an array of `n + 1` zeros; task 0 scans down
/// from `a[n]` for the last zero, tasks `1..=n` do `a[j] = a[j-1] + 1`.
pub fn lastzero(n: usize) -> Program {
    Program::new(format!("lastzero-{n}"), move || {
        let a: Arc<Vec<AtomicU32>> =
            Arc::new((0..=n).map(|_| AtomicU32::new("array", 0)).collect());
        let a0 = a.clone();
        // No joins, as in the indexer.
        spawn("t0", move || {
            let mut i = n;
            while a0[i].load() != 0 {
                i -= 1;
            }
        });
        for j in 1..=n {
            let a = a.clone();
            spawn(&format!("t{j}"), move || {
                let v = a[j - 1].load();
                a[j].store(v + 1);
            });
        }
    })
}

/// Trylock: one task takes a lock twice; the other tries it once and, on failure,
/// takes it for real. Failed trylocks observe the owner (the release is a write).
pub fn trylock() -> Program {
    Program::new("trylock", || {
        let m = Arc::new(Mutex::new(LockClass::new("try.M"), 0u32));
        let m2 = m.clone();
        let h1 = spawn("t1", move || {
            for _ in 0..2 {
                *m.lock() += 1;
            }
        });
        let h2 = spawn("t2", move || match m2.try_lock() {
            Some(mut g) => *g += 10,
            None => *m2.lock() += 100,
        });
        join_all(vec![h1, h2]);
    })
}

/// Choices: two tasks each pick one of two atomics to write (`choose(2)`), a third
/// reads both. Exercises `choose` branches against scheduling.
pub fn choices() -> Program {
    Program::new("choices", || {
        let x: Arc<[AtomicU32; 2]> = Arc::new([AtomicU32::new("x0", 0), AtomicU32::new("x1", 0)]);
        let mut hs = Vec::new();
        for i in 0..2u32 {
            let x = x.clone();
            hs.push(spawn(&format!("w{i}"), move || {
                let c = ksync::choose(2);
                x[c].store(i + 1);
            }));
        }
        let x2 = x.clone();
        hs.push(spawn("r", move || {
            let _ = x2[0].load() + x2[1].load();
        }));
        join_all(hs);
    })
}

/// The driver's W_inuse pattern in miniature: a waiter holding lock A waits (with a
/// timeout) for a flag that a waker sets under A, so the wait can only end by the
/// timeout unless the waker set the flag first; a third task races on the flag.
/// Exercises virtual time (timer firing as a barrier) against brute force.
pub fn timed_handoff() -> Program {
    Program::new("timed-handoff", || {
        let a = Arc::new(Mutex::new(LockClass::new("th.A"), ()));
        let flag = Arc::new(AtomicU32::new("th.flag", 0));
        let wq = Arc::new(WaitQueue::new(LockClass::new("th.wq")));
        let (a2, f2, w2) = (a.clone(), flag.clone(), wq.clone());
        let f3 = flag.clone();
        let waiter = spawn("waiter", move || {
            let _g = a.lock();
            if wq.wait_event_timeout(|| flag.load() != 0, Some(100)) == ksync::WaitResult::TimedOut
            {
                flag.store(9);
            }
        });
        let waker = spawn("waker", move || {
            let _g = a2.lock();
            f2.store(1);
            w2.wake_up();
        });
        let racer = spawn("racer", move || {
            f3.store(2);
        });
        join_all(vec![waiter, waker, racer]);
    })
}
