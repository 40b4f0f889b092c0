//! Per-task bookkeeping and the access footprint of a step.

use super::ObjId;
use crate::class::ClassId;
use corosensei::{Coroutine, Yielder};
use serde::Serialize;

/// Index of a task inside one execution (0 is the execution's main task).
pub type TaskId = usize;

/// What a step did to shared objects; the explorer derives dependence and
/// happens-before from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Access {
    /// Atomic load / wait-queue resume check.
    Read(ObjId),
    /// Atomic store or read-modify-write, wait-queue registration or wake-up.
    Write(ObjId),
    /// Blocking acquisition of a lock.
    Lock(ObjId),
    /// Successful trylock.
    TryLock(ObjId),
    /// Failed trylock: observed the lock held.
    TryFail(ObjId),
    /// Release of a lock (matters only to trylocks).
    Unlock(ObjId),
    /// The step happens after step `n` of this execution (release → acquire,
    /// wake → resume, spawn → start, exit → join).
    SyncWith(u32),
}

impl Access {
    /// The object touched, if any.
    pub fn obj(self) -> Option<ObjId> {
        match self {
            Access::Read(o)
            | Access::Write(o)
            | Access::Lock(o)
            | Access::TryLock(o)
            | Access::TryFail(o)
            | Access::Unlock(o) => Some(o),
            Access::SyncWith(_) => None,
        }
    }

    /// Whether every access that conflicts with `self` also conflicts with `other`
    /// (same object): then a later `other` of the same task subsumes `self` for race
    /// detection and happens-before.
    pub fn dominated_by(self, other: Access) -> bool {
        if self.obj() != other.obj() {
            return false;
        }
        let o = self.obj().unwrap_or(0);
        [
            Access::Read(o),
            Access::Write(o),
            Access::Lock(o),
            Access::TryLock(o),
            Access::TryFail(o),
            Access::Unlock(o),
        ]
        .iter()
        .all(|&k| !self.conflicts(k) || other.conflicts(k))
    }

    /// Whether two accesses of different tasks do not commute.
    pub fn conflicts(self, other: Access) -> bool {
        use Access::*;
        if self.obj().is_none() || self.obj() != other.obj() {
            return false;
        }
        matches!(
            (self, other),
            (Write(_), Write(_))
                | (Write(_), Read(_))
                | (Read(_), Write(_))
                | (Lock(_), Lock(_))
                | (Lock(_), TryLock(_))
                | (TryLock(_), Lock(_))
                | (TryLock(_), TryLock(_))
                | (Lock(_), TryFail(_))
                | (TryFail(_), Lock(_))
                | (TryLock(_), TryFail(_))
                | (TryFail(_), TryLock(_))
                | (Unlock(_), TryFail(_))
                | (TryFail(_), Unlock(_))
                | (Unlock(_), TryLock(_))
                | (TryLock(_), Unlock(_))
        )
    }
}

/// A lock (or lockdep map) held by a task.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    pub obj: ObjId,
    pub class: ClassId,
    /// Function that took it (top frame at acquisition).
    pub site: &'static str,
    pub spin: bool,
}

pub(crate) struct Task {
    pub name: String,
    pub co: Option<Coroutine<(), (), ()>>,
    pub yielder: *const Yielder<(), ()>,
    pub pending: super::Op,
    pub result: super::OpResult,
    pub finished: bool,
    pub daemon: bool,
    /// A daemon waiting for work: not a deadlock if it stays blocked.
    pub idle: bool,
    pub woken: bool,
    pub timed_out: bool,
    pub wake_step: u32,
    /// The clock step whose timer ended this task's wait or msleep.
    pub timeout_step: u32,
    /// Object that a signal to this task writes and an interruptible wait reads.
    pub signal_obj: super::ObjId,
    pub held: Vec<Held>,
    pub frames: Vec<&'static str>,
    pub spawn_step: u32,
    pub last_step: u32,
    pub signal_pending: bool,
    /// Synchronisation clock for data-race detection: what this task has
    /// synchronised with through locks, wake-ups, spawn and join.
    pub vc: Vec<u32>,
    /// Clock of the wake-up that will resume this task.
    pub wake_vc: Vec<u32>,
    /// The condition of the wait this task is inside (`WaitQueue::wait`), registered
    /// for the scheduler's lost-wake-up check; see `Shared::with_wait_cond`.
    pub wait_cond: Option<*const (dyn Fn() -> bool + 'static)>,
    /// Leaf-spinlock sections this task is inside (nested ones count), and where in
    /// its step's accesses the outermost one began.
    pub section_depth: u32,
    pub section_from: usize,
}

impl Task {
    /// A fresh task in a recycled slot: the vectors keep their capacity.
    pub fn reset(&mut self, name: String, daemon: bool, spawn_step: u32) {
        let mut held = std::mem::take(&mut self.held);
        let mut frames = std::mem::take(&mut self.frames);
        let mut vc = std::mem::take(&mut self.vc);
        let mut wake_vc = std::mem::take(&mut self.wake_vc);
        held.clear();
        frames.clear();
        vc.clear();
        wake_vc.clear();
        *self = Task {
            held,
            frames,
            vc,
            wake_vc,
            ..Task::new(name, daemon, spawn_step)
        };
    }

    pub fn new(name: String, daemon: bool, spawn_step: u32) -> Self {
        Task {
            name,
            co: None,
            yielder: std::ptr::null(),
            pending: super::Op::Start,
            result: super::OpResult::None,
            finished: false,
            daemon,
            idle: false,
            woken: false,
            timed_out: false,
            wake_step: 0,
            timeout_step: 0,
            signal_obj: 0,
            held: Vec::new(),
            frames: Vec::new(),
            spawn_step,
            last_step: 0,
            signal_pending: false,
            vc: Vec::new(),
            wake_vc: Vec::new(),
            wait_cond: None,
            section_depth: 0,
            section_from: 0,
        }
    }

    /// Unfinished and not an idle daemon: if it stays blocked, that is a deadlock.
    pub fn is_blocking(&self) -> bool {
        let idle_daemon = self.daemon && self.idle;
        !self.finished && !idle_daemon
    }

    pub fn spin_held(&self) -> bool {
        self.held.iter().any(|h| h.spin)
    }
}
