//! The self-test's classic programs once more, for shuttle (`shuttle::sync::Mutex`,
//! `shuttle::thread::spawn`), run with shuttle's exhaustive DFS scheduler for the
//! side-by-side figures of `usb-offload bench explore`.

use shuttle::scheduler::DfsScheduler;
use shuttle::sync::atomic::{AtomicU32, Ordering::SeqCst};
use shuttle::sync::Mutex;
use shuttle::thread::{self, JoinHandle};
use shuttle::{Config, FailurePersistence, Runner};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Body = Arc<dyn Fn() + Send + Sync>;

fn join_all(hs: Vec<JoinHandle<()>>) {
    for h in hs {
        h.join().expect("join");
    }
}

/// Same shape as `explore::selftest::programs::nested`.
pub fn nested(t: usize, k: usize) -> Body {
    Arc::new(move || {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(0u32));
        let hs = (0..t)
            .map(|_| {
                let (a, b) = (a.clone(), b.clone());
                thread::spawn(move || {
                    for _ in 0..k {
                        let _ga = a.lock().unwrap();
                        let mut gb = b.lock().unwrap();
                        *gb += 1;
                    }
                })
            })
            .collect();
        join_all(hs);
    })
}

pub fn abba() -> Body {
    Arc::new(|| {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let (a2, b2) = (a.clone(), b.clone());
        let h1 = thread::spawn(move || {
            let _x = a.lock().unwrap();
            let _y = b.lock().unwrap();
        });
        let h2 = thread::spawn(move || {
            let _y = b2.lock().unwrap();
            let _x = a2.lock().unwrap();
        });
        join_all(vec![h1, h2]);
    })
}

pub fn philosophers(n: usize) -> Body {
    Arc::new(move || {
        let forks: Vec<Arc<Mutex<u32>>> = (0..n).map(|_| Arc::new(Mutex::new(0))).collect();
        for i in 0..n {
            let left = forks[i].clone();
            let right = forks[(i + 1) % n].clone();
            thread::spawn(move || {
                let mut l = left.lock().unwrap();
                let mut r = right.lock().unwrap();
                *l += 1;
                *r += 1;
            });
        }
    })
}

pub fn private_locks(n: usize) -> Body {
    Arc::new(move || {
        let hs = (0..n)
            .map(|_| {
                thread::spawn(move || {
                    let m = Mutex::new(0u32);
                    for _ in 0..2 {
                        *m.lock().unwrap() += 1;
                    }
                })
            })
            .collect();
        join_all(hs);
    })
}

pub fn indexer(threads: usize, per: usize, size: usize) -> Body {
    Arc::new(move || {
        let table: Arc<Vec<AtomicU32>> = Arc::new((0..size).map(|_| AtomicU32::new(0)).collect());
        for tid in 0..threads {
            let table = table.clone();
            thread::spawn(move || {
                for m in 0..per {
                    let w = (m * 11 + tid + 1) as u32;
                    let mut h = w as usize % size;
                    while table[h].compare_exchange(0, w, SeqCst, SeqCst).is_err() {
                        h = (h + 1) % size;
                    }
                }
            });
        }
    })
}

pub fn lastzero(n: usize) -> Body {
    Arc::new(move || {
        let a: Arc<Vec<AtomicU32>> = Arc::new((0..=n).map(|_| AtomicU32::new(0)).collect());
        let a0 = a.clone();
        thread::spawn(move || {
            let mut i = n;
            while a0[i].load(SeqCst) != 0 {
                i -= 1;
            }
        });
        for j in 1..=n {
            let a = a.clone();
            thread::spawn(move || {
                let v = a[j - 1].load(SeqCst);
                a[j].store(v + 1, SeqCst);
            });
        }
    })
}

/// The shuttle version of a self-test program, by its name there.
pub fn program(name: &str) -> Option<Body> {
    Some(match name {
        "abba" => abba(),
        "philosophers-3" => philosophers(3),
        "philosophers-4" => philosophers(4),
        "philosophers-5" => philosophers(5),
        "private-locks-3" => private_locks(3),
        "indexer-3x2-6" => indexer(3, 2, 6),
        "lastzero-3" => lastzero(3),
        "nested-2x2" => nested(2, 2),
        "nested-3x2" => nested(3, 2),
        "nested-2x3" => nested(2, 3),
        "nested-4x2" => nested(4, 2),
        _ => return None,
    })
}

/// Runs `body` under shuttle's DFS scheduler for at most `cap`.
pub fn run_dfs(body: Body, cap: Duration) -> super::ShuttleRun {
    let count = Arc::new(AtomicU64::new(0));
    let c2 = count.clone();
    let mut config = Config::new();
    config.max_time = Some(cap);
    config.failure_persistence = FailurePersistence::None;
    config.silence_warnings = true;
    let runner = Runner::new(DfsScheduler::new(None, false), config);
    let start = Instant::now();
    // Shuttle fails a test by panicking; keep its panic message off the terminal.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(move || {
        runner.run(move || {
            c2.fetch_add(1, Ordering::Relaxed);
            body()
        })
    }));
    std::panic::set_hook(prev);
    let seconds = start.elapsed().as_secs_f64();
    let executions = count.load(Ordering::Relaxed);
    match r {
        Ok(_) => super::ShuttleRun {
            executions,
            finished: seconds < cap.as_secs_f64(),
            failed_at: None,
            seconds,
        },
        Err(_) => super::ShuttleRun {
            executions,
            finished: false,
            failed_at: Some(executions),
            seconds,
        },
    }
}
