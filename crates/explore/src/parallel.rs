//! One DPOR search on several cores: work stealing ([`dpor::Dfs::donate`]).
//!
//! One worker starts at the root; the others wait. Between two executions a worker
//! looks whether one waits with nothing queued, and if so hands over the unexplored
//! alternatives of its shallowest node that has some. A search ends when every
//! worker waits and nothing is queued.
//!
//! A search can take on workers while it runs: a thread with nothing left to do
//! (a suite's worker once every pair has started) joins one through the
//! [`HelpDesk`], so the last, largest searches of a suite get every core.

use crate::{dpor, Config, Program, Run, Searcher, Shared, Strategy, WorkerResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Donated subtrees waiting for a worker, and the workers of one search.
struct Pool {
    state: Mutex<PoolState>,
    wake: Condvar,
    /// A worker waits and nothing is queued for it (read between executions).
    hungry: AtomicBool,
}

struct PoolState {
    queue: Vec<dpor::Dfs>,
    workers: usize,
    waiting: usize,
    /// Joined helpers whose result is not handed in yet.
    helping: usize,
    closed: bool,
}

impl Pool {
    fn new(workers: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState {
                queue: Vec::new(),
                workers,
                waiting: 0,
                helping: 0,
                closed: false,
            }),
            wake: Condvar::new(),
            hungry: AtomicBool::new(false),
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
        self.wake.notify_all();
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
            if st.waiting == st.workers {
                st.closed = true;
                self.wake.notify_all();
                return None;
            }
            self.update_hungry(&st);
            st = self.wake.wait(st).expect("pool");
        }
    }

    /// One more worker, unless the search is over.
    fn join(&self) -> bool {
        let mut st = self.state.lock().expect("pool");
        if st.closed {
            return false;
        }
        st.workers += 1;
        st.helping += 1;
        true
    }

    /// A limit or a first finding ended the search: nobody takes more work.
    fn close(&self) {
        self.state.lock().expect("pool").closed = true;
        self.wake.notify_all();
    }
}

/// A running search that other threads can join.
struct Search {
    program: Program,
    cfg: Config,
    sh: Shared,
    start: Instant,
    pool: Pool,
    /// The results of the workers that joined.
    helped: Mutex<Vec<WorkerResult>>,
}

impl Search {
    fn work(&self, first: Option<dpor::Dfs>) -> WorkerResult {
        worker(
            &self.program,
            &self.cfg,
            &self.pool,
            first,
            &self.sh,
            self.start,
        )
    }
}

/// Where running searches wait for help: threads with nothing left to do join them.
#[derive(Default)]
pub struct HelpDesk {
    open: Mutex<Vec<Arc<Search>>>,
    opened: Condvar,
}

impl HelpDesk {
    /// Joins a running search as one more worker until it ends, and returns true;
    /// false if no search waited for help within `patience`.
    pub fn help(&self, patience: Duration) -> bool {
        let search = {
            let mut open = self.open.lock().expect("help desk");
            if open.is_empty() {
                open = self
                    .opened
                    .wait_timeout(open, patience)
                    .expect("help desk")
                    .0;
            }
            // The longest-running search is likely the largest left.
            open.first().cloned()
        };
        let Some(search) = search else { return false };
        if search.pool.join() {
            let r = search.work(None);
            search.helped.lock().expect("helped").push(r);
            let mut st = search.pool.state.lock().expect("pool");
            st.helping -= 1;
            search.pool.wake.notify_all();
        } else {
            // Over already: it is leaving the desk.
            std::thread::yield_now();
        }
        true
    }

    fn open(&self, s: &Arc<Search>) {
        self.open.lock().expect("help desk").push(s.clone());
        self.opened.notify_all();
    }

    fn close(&self, s: &Arc<Search>) {
        self.open
            .lock()
            .expect("help desk")
            .retain(|o| !Arc::ptr_eq(o, s));
    }
}

/// Searches `program` exhaustively with `cfg.jobs` workers that share one DPOR tree,
/// and any that join through `cfg.helpers`.
pub(crate) fn search(program: &Program, cfg: &Config, start: Instant) -> Vec<WorkerResult> {
    let jobs = cfg.jobs.max(1);
    let s = Arc::new(Search {
        program: program.clone(),
        cfg: Config {
            helpers: None,
            ..cfg.clone()
        },
        sh: Shared::new(),
        start,
        pool: Pool::new(jobs),
        helped: Mutex::new(Vec::new()),
    });
    if let Some(desk) = &cfg.helpers {
        desk.open(&s);
    }
    let reduce = cfg.strategy == Strategy::Dpor;
    let root = dpor::Dfs::shared(reduce, Arc::new(dpor::Claims::default()));
    let mut results: Vec<WorkerResult> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..jobs).map(|_| scope.spawn(|| s.work(None))).collect();
        let mut rs = vec![s.work(Some(root))];
        rs.extend(others.into_iter().map(|h| h.join().expect("search worker")));
        rs
    });
    if let Some(desk) = &cfg.helpers {
        desk.close(&s);
    }
    // The search is over once every worker waits; the helpers still hand in theirs.
    let mut st = s.pool.state.lock().expect("pool");
    while st.helping > 0 {
        st = s.pool.wake.wait(st).expect("pool");
    }
    drop(st);
    results.append(&mut s.helped.lock().expect("helped"));
    results
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
        true
    };
    while let Some(mut dfs) = next.take().or_else(|| pool.take()) {
        if w.run(&mut dfs, &mut donate) == Run::Stopped {
            pool.close();
            break;
        }
    }
    w.finish()
}
