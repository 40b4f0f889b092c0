//! Live mode: what the primitives need when they run on OS threads with no checker
//! driving them (`usb-offload serve`, `stress`, benchmarks).
//!
//! * **Time**: model time runs at `1 / time_scale` of real time ([`set_time_scale`]):
//!   a 10 s wait of the model lasts `10 s × scale` on the wall clock, and
//!   [`crate::now_ms`] reads model milliseconds.
//! * **Timers**: delayed work is a cancellable timer on one timer thread (the
//!   kernel's timer wheel), whose callbacks only queue work.
//! * **Tasks**: every OS thread that takes a ksync lock or waits is a task of the
//!   registry, with the locks it holds and what it is blocked on, so that a hung-task
//!   watchdog ([`hung_tasks`]) can print them as the kernel's `khungtaskd` and lockdep's
//!   `debug_show_all_locks` do. Lock ownership is per thread, so `is_held` answers for
//!   the caller, as lockdep's `lockdep_is_held` does.

use parking_lot::{Condvar, Mutex};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- time

/// Real nanoseconds per model millisecond (1e6: model time is real time).
static NS_PER_MODEL_MS: AtomicU64 = AtomicU64::new(1_000_000);

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

/// Sets how fast model time runs on OS threads: `scale` real seconds per model second
/// (0.01: a 10 s timeout of the model lasts 100 ms). Set it before the stack boots.
pub fn set_time_scale(scale: f64) {
    assert!(
        scale.is_finite() && scale > 0.0,
        "time scale must be positive"
    );
    let ns = (scale * 1e6).round().max(1.0) as u64;
    NS_PER_MODEL_MS.store(ns, Ordering::Relaxed);
}

/// The time scale set by [`set_time_scale`].
pub fn time_scale() -> f64 {
    NS_PER_MODEL_MS.load(Ordering::Relaxed) as f64 / 1e6
}

/// The real duration of `ms` model milliseconds.
pub fn real(ms: u64) -> Duration {
    Duration::from_nanos(ms.saturating_mul(NS_PER_MODEL_MS.load(Ordering::Relaxed)))
}

/// Model milliseconds since the first use of live time in this process.
pub fn now_ms() -> u64 {
    let ns = epoch().elapsed().as_nanos() as u64;
    ns / NS_PER_MODEL_MS.load(Ordering::Relaxed).max(1)
}

// ---------------------------------------------------------------- timers

type TimerFn = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Timers {
    /// (deadline, id) → callback: earliest first, ties in arming order
    armed: BTreeMap<(Instant, u64), TimerFn>,
    by_id: BTreeMap<u64, Instant>,
    next_id: u64,
    started: bool,
}

fn timers() -> &'static (Mutex<Timers>, Condvar) {
    static T: OnceLock<(Mutex<Timers>, Condvar)> = OnceLock::new();
    T.get_or_init(Default::default)
}

/// Arms a timer that runs `f` on the timer thread after `ms` model milliseconds.
/// The callback must not block (it queues work, as a kernel timer does).
pub fn add_timer(ms: u64, f: impl FnOnce() + Send + 'static) -> u64 {
    let (m, cv) = timers();
    let mut t = m.lock();
    if !t.started {
        t.started = true;
        std::thread::Builder::new()
            .name("ktimer".into())
            .spawn(timer_thread)
            .expect("spawn the timer thread");
    }
    t.next_id += 1;
    let id = t.next_id;
    let at = Instant::now() + real(ms);
    t.armed.insert((at, id), Box::new(f));
    t.by_id.insert(id, at);
    cv.notify_all();
    id
}

/// Disarms timer `id`; true if it had not fired (`cancel_delayed_work`).
pub fn cancel_timer(id: u64) -> bool {
    let mut t = timers().0.lock();
    match t.by_id.remove(&id) {
        Some(at) => t.armed.remove(&(at, id)).is_some(),
        None => false,
    }
}

/// Timers armed and not fired.
pub fn pending_timers() -> usize {
    timers().0.lock().armed.len()
}

fn timer_thread() {
    let (m, cv) = timers();
    let mut t = m.lock();
    loop {
        let now = Instant::now();
        match t.armed.keys().next().copied() {
            Some((at, id)) if at <= now => {
                let f = t.armed.remove(&(at, id)).expect("armed");
                t.by_id.remove(&id);
                drop(t);
                f();
                t = m.lock();
            }
            Some((at, _)) => {
                cv.wait_until(&mut t, at);
            }
            None => cv.wait(&mut t),
        }
    }
}

// ---------------------------------------------------------------- tasks

/// What a blocked task waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockedOn {
    /// a lock acquisition: the lock's class name (with subclass) and instance label
    Lock {
        addr: usize,
        class: String,
        label: Option<String>,
    },
    /// a sleep on a wait queue (`W_inuse`, a completion, ...), with its timeout in
    /// model milliseconds
    Wait {
        addr: usize,
        class: String,
        timeout_ms: Option<u64>,
    },
}

impl std::fmt::Display for BlockedOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockedOn::Lock { class, label, .. } => match label {
                Some(l) => write!(f, "lock ({class}) [{l}]"),
                None => write!(f, "lock ({class})"),
            },
            BlockedOn::Wait {
                class,
                timeout_ms: Some(t),
                ..
            } => write!(f, "wait on {class} (timeout {t} ms)"),
            BlockedOn::Wait {
                class,
                timeout_ms: None,
                ..
            } => write!(f, "wait on {class}"),
        }
    }
}

/// A lock a task holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLock {
    pub addr: usize,
    pub class: String,
    pub label: Option<String>,
    /// the kernel function that took it
    pub site: &'static str,
}

impl std::fmt::Display for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({})", self.class)?;
        if let Some(l) = &self.label {
            write!(f, " [{l}]")?;
        }
        write!(f, ", at: {}", self.site)
    }
}

#[derive(Default)]
struct TaskState {
    held: Vec<HeldLock>,
    blocked: Option<(BlockedOn, Instant, Vec<&'static str>)>,
    /// a worker waiting for work: not a hung task
    idle: bool,
}

struct TaskEntry {
    id: u64,
    name: String,
    st: Mutex<TaskState>,
}

fn registry() -> &'static Mutex<Vec<Weak<TaskEntry>>> {
    static R: OnceLock<Mutex<Vec<Weak<TaskEntry>>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

thread_local! {
    static ME: RefCell<Option<Arc<TaskEntry>>> = const { RefCell::new(None) };
    static FRAMES: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn with_me<R>(f: impl FnOnce(&TaskEntry) -> R) -> R {
    ME.with(|m| {
        let mut m = m.borrow_mut();
        let e = m.get_or_insert_with(|| {
            let name = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string();
            static IDS: AtomicU64 = AtomicU64::new(1);
            let e = Arc::new(TaskEntry {
                id: IDS.fetch_add(1, Ordering::Relaxed),
                name,
                st: Mutex::new(TaskState::default()),
            });
            let mut r = registry().lock();
            r.retain(|w| w.strong_count() > 0);
            r.push(Arc::downgrade(&e));
            e
        });
        f(e)
    })
}

pub(crate) fn push_frame(name: &'static str) {
    FRAMES.with(|f| f.borrow_mut().push(name));
}

pub(crate) fn pop_frame() {
    FRAMES.with(|f| {
        f.borrow_mut().pop();
    });
}

fn frames() -> Vec<&'static str> {
    FRAMES.with(|f| f.borrow().clone())
}

fn site() -> &'static str {
    FRAMES.with(|f| f.borrow().last().copied().unwrap_or("?"))
}

/// The caller is about to block on `on`; cleared by [`unblocked`].
pub(crate) fn blocking(on: BlockedOn) {
    let fr = frames();
    with_me(|e| e.st.lock().blocked = Some((on, Instant::now(), fr)));
}

pub(crate) fn unblocked() {
    with_me(|e| e.st.lock().blocked = None);
}

pub(crate) fn set_idle(idle: bool) {
    with_me(|e| e.st.lock().idle = idle);
}

pub(crate) fn acquired(addr: usize, class: String, label: Option<String>) {
    let site = site();
    with_me(|e| {
        let mut st = e.st.lock();
        st.blocked = None;
        st.held.push(HeldLock {
            addr,
            class,
            label,
            site,
        });
    });
}

pub(crate) fn released(addr: usize) {
    with_me(|e| {
        let mut st = e.st.lock();
        if let Some(p) = st.held.iter().rposition(|h| h.addr == addr) {
            st.held.remove(p);
        }
    });
}

/// The locks the calling thread holds, as reports name them.
pub(crate) fn held_names() -> Vec<String> {
    with_me(|e| e.st.lock().held.iter().map(|h| h.class.clone()).collect())
}

pub(crate) fn holds(addr: usize) -> bool {
    with_me(|e| e.st.lock().held.iter().any(|h| h.addr == addr))
}

/// One task of the registry as the watchdog sees it.
#[derive(Clone, Debug)]
pub struct TaskSnapshot {
    /// unique per thread (names repeat: two `T_hub` events)
    pub id: u64,
    pub name: String,
    pub held: Vec<HeldLock>,
    /// what it is blocked on, for how long, and its kernel call stack there
    pub blocked: Option<(BlockedOn, Duration, Vec<&'static str>)>,
    pub idle: bool,
}

impl TaskSnapshot {
    /// The task that holds the lock this one is blocked on, or that declared it makes
    /// the condition of the queue it sleeps on true (`WaitQueue::hold`), among `all`.
    pub fn waits_for<'a>(&self, all: &'a [TaskSnapshot]) -> Option<&'a TaskSnapshot> {
        let addr = match &self.blocked {
            Some((BlockedOn::Lock { addr, .. } | BlockedOn::Wait { addr, .. }, ..)) => *addr,
            None => return None,
        };
        all.iter()
            .find(|t| t.id != self.id && t.held.iter().any(|h| h.addr == addr))
    }
}

/// Every live task (threads that exited are gone).
pub fn tasks() -> Vec<TaskSnapshot> {
    let now = Instant::now();
    let r = registry().lock();
    r.iter()
        .filter_map(Weak::upgrade)
        .map(|e| {
            let st = e.st.lock();
            TaskSnapshot {
                id: e.id,
                name: e.name.clone(),
                held: st.held.clone(),
                blocked: st
                    .blocked
                    .as_ref()
                    .map(|(b, since, fr)| (b.clone(), now - *since, fr.clone())),
                idle: st.idle,
            }
        })
        .collect()
}

/// The tasks blocked (on a lock, or in a wait that is not a worker's wait for work)
/// for longer than `limit` of real time, or `None` if there is none. The report names
/// every task, so the holders of the awaited locks show too.
pub fn hung_tasks(limit: Duration) -> Option<(Vec<TaskSnapshot>, Vec<TaskSnapshot>)> {
    let all = tasks();
    let mut hung: Vec<TaskSnapshot> = all
        .iter()
        .filter(|t| !t.idle && t.blocked.as_ref().is_some_and(|(_, d, _)| *d >= limit))
        .cloned()
        .collect();
    // the holders a hung task waits for, if blocked themselves, belong to the same hang
    let mut i = 0;
    while i < hung.len() {
        if let Some(h) = hung[i].waits_for(&all) {
            if h.blocked.is_some() && !hung.iter().any(|t| t.id == h.id) {
                hung.push(h.clone());
            }
        }
        i += 1;
    }
    (!hung.is_empty()).then_some((hung, all))
}

// ---------------------------------------------------------------- quiescence

/// Work items queued on OS threads and not finished.
static LIVE_WORK: AtomicU64 = AtomicU64::new(0);

pub(crate) fn work_queued() {
    LIVE_WORK.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn work_done() {
    LIVE_WORK.fetch_sub(1, Ordering::SeqCst);
}

/// No work item queued or running on OS threads and no timer armed: with no other
/// thread of the caller's running, the checker's "every task finished and the clock
/// fired every timer".
pub fn quiescent() -> bool {
    LIVE_WORK.load(Ordering::SeqCst) == 0 && pending_timers() == 0
}

/// Waits up to `limit` of real time for [`quiescent`] to hold twice in a row (an item
/// that just finished may arm a timer). False if it does not.
pub fn quiesce(limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let mut calm = 0;
    while Instant::now() < end {
        calm = if quiescent() { calm + 1 } else { 0 };
        if calm >= 2 {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

type Hook = Box<dyn FnOnce()>;

thread_local! {
    static HOOKS: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn add_quiescence_hook(f: Hook) {
    HOOKS.with(|h| h.borrow_mut().push(f));
}

/// Runs (and forgets) the end-of-execution checks that model code registered with
/// [`crate::on_quiescence`] on this thread: call it once the live system is quiescent.
pub fn run_quiescence_hooks() {
    let hooks = HOOKS.with(|h| std::mem::take(&mut *h.borrow_mut()));
    for f in hooks {
        f();
    }
}

// ---------------------------------------------------------------- choices

static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
static THREADS: AtomicU64 = AtomicU64::new(0);

/// Seeds `choose` on OS threads: each thread draws from its own generator, seeded
/// from this and the order in which threads first choose.
pub fn seed(s: u64) {
    SEED.store(s, Ordering::Relaxed);
}

pub(crate) fn thread_seed() -> u64 {
    let n = THREADS.fetch_add(1, Ordering::Relaxed);
    let mut r = crate::rng::Rng::new(SEED.load(Ordering::Relaxed) ^ n.wrapping_mul(0x2545_F491));
    r.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_deadline_order_and_cancel() {
        let (tx, rx) = std::sync::mpsc::channel();
        let a = tx.clone();
        let b = tx.clone();
        let c = tx;
        add_timer(30, move || a.send(30).unwrap());
        add_timer(10, move || b.send(10).unwrap());
        let id = add_timer(20, move || c.send(20).unwrap());
        assert!(cancel_timer(id), "armed timer cancels");
        assert!(!cancel_timer(id), "second cancel finds nothing");
        let got: Vec<i32> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, vec![10, 30]);
    }

    #[test]
    fn blocked_task_is_reported_with_its_locks() {
        let m = Arc::new(crate::Mutex::new(crate::LockClass::new("test_outer"), ()));
        let g = m.lock();
        let m2 = m.clone();
        let h = std::thread::Builder::new()
            .name("T_blocked".into())
            .spawn(move || {
                let _g = m2.lock();
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        // other tests of this process may have blocked threads of their own
        let report = loop {
            if let Some(r) = hung_tasks(Duration::from_millis(20))
                .filter(|(hung, _)| hung.iter().any(|t| t.name == "T_blocked"))
            {
                break r;
            }
            assert!(
                Instant::now() < deadline,
                "the blocked thread was never reported"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let (hung, all) = report;
        let t = hung
            .iter()
            .find(|t| t.name == "T_blocked")
            .expect("T_blocked");
        assert!(
            matches!(&t.blocked, Some((BlockedOn::Lock { class, .. }, ..)) if class == "test_outer")
        );
        let holder = t.waits_for(&all).expect("holder known");
        assert_eq!(holder.held[0].class, "test_outer");
        assert!(m.is_held(), "the holder's is_held is true");
        let m3 = m.clone();
        let other = std::thread::spawn(move || m3.is_held()).join().unwrap();
        assert!(!other, "another thread does not hold it");
        drop(g);
        h.join().unwrap();
    }

    #[test]
    fn a_dropped_work_queue_ends_its_worker_and_quiescence_waits_for_work() {
        let wq = crate::WorkQueue::new_ordered("test_wq");
        let (tx, rx) = std::sync::mpsc::channel();
        wq.queue_delayed_work("late", 20, move || tx.send(()).unwrap());
        assert!(!quiescent(), "an armed timer is not quiescent");
        assert!(quiesce(Duration::from_secs(10)));
        rx.try_recv().expect("the item ran before quiescence");
        let before = tasks().iter().filter(|t| t.name == "test_wq").count();
        assert_eq!(before, 1);
        drop(wq);
        let end = Instant::now() + Duration::from_secs(10);
        while tasks().iter().any(|t| t.name == "test_wq") {
            assert!(Instant::now() < end, "the worker did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_sleeper_waits_for_the_holder_of_its_queue() {
        let wq = Arc::new(crate::WaitQueue::new(crate::LockClass::new("W_test")));
        let flag = Arc::new(crate::AtomicBool::new("test flag", false));
        let hold = wq.hold();
        let (w2, f2) = (wq.clone(), flag.clone());
        let h = std::thread::Builder::new()
            .name("T_sleeper".into())
            .spawn(move || w2.wait_event(|| f2.load()))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let (hung, all) = loop {
            if let Some(r) = hung_tasks(Duration::from_millis(20))
                .filter(|(h, _)| h.iter().any(|t| t.name == "T_sleeper"))
            {
                break r;
            }
            assert!(Instant::now() < deadline, "the sleeper was never reported");
            std::thread::sleep(Duration::from_millis(5));
        };
        let me = std::thread::current().name().unwrap().to_string();
        let t = hung.iter().find(|t| t.name == "T_sleeper").unwrap();
        assert_eq!(t.waits_for(&all).map(|h| h.name.clone()), Some(me));
        flag.store(true);
        wq.wake_up();
        drop(hold);
        h.join().unwrap();
    }

    #[test]
    fn time_scale_maps_model_to_real_time() {
        // only reads: other tests of this binary use the default scale
        assert_eq!(real(10), Duration::from_millis(10).mul_f64(time_scale()));
    }
}
