//! The operations of a scheduling point: what a task asks for, whether it can run,
//! the footprint of its next step, and what performing it does to the state.

use super::scheduler::TaskView;
use super::state::{ObjKind, Shared, State, NO_STEP};
use super::task::{Access, Held, Task, TaskId};
use super::vv::VersionVector;
use super::ObjId;

/// The operation a task waits to perform at its scheduling point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Start,
    Yield,
    Atomic {
        obj: ObjId,
        write: bool,
    },
    Lock {
        obj: ObjId,
    },
    TryLock {
        obj: ObjId,
    },
    /// `intr`: an interruptible wait (a pending signal ends it).
    PrepareWait {
        obj: ObjId,
        intr: bool,
    },
    Sleep {
        obj: ObjId,
        intr: bool,
    },
    Wake {
        obj: ObjId,
    },
    /// `complete` (`all`: `complete_all`): raises the completion's count.
    Complete {
        obj: ObjId,
        all: bool,
    },
    /// `wait_for_completion[_timeout]`: takes one from the count. `blocking`: can run
    /// once the count is positive or the wait's timer fired; otherwise it runs at
    /// once and fails on a zero count (a timed wait's first look, which must race
    /// with the other takers without its timer: see `Completion`).
    WaitCompletion {
        obj: ObjId,
        blocking: bool,
    },
    Join {
        task: TaskId,
    },
    Msleep,
    Choose {
        n: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpResult {
    None,
    Bool(bool),
    Usize(usize),
    Wake(Wake),
}

/// Why a `Sleep` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A wake-up of the queue.
    Woken,
    /// The wait's timer fired.
    TimedOut,
    /// A signal ended an interruptible sleep.
    Signalled,
    /// The execution is over and an idle daemon should exit.
    ExecutionOver,
}

impl Shared {
    /// A read that a model check makes inside the running task's step, without a
    /// scheduling point: it joins the step's footprint, so the search orders the check
    /// against the writes it depends on (a check that read unrecorded would see one
    /// order of them and miss the others).
    pub fn step_read(&self, obj: ObjId) {
        let mut st = self.st.borrow_mut();
        if st.running.is_some() || st.clock_cb {
            st.accesses.push(Access::Read(obj));
        }
    }
}

impl State {
    /// The unfinished tasks as a scheduler sees them; true if any can run.
    pub(super) fn task_views(&self, out: &mut Vec<TaskView>) -> bool {
        out.clear();
        let mut any = false;
        for (i, t) in self.tasks.iter().enumerate() {
            if t.finished {
                continue;
            }
            let enabled = self.is_enabled(t);
            any |= enabled;
            out.push(TaskView {
                id: i,
                enabled,
                access: self.pending_access(t),
            });
        }
        any
    }

    pub(super) fn is_enabled(&self, t: &Task) -> bool {
        match t.pending {
            Op::Lock { obj } => self.objs[obj as usize].owner.is_none(),
            Op::Sleep { intr, .. } => t.woken || t.timed_out || (intr && t.signal_pending),
            Op::Join { task } => self.tasks[task].finished,
            Op::Msleep => t.timed_out,
            Op::WaitCompletion {
                obj,
                blocking: true,
            } => self.objs[obj as usize].done > 0 || t.timed_out,
            _ => true,
        }
    }

    fn pending_access(&self, t: &Task) -> Option<Access> {
        match t.pending {
            Op::Atomic { obj, write: true }
            | Op::PrepareWait { obj, .. }
            | Op::Wake { obj }
            | Op::Complete { obj, .. }
            | Op::WaitCompletion { obj, .. } => Some(Access::Write(obj)),
            // A sleep that can end without a wake-up (timed out, or interruptible with
            // a signal pending) ends differently before and after one: it reads the
            // queue.
            Op::Sleep { obj, intr } if t.timed_out || (intr && t.signal_pending) => {
                Some(Access::Read(obj))
            }
            Op::Atomic { obj, write: false } => Some(Access::Read(obj)),
            // A leaf spinlock is never held at a scheduling point: its section's step
            // reads or writes the lock's data (see `section`), at least a read.
            Op::Lock { obj } | Op::TryLock { obj } if self.objs[obj as usize].leaf => {
                Some(Access::Read(obj))
            }
            Op::Lock { obj } => Some(Access::Lock(obj)),
            Op::TryLock { obj } => Some(Access::TryLock(obj)),
            _ => None,
        }
    }

    fn push_held(&mut self, t: TaskId, obj: ObjId) {
        let o = &self.objs[obj as usize];
        let h = Held {
            obj,
            class: o.class,
            site: self.tasks[t].frames.last().copied().unwrap_or("?"),
            spin: o.kind == ObjKind::Spin,
        };
        self.tasks[t].held.push(h);
    }

    /// The scheduler-side effect of `t`'s pending operation, at the start of its step.
    pub(super) fn apply(&mut self, t: TaskId) {
        let op = self.tasks[t].pending;
        let step = self.step;
        self.tasks[t].pending = Op::Yield;
        match op {
            Op::Start => {
                let s = self.tasks[t].spawn_step;
                if s != NO_STEP {
                    self.accesses.push(Access::SyncWith(s));
                }
            }
            Op::Yield | Op::Choose { .. } => {}
            Op::Msleep => {
                let task = &mut self.tasks[t];
                task.timed_out = false;
                self.accesses.push(Access::SyncWith(task.timeout_step));
            }
            Op::Atomic { obj, write } => {
                self.accesses.push(if write {
                    let site = self.tasks[t].frames.last().copied().unwrap_or("?");
                    self.objs[obj as usize].last_writer = Some((t, site));
                    Access::Write(obj)
                } else {
                    Access::Read(obj)
                });
                if let Some(lock) = self.objs[obj as usize].guard {
                    if !self.tasks[t].held.iter().any(|h| h.obj == lock) {
                        // A lockless read of what a leaf spinlock guards reads that
                        // lock's data too: whether a section writes the atomic depends
                        // on that data, so every section that writes it must be
                        // ordered against the read.
                        self.accesses.push(Access::Read(lock));
                    }
                }
                if self.race_on && self.objs[obj as usize].kind == ObjKind::SyncAtomic {
                    self.race_acquire(t, obj);
                    if write {
                        self.race_release(t, obj);
                    }
                }
            }
            Op::Lock { obj } | Op::TryLock { obj } if self.objs[obj as usize].leaf => {
                let o = &mut self.objs[obj as usize];
                if o.owner.is_some() {
                    // Only a trylock of a section's own lock gets here.
                    self.tasks[t].result = OpResult::Bool(false);
                    return;
                }
                o.owner = Some(t);
                self.push_held(t, obj);
                self.race_acquire(t, obj);
                self.section_enter(t);
                self.tasks[t].result = OpResult::Bool(true);
            }
            Op::Lock { obj } => {
                let o = &mut self.objs[obj as usize];
                debug_assert!(o.owner.is_none());
                o.owner = Some(t);
                let lu = o.last_unlock;
                self.accesses.push(Access::Lock(obj));
                if lu != NO_STEP {
                    self.accesses.push(Access::SyncWith(lu));
                }
                self.push_held(t, obj);
                self.race_acquire(t, obj);
            }
            Op::TryLock { obj } => {
                let o = &mut self.objs[obj as usize];
                if o.owner.is_none() {
                    o.owner = Some(t);
                    let lu = o.last_unlock;
                    self.accesses.push(Access::TryLock(obj));
                    if lu != NO_STEP {
                        self.accesses.push(Access::SyncWith(lu));
                    }
                    self.push_held(t, obj);
                    self.race_acquire(t, obj);
                    self.tasks[t].result = OpResult::Bool(true);
                } else {
                    self.accesses.push(Access::TryFail(obj));
                    self.tasks[t].result = OpResult::Bool(false);
                }
            }
            Op::PrepareWait { obj, intr } => {
                let o = &mut self.objs[obj as usize];
                if !o.waiters.contains(&t) {
                    o.waiters.push(t);
                }
                let task = &mut self.tasks[t];
                task.woken = false;
                task.timed_out = false;
                task.wake_vc.clear();
                self.accesses.push(Access::Write(obj));
                if intr {
                    self.accesses.push(Access::Read(task.signal_obj));
                }
            }
            Op::Sleep { obj, intr } => {
                let task = &mut self.tasks[t];
                if task.timed_out || (intr && task.signal_pending) {
                    // Ends differently before and after a wake-up of the queue.
                    self.accesses.push(Access::Read(obj));
                }
                let r = if task.woken {
                    Wake::Woken
                } else if intr && task.signal_pending {
                    task.signal_pending = false;
                    Wake::Signalled
                } else {
                    Wake::TimedOut
                };
                if intr {
                    self.accesses.push(Access::Read(task.signal_obj));
                }
                if task.woken {
                    let ws = task.wake_step;
                    self.accesses.push(Access::SyncWith(ws));
                    if self.race_on {
                        let w = std::mem::take(&mut task.wake_vc);
                        task.vc.join(&w);
                    }
                } else if task.timed_out {
                    // Ended by the timer: after the clock step that fired it.
                    self.accesses.push(Access::SyncWith(task.timeout_step));
                }
                task.woken = false;
                task.timed_out = false;
                task.result = OpResult::Wake(r);
                self.objs[obj as usize].waiters.retain(|&w| w != t);
            }
            Op::Wake { obj } => {
                if !self.pending_lost.is_empty() {
                    // A late wake-up from a task that was stuck behind a lock.
                    self.pending_lost
                        .retain(|(o, blocked, _)| *o != obj || !blocked.contains(&t));
                }
                self.wake_waiters(obj, step);
                self.accesses.push(Access::Write(obj));
            }
            Op::Complete { obj, all } => {
                let site = self.tasks[t].frames.last().copied().unwrap_or("?");
                let o = &mut self.objs[obj as usize];
                // As the kernel: complete_all makes every later wait succeed.
                o.done = if all {
                    u32::MAX
                } else {
                    o.done.saturating_add(1)
                };
                o.last_writer = Some((t, site));
                self.accesses.push(Access::Write(obj));
                self.race_release(t, obj);
            }
            Op::WaitCompletion { obj, .. } => {
                // One step reads and takes the count: taking it conflicts with the
                // complete that raised it and with other waiters.
                self.accesses.push(Access::Write(obj));
                let o = &mut self.objs[obj as usize];
                let got = o.done > 0;
                if got && o.done != u32::MAX {
                    o.done -= 1;
                }
                let task = &mut self.tasks[t];
                if task.timed_out {
                    // The timer fired: after the clock step that fired it, whatever the
                    // count says now.
                    self.accesses.push(Access::SyncWith(task.timeout_step));
                    task.timed_out = false;
                }
                task.result = OpResult::Bool(got);
                if got {
                    self.race_acquire(t, obj);
                }
            }
            Op::Join { task } => {
                let ls = self.tasks[task].last_step;
                self.accesses.push(Access::SyncWith(ls));
                if self.race_on {
                    let c = self.tasks[task].vc.clone();
                    self.tasks[t].vc.join(&c);
                }
            }
        }
    }

    pub fn wake_waiters(&mut self, obj: ObjId, step: u32) {
        let waiters = std::mem::take(&mut self.objs[obj as usize].waiters);
        let waker_vc = match (self.race_on, self.running) {
            (true, Some(r)) => {
                let c = self.tasks[r].vc.clone();
                self.tasks[r].vc.tick(r);
                Some(c)
            }
            _ => None,
        };
        for &w in &waiters {
            let task = &mut self.tasks[w];
            if task.woken {
                // Already woken since it registered: this wake-up changes nothing
                // for it, and the first one is what its resumption happens after.
                continue;
            }
            task.woken = true;
            task.wake_step = step;
            if let Some(c) = &waker_vc {
                task.wake_vc.join(c);
            }
        }
        self.objs[obj as usize].waiters = waiters;
    }

    /// Inline release of a lock by the running task (not a scheduling point);
    /// `wrote`: the holder wrote the data through its guard. Returns the broken
    /// premise of a leaf spinlock's section, for the caller to panic with.
    pub fn unlock(&mut self, obj: ObjId, wrote: bool) -> Option<String> {
        if self.teardown {
            return None;
        }
        let t = match self.running {
            Some(t) => t,
            None => {
                self.objs[obj as usize].owner = None;
                return None;
            }
        };
        let o = &mut self.objs[obj as usize];
        o.owner = None;
        o.last_unlock = self.step;
        let leaf = o.leaf;
        if self.race_on {
            o.rel_vc.clone_from(&self.tasks[t].vc);
            self.tasks[t].vc.tick(t);
        }
        let held = &mut self.tasks[t].held;
        if let Some(pos) = held.iter().rposition(|h| h.obj == obj) {
            held.remove(pos);
        }
        self.note(|s| format!("unlock({})", s.obj_name(obj)));
        if leaf {
            return self.section_exit(t, obj, wrote);
        }
        self.accesses.push(Access::Unlock(obj));
        None
    }
}
