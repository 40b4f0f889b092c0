//! An ordered work queue: one worker, items run one at a time in queueing order
//! (`alloc_ordered_workqueue`), plus delayed work on the virtual clock; and the
//! freezing of a `WQ_FREEZABLE` queue across system sleep.
//!
//! Freezing follows `kernel/workqueue.c`: `freeze_workqueues_begin` sets the queue's
//! `max_active` to 0, so an item queued from then on stays inactive until
//! `thaw_workqueues`; an item queued before is already active (its `nr_active` is
//! counted) and still runs, and `freeze_workqueues_busy` makes the freezer wait until
//! no active item is left.

use crate::class::LockClass;
use crate::rt;
use crate::wait::WaitQueue;
use crate::AtomicUsize;
use std::collections::VecDeque;
use std::sync::Arc;

type Work = Box<dyn FnOnce() + Send>;

struct Item {
    what: &'static str,
    /// `None`: the item of a caller that runs it itself ([`WorkQueue::run_work`])
    work: Option<Work>,
    id: u64,
    /// queued while the queue was not frozen (or thawed since): it may run
    active: bool,
}

struct Inner {
    name: &'static str,
    items: parking_lot::Mutex<VecDeque<Item>>,
    next_id: parking_lot::Mutex<u64>,
    queued: AtomicUsize,
    /// items running (the worker's, and those of callers that run their own)
    busy: AtomicUsize,
    /// a freezable queue frozen by the PM core: items queued now stay inactive
    frozen: AtomicUsize,
    wq: WaitQueue,
    idle_wq: WaitQueue,
    /// live mode: every handle is gone, the worker exits (`destroy_workqueue`)
    destroyed: std::sync::atomic::AtomicBool,
}

/// Handle of an ordered work queue; clones share the queue.
#[derive(Clone)]
pub struct WorkQueue {
    inner: Arc<Inner>,
    _handles: Arc<Handles>,
}

/// Dropped with the last handle: on OS threads the worker then exits, so a live
/// system that is dropped leaves no thread behind. (Under the checker the execution's
/// end ends the worker.)
struct Handles(Arc<Inner>);

impl Drop for Handles {
    fn drop(&mut self) {
        if crate::lock::live_thread() {
            self.0
                .destroyed
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.0.wq.wake_up();
        }
    }
}

impl Inner {
    fn new(name: &'static str) -> Arc<Inner> {
        Arc::new(Inner {
            name,
            items: parking_lot::Mutex::new(VecDeque::new()),
            next_id: parking_lot::Mutex::new(0),
            // pool->lock orders queueing, running and flushing in the kernel
            queued: AtomicUsize::ordered(name, 0),
            busy: AtomicUsize::ordered("worker busy", 0),
            frozen: AtomicUsize::ordered("workqueue frozen", 0),
            wq: WaitQueue::new(LockClass::new(name)),
            idle_wq: WaitQueue::new(LockClass::new("flush_workqueue")),
            destroyed: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

impl WorkQueue {
    /// Creates the queue and starts its worker task (`name` is the worker's name in
    /// traces, e.g. `qmi_wq`).
    pub fn new_ordered(name: &'static str) -> Self {
        let inner = Inner::new(name);
        let w = inner.clone();
        crate::thread::spawn_daemon(name, move || loop {
            let destroyed = || w.destroyed.load(std::sync::atomic::Ordering::SeqCst);
            if !w.wq.wait_idle(|| {
                (w.queued.load() > 0 && (w.frozen.load() == 0 || w.front_active())) || destroyed()
            }) {
                return; // the execution is over
            }
            if destroyed() && w.items.lock().is_empty() {
                return; // live mode: the last handle is gone
            }
            // taken in the step that marks the worker busy, so that the freezer never
            // sees the item neither queued nor running
            w.busy.store(1);
            let item = w.items.lock().pop_front();
            let Some(Item {
                what,
                work: Some(f),
                ..
            }) = item
            else {
                unreachable!("{}: the worker took an item it does not run", w.name)
            };
            w.queued.fetch_sub(1);
            {
                let _f = crate::frame("process_one_work");
                crate::note(|| format!("work item {what}"));
                f();
            }
            w.busy.store(0);
            if crate::lock::live_thread() {
                crate::live::work_done();
            }
            w.idle_wq.wake_up();
        });
        WorkQueue::from_inner(inner)
    }

    /// A queue with no worker task of its own: each item is run by the task that
    /// queues it ([`WorkQueue::run_work`]). For a queue whose work the model runs
    /// in the task named after the kernel thread (`hub_wq`'s `hub_event` in T_hub).
    pub fn new_run_by_caller(name: &'static str) -> Self {
        WorkQueue::from_inner(Inner::new(name))
    }

    fn from_inner(inner: Arc<Inner>) -> Self {
        WorkQueue {
            _handles: Arc::new(Handles(inner.clone())),
            inner,
        }
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// `queue_work`: `what` names the work function in traces.
    pub fn queue_work(&self, what: &'static str, f: impl FnOnce() + Send + 'static) {
        // The counter's write is the scheduling point whose step also appends the
        // item: the order of two producers' items is the order of their (dependent)
        // counter writes. Appending first would put it in the step before, where the
        // reduction cannot see it.
        if crate::lock::live_thread() {
            // On OS threads the two are not one step: the item goes first, so that a
            // worker that sees the count always finds the item.
            crate::live::work_queued();
            self.inner.push(what, Some(Box::new(f)));
            self.inner.queued.fetch_add(1);
        } else {
            self.inner.queued.fetch_add(1);
            self.inner.push(what, Some(Box::new(f)));
        }
        self.inner.wq.wake_up();
    }

    /// `queue_work` of `f`, run by the calling task as the queue's worker would run
    /// it: at once if the queue is not frozen (or the item was queued before the
    /// freeze), otherwise after [`WorkQueue::thaw`]. The freezer waits for it while
    /// it is active.
    pub fn run_work(&self, what: &'static str, f: impl FnOnce()) {
        let i = &self.inner;
        i.queued.fetch_add(1);
        let id = i.push(what, None);
        if !i.is_active(id) {
            crate::note(|| format!("{}: frozen, work item {what} waits for the thaw", i.name));
            i.wq.wait_event(|| i.frozen.load() == 0 || i.is_active(id));
        }
        // as the worker: taken in the step that marks it running
        i.busy.fetch_add(1);
        i.items.lock().retain(|it| it.id != id);
        i.queued.fetch_sub(1);
        {
            let _f = crate::frame("process_one_work");
            f();
        }
        i.busy.fetch_sub(1);
        i.idle_wq.wake_up();
    }

    /// `queue_delayed_work`: runs `f` after `delay_ms` of virtual time (on OS threads,
    /// of scaled real time on the live timer thread). Returns a
    /// handle for [`WorkQueue::cancel_delayed`].
    pub fn queue_delayed_work(
        &self,
        what: &'static str,
        delay_ms: u64,
        f: impl FnOnce() + Send + 'static,
    ) -> Option<u64> {
        if delay_ms == 0 {
            self.queue_work(what, f);
            return None;
        }
        let me = self.clone();
        match rt::current() {
            Some(sh) => Some(sh.add_timer_callback(
                delay_ms,
                what,
                Box::new(move || me.queue_work(what, f)),
            )),
            None => Some(crate::live::add_timer(delay_ms, move || {
                me.queue_work(what, f)
            })),
        }
    }

    /// Cancels a delayed work item that has not fired; true if it was pending.
    pub fn cancel_delayed(&self, handle: Option<u64>) -> bool {
        match (handle, rt::current()) {
            (Some(id), Some(sh)) => sh.cancel_timer(id),
            (Some(id), None) => crate::live::cancel_timer(id),
            _ => false,
        }
    }

    /// `flush_workqueue`: waits until every queued item has run.
    pub fn flush(&self) {
        let i = &self.inner;
        i.idle_wq
            .wait_event(|| i.queued.load() == 0 && i.busy.load() == 0);
    }

    /// `freeze_workqueues_begin` for a `WQ_FREEZABLE` queue: items queued from now
    /// on stay inactive until [`WorkQueue::thaw`]; those queued before still run.
    pub fn freeze_begin(&self) {
        self.inner.frozen.store(1);
    }

    /// The freezer's wait on `freeze_workqueues_busy`: until no active item is left
    /// (queued before the freeze, or running). False if one is still there after
    /// `timeout_ms` ("Freezing of tasks failed"); the queue stays frozen until
    /// [`WorkQueue::thaw`].
    pub fn freeze_wait(&self, timeout_ms: u64) -> bool {
        let i = &self.inner;
        i.idle_wq.wait_event_timeout(
            || {
                let q = i.queued.load();
                i.busy.load() == 0 && (q == 0 || !i.any_active())
            },
            Some(timeout_ms),
        ) == crate::WaitResult::Cond
    }

    /// `thaw_workqueues`: the inactive items become active and run.
    pub fn thaw(&self) {
        let i = &self.inner;
        // the items change in the step that writes `frozen`, which their readers read
        i.frozen.store(0);
        for it in i.items.lock().iter_mut() {
            it.active = true;
        }
        i.wq.wake_up();
    }

    /// Items queued and not yet started.
    pub fn pending(&self) -> usize {
        self.inner.queued.peek()
    }
}

impl Inner {
    /// Appends an item in the step of the caller's `queued` write; it is active
    /// unless the queue is frozen (a read of `frozen` in that step, so the search
    /// explores both orders against the freezer's write).
    fn push(&self, what: &'static str, work: Option<Work>) -> u64 {
        let active = self.frozen.observe() == 0;
        let id = {
            let mut n = self.next_id.lock();
            *n += 1;
            *n
        };
        self.items.lock().push_back(Item {
            what,
            work,
            id,
            active,
        });
        id
    }

    fn is_active(&self, id: u64) -> bool {
        self.items.lock().iter().any(|it| it.id == id && it.active)
    }

    fn front_active(&self) -> bool {
        self.items
            .lock()
            .front()
            .is_some_and(|it| it.active && it.work.is_some())
    }

    fn any_active(&self) -> bool {
        self.items.lock().iter().any(|it| it.active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize as StdAtomic, Ordering};

    /// On OS threads, producers racing the worker: every item runs once, and the
    /// worker never sees the count of an item it cannot find yet.
    #[test]
    fn live_producers_race_the_worker() {
        const PRODUCERS: usize = 4;
        const ITEMS: usize = 5_000;
        let wq = WorkQueue::new_ordered("test_wq");
        let ran = Arc::new(StdAtomic::new(0));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let (wq, ran) = (wq.clone(), ran.clone());
                std::thread::spawn(move || {
                    for _ in 0..ITEMS {
                        let ran = ran.clone();
                        wq.queue_work("count", move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().expect("producer");
        }
        // the worker either runs them all or dies of its panic, which is reported
        while ran.load(Ordering::SeqCst) < PRODUCERS * ITEMS {
            let oops: Vec<_> = crate::take_live_findings()
                .into_iter()
                .filter(|f| f.kind == crate::FindingKind::Panic)
                .collect();
            assert!(oops.is_empty(), "the worker died: {}", oops[0].summary);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        wq.flush();
    }
}
