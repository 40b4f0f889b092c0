//! An ordered work queue: one worker, items run one at a time in queueing order
//! (`alloc_ordered_workqueue`), plus delayed work on the virtual clock.

use crate::class::LockClass;
use crate::rt;
use crate::wait::WaitQueue;
use crate::AtomicUsize;
use std::collections::VecDeque;
use std::sync::Arc;

type Work = Box<dyn FnOnce() + Send>;

struct Inner {
    name: &'static str,
    items: parking_lot::Mutex<VecDeque<(&'static str, Work)>>,
    queued: AtomicUsize,
    busy: AtomicUsize,
    /// a freezable queue frozen by the PM core: no item starts
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

impl WorkQueue {
    /// Creates the queue and starts its worker task (`name` is the worker's name in
    /// traces, e.g. `qmi_wq`).
    pub fn new_ordered(name: &'static str) -> Self {
        let inner = Arc::new(Inner {
            name,
            items: parking_lot::Mutex::new(VecDeque::new()),
            // pool->lock orders queueing, running and flushing in the kernel
            queued: AtomicUsize::ordered(name, 0),
            busy: AtomicUsize::ordered("worker busy", 0),
            frozen: AtomicUsize::ordered("workqueue frozen", 0),
            wq: WaitQueue::new(LockClass::new(name)),
            idle_wq: WaitQueue::new(LockClass::new("flush_workqueue")),
            destroyed: std::sync::atomic::AtomicBool::new(false),
        });
        let w = inner.clone();
        crate::thread::spawn_daemon(name, move || loop {
            let destroyed = || w.destroyed.load(std::sync::atomic::Ordering::SeqCst);
            if !w
                .wq
                .wait_idle(|| (w.queued.load() > 0 && w.frozen.load() == 0) || destroyed())
            {
                return; // the execution is over
            }
            let item = w.items.lock().pop_front();
            let Some((what, f)) = item else {
                if destroyed() {
                    return;
                }
                continue;
            };
            w.busy.store(1);
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
            crate::live::work_queued();
        }
        self.inner.queued.fetch_add(1);
        self.inner.items.lock().push_back((what, Box::new(f)));
        self.inner.wq.wake_up();
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

    /// `freeze_workqueues_begin` and the freezer's wait for it (a `WQ_FREEZABLE`
    /// queue): no item starts from now on, and the caller waits for the one in
    /// flight. False if that item did not finish within `timeout_ms` ("Freezing of
    /// tasks failed"); the queue stays frozen until [`WorkQueue::thaw`].
    pub fn freeze(&self, timeout_ms: u64) -> bool {
        let i = &self.inner;
        i.frozen.store(1);
        i.idle_wq
            .wait_event_timeout(|| i.busy.load() == 0, Some(timeout_ms))
            == crate::WaitResult::Cond
    }

    /// `thaw_workqueues`: queued items may run again.
    pub fn thaw(&self) {
        self.inner.frozen.store(0);
        self.inner.wq.wake_up();
    }

    /// Items queued and not yet started.
    pub fn pending(&self) -> usize {
        self.inner.queued.peek()
    }
}
