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

    /// The access's kind as a number (its index in the conflict table; `SyncWith`
    /// touches no object).
    #[inline]
    pub fn kind(self) -> u8 {
        match self {
            Access::Read(_) => 0,
            Access::Write(_) => 1,
            Access::Lock(_) => 2,
            Access::TryLock(_) => 3,
            Access::TryFail(_) => 4,
            Access::Unlock(_) => 5,
            Access::SyncWith(_) => 6,
        }
    }

    /// Whether every access that conflicts with `self` also conflicts with `other`
    /// (same object): then a later `other` of the same task subsumes `self` for race
    /// detection and happens-before.
    #[inline]
    pub fn dominated_by(self, other: Access) -> bool {
        self.obj().is_some()
            && self.obj() == other.obj()
            && CONFLICTS[self.kind() as usize] & !CONFLICTS[other.kind() as usize] == 0
    }

    /// Whether two accesses of different tasks do not commute.
    #[inline]
    pub fn conflicts(self, other: Access) -> bool {
        self.obj().is_some()
            && self.obj() == other.obj()
            && CONFLICTS[self.kind() as usize] & (1 << other.kind()) != 0
    }
}

/// For each access kind (see [`Access::kind`]), the kinds on the same object it does
/// not commute with: writes with reads and writes; acquisitions with each other and
/// with failed trylocks; releases with trylocks, which observe them. A table, since
/// race detection asks it for every pair of accesses to an object.
const CONFLICTS: [u8; 7] = {
    const R: u8 = 1 << 0;
    const W: u8 = 1 << 1;
    const L: u8 = 1 << 2;
    const T: u8 = 1 << 3;
    const F: u8 = 1 << 4;
    const U: u8 = 1 << 5;
    [
        W,             // Read
        R | W,         // Write
        L | T | F,     // Lock
        L | T | F | U, // TryLock
        L | T | U,     // TryFail
        T | F,         // Unlock
        0,             // SyncWith
    ]
};

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

#[cfg(test)]
mod tests {
    use super::Access::{self, *};

    /// The relation written out pair by pair, as the table encodes it.
    fn conflicts_spelled_out(a: Access, b: Access) -> bool {
        a.obj().is_some()
            && a.obj() == b.obj()
            && matches!(
                (a, b),
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

    fn all(o: u32) -> [Access; 7] {
        [
            Read(o),
            Write(o),
            Lock(o),
            TryLock(o),
            TryFail(o),
            Unlock(o),
            SyncWith(o),
        ]
    }

    #[test]
    fn the_table_is_the_relation() {
        for a in all(1) {
            for b in all(1).into_iter().chain(all(2)) {
                assert_eq!(a.conflicts(b), conflicts_spelled_out(a, b), "{a:?} {b:?}");
                // Domination by its definition: every access conflicting with `a`
                // conflicts with `b`.
                let by_definition = a.obj().is_some()
                    && a.obj() == b.obj()
                    && all(1)
                        .iter()
                        .all(|&k| !conflicts_spelled_out(a, k) || conflicts_spelled_out(b, k));
                assert_eq!(a.dominated_by(b), by_definition, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn conflicts_is_symmetric() {
        for a in all(3) {
            for b in all(3) {
                assert_eq!(a.conflicts(b), b.conflicts(a), "{a:?} {b:?}");
            }
        }
    }
}
