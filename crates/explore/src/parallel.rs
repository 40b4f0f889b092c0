//! One DPOR search on several cores: work stealing ([`dpor::Dfs::donate`]).
//!
//! One worker starts at the root; the others wait. Between two executions a worker
//! looks whether one waits with nothing queued, and if so hands over the unexplored
//! alternatives of its shallowest node that has some. A search ends when every
//! worker waits and nothing is queued.

use crate::{dpor, Config, Program, Searcher, Shared, Strategy, WorkerResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Donated subtrees waiting for a worker.
struct Pool {
    state: Mutex<PoolState>,
    wake: Condvar,
    /// A worker waits and nothing is queued for it (read between executions).
    hungry: AtomicBool,
    workers: usize,
}

struct PoolState {
    queue: Vec<dpor::Dfs>,
    waiting: usize,
    closed: bool,
}

impl Pool {
    fn new(workers: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState {
                queue: Vec::new(),
                waiting: 0,
                closed: false,
            }),
            wake: Condvar::new(),
            hungry: AtomicBool::new(false),
            workers,
        }
    }

    fn update_hungry(&self, st: &PoolState) {
        self.hungry
            .store(st.waiting > st.queue.len(), Ordering::Relaxed);
    }

    fn give(&self, d: dpor::Dfs) {
        let mut st = self.state.lock().expect("pool");
        st.queue.push(d);
        self.update_hungry(&st);
        self.wake.notify_one();
    }

    /// The next subtree to search; None once the search is over (every worker
    /// waits with nothing queued, or a limit closed the pool).
    fn take(&self) -> Option<dpor::Dfs> {
        let mut st = self.state.lock().expect("pool");
        st.waiting += 1;
        loop {
            if st.closed {
                return None;
            }
            if let Some(d) = st.queue.pop() {
                st.waiting -= 1;
                self.update_hungry(&st);
                return Some(d);
            }
            if st.waiting == self.workers {
                st.closed = true;
                self.wake.notify_all();
                return None;
            }
            self.update_hungry(&st);
            st = self.wake.wait(st).expect("pool");
        }
    }

    /// A limit or a first finding ended the search: nobody takes more work.
    fn close(&self) {
        self.state.lock().expect("pool").closed = true;
        self.wake.notify_all();
    }
}

/// Searches `program` exhaustively with `jobs` workers that share one DPOR tree.
pub(crate) fn search(
    program: &Program,
    cfg: &Config,
    jobs: usize,
    sh: &Shared,
    start: Instant,
) -> Vec<WorkerResult> {
    let reduce = cfg.strategy == Strategy::Dpor;
    let claims = Arc::new(dpor::Claims::default());
    let pool = Pool::new(jobs);
    let root = Mutex::new(Some(dpor::Dfs::shared(reduce, claims)));
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let first = root.lock().expect("root").take();
                    worker(program, cfg, &pool, first, sh, start)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("search worker"))
            .collect()
    })
}

fn worker(
    program: &Program,
    cfg: &Config,
    pool: &Pool,
    mut next: Option<dpor::Dfs>,
    sh: &Shared,
    start: Instant,
) -> WorkerResult {
    let mut w = Searcher::new(program, cfg, sh, start);
    let mut donate = |d: &mut dpor::Dfs| {
        if pool.hungry.load(Ordering::Relaxed) {
            if let Some(t) = d.donate() {
                pool.give(t);
            }
        }
    };
    while let Some(mut dfs) = next.take().or_else(|| pool.take()) {
        if w.run(&mut dfs, &mut donate) {
            pool.close();
            break;
        }
    }
    w.finish()
}
