//! Sections of leaf spinlocks run as one step: Lipton's reduction, checked.
//!
//! A leaf spinlock (`SpinLock::leaf`, e.g. `&dev->power.lock`) protects its data and
//! nothing is acquired or waited for under it. Its acquisition commutes to the right
//! with every other task's step (no one else can take it meanwhile), its release to
//! the left, and an access to the data it protects both ways; so a section made of
//! those plus at most one other access (the one others can observe) can run as a
//! single step without losing a reachable state or a deadlock. The runtime runs it so:
//! the section's operations do not yield, the lock is never held at a scheduling
//! point, and no task ever blocks on it.
//!
//! The step's footprint then names the lock as its data: a read of it if the section
//! only read through its guard, a write if it wrote. Two sections that only read (or
//! touch disjoint atomics) commute, so the search no longer orders every pair of them,
//! the cost that made runtime-PM scenarios with two paths intractable.
//!
//! The premise is checked, never assumed: a section that blocks, takes another kind
//! of lock, or makes two accesses that others can observe (anything but its own data
//! and reads of atomics it guards) panics with what it did, as does a write of a
//! guarded atomic without its lock. An atomic declared guarded by a leaf spinlock
//! (`AtomicU32::guarded_by`) is written only under it, so reading it under the lock is
//! invisible to everyone else.

use super::op::Op;
use super::state::{Shared, State};
use super::task::{Access, TaskId};
use super::ObjId;

impl Shared {
    /// Declares the spinlock `obj` a leaf lock whose sections run as one step.
    pub fn mark_leaf(&self, obj: ObjId) {
        self.st.borrow_mut().objs[obj as usize].leaf = true;
    }

    /// Declares the atomic `obj` written only while holding the leaf spinlock `lock`.
    pub fn set_guard(&self, obj: ObjId, lock: ObjId) {
        let mut st = self.st.borrow_mut();
        if !st.objs[lock as usize].leaf {
            let name = st.obj_name(lock);
            // (not while the state is borrowed: the panic hook reads it)
            drop(st);
            panic!("an atomic can only be guarded by a leaf spinlock, and {name} is not one");
        }
        st.objs[obj as usize].guard = Some(lock);
    }
}

impl State {
    /// Whether `t` performs `op` inline, inside the section it is in (within the
    /// section's step); the broken premise if `op` writes a guarded atomic without its
    /// lock or a section must not contain it. (The caller panics once it no longer
    /// borrows the state.)
    pub(super) fn in_section(&self, t: TaskId, op: Op) -> Result<bool, String> {
        if let Some(broken) = self.unguarded_write(t, op) {
            return Err(broken);
        }
        if self.tasks[t].section_depth == 0 || self.abort.is_some() {
            return Ok(false);
        }
        match op {
            Op::Atomic { .. } | Op::Wake { .. } | Op::PrepareWait { .. } | Op::Yield => Ok(true),
            // Handled by the execution loop without ending the step.
            Op::Choose { .. } => Ok(false),
            Op::Lock { obj } | Op::TryLock { obj } if self.objs[obj as usize].leaf => Ok(true),
            _ => Err(format!(
                "{} {} inside a section of {}: a leaf spinlock's section runs as one step \
                 and must not block or take another kind of lock",
                self.tasks[t].name,
                self.op_name(op),
                self.section_lock_names(t)
            )),
        }
    }

    /// `t` acquired the leaf spinlock `obj` (its step's footprint gets the section's
    /// access at the release).
    pub(super) fn section_enter(&mut self, t: TaskId) {
        let n = self.accesses.len();
        let task = &mut self.tasks[t];
        if task.section_depth == 0 {
            task.section_from = n;
        }
        task.section_depth += 1;
    }

    /// `t` released the leaf spinlock `obj`, having written its data or not; the
    /// broken premise if the section made more than one access that other tasks can
    /// observe.
    pub(super) fn section_exit(&mut self, t: TaskId, obj: ObjId, wrote: bool) -> Option<String> {
        let from = self.tasks[t].section_from.min(self.accesses.len());
        // A section that read something others write outside the lock may decide on
        // it what it writes, so it counts as a write whatever it did: a step whose
        // footprint changed with a value read from a step it does not conflict with
        // would hide dependences from the search.
        let reads_outside = self.accesses[from..]
            .iter()
            .any(|&a| matches!(a, Access::Read(_)) && self.visible_in_section(t, obj, a));
        self.accesses.push(if wrote || reads_outside {
            Access::Write(obj)
        } else {
            Access::Read(obj)
        });
        let task = &mut self.tasks[t];
        task.section_depth = task.section_depth.saturating_sub(1);
        if task.section_depth > 0 {
            return None;
        }
        let visible: Vec<ObjId> = self.accesses[from..]
            .iter()
            .filter(|a| self.visible_in_section(t, obj, **a))
            .filter_map(|a| a.obj())
            .collect();
        if visible.len() <= 1 {
            return None;
        }
        let names: Vec<String> = visible.iter().map(|&o| self.obj_name(o)).collect();
        Some(format!(
            "{}'s section of {} accesses {}: a leaf spinlock's section may make at most \
             one access that other tasks can observe (declare the atomics the lock guards \
             with `guarded_by`, or use a plain spinlock)",
            self.tasks[t].name,
            self.obj_name(obj),
            names.join(", ")
        ))
    }

    /// Whether access `a` by `t` inside its section of `lock` (just released) can be
    /// observed by another task: anything but a leaf lock's data and a read of an
    /// atomic whose guard is `lock` or another lock `t` holds.
    fn visible_in_section(&self, t: TaskId, lock: ObjId, a: Access) -> bool {
        let Some(o) = a.obj() else {
            return false;
        };
        let obj = &self.objs[o as usize];
        if obj.leaf {
            return false;
        }
        match (a, obj.guard) {
            (Access::Read(_), Some(g)) => {
                g != lock && !self.tasks[t].held.iter().any(|h| h.obj == g)
            }
            _ => true,
        }
    }

    /// The broken premise if `op` of `t` writes a guarded atomic without its guard.
    fn unguarded_write(&self, t: TaskId, op: Op) -> Option<String> {
        let Op::Atomic { obj, write: true } = op else {
            return None;
        };
        let g = self.objs[obj as usize].guard?;
        if self.tasks[t].held.iter().any(|h| h.obj == g) {
            return None;
        }
        Some(format!(
            "{} writes {} without holding {}, the leaf spinlock declared to guard it",
            self.tasks[t].name,
            self.obj_name(obj),
            self.obj_name(g)
        ))
    }

    fn section_lock_names(&self, t: TaskId) -> String {
        let names: Vec<String> = self.tasks[t]
            .held
            .iter()
            .filter(|h| self.objs[h.obj as usize].leaf)
            .map(|h| self.obj_name(h.obj))
            .collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use crate::rt::{Access, ExecConfig, Execution, SchedView, Scheduler, Step, TaskId, TaskView};
    use crate::{AtomicU32, FindingKind, LockClass, Mutex, SpinLock};
    use std::sync::Arc;

    /// Runs the first enabled task; keeps every step's accesses.
    #[derive(Default)]
    struct FirstEnabled {
        steps: Vec<(TaskId, Vec<Access>)>,
    }

    impl Scheduler for FirstEnabled {
        fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
            view.tasks.iter().find(|t| t.enabled).map(|t| t.id)
        }
        fn choose(&mut self, _task: TaskId, _n: usize, _step: u32) -> usize {
            0
        }
        fn step_done(&mut self, step: &Step) {
            self.steps.push((step.task, step.accesses.to_vec()));
        }
        fn execution_end(&mut self, _unfinished: &[TaskView]) {}
    }

    fn run(main: impl FnOnce() + 'static) -> (Vec<String>, FirstEnabled) {
        let mut sched = FirstEnabled::default();
        let out = Execution::new(ExecConfig::default()).run(Box::new(main), &mut sched);
        let panics = out
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Panic)
            .map(|f| f.summary.clone())
            .collect();
        (panics, sched)
    }

    /// The one panic of an execution, which must say `what`.
    fn assert_one_panic(panics: &[String], what: &str) {
        assert_eq!(panics.len(), 1, "{panics:?}");
        assert!(panics[0].contains(what), "{}", panics[0]);
    }

    #[test]
    fn a_section_is_one_step_that_reads_or_writes_the_lock() {
        let (panics, sched) = run(|| {
            let lock = Arc::new(SpinLock::leaf(LockClass::new("t.lock"), "d", 0u32));
            let status = Arc::new(AtomicU32::guarded_by("t.status", 0, &lock));
            let (l, s) = (lock.clone(), status.clone());
            crate::spawn("writer", move || {
                let mut d = l.lock();
                if s.load() == 0 {
                    s.store(1);
                }
                *d += 1;
            })
            .join();
            crate::spawn("reader", move || {
                let d = lock.lock();
                assert_eq!((*d, status.load()), (1, 1));
            })
            .join();
        });
        assert!(panics.is_empty(), "{panics:?}");
        let sections: Vec<&Vec<Access>> = sched
            .steps
            .iter()
            .filter(|(t, _)| *t != 0)
            .map(|(_, a)| a)
            .filter(|a| {
                a.iter()
                    .any(|x| matches!(x, Access::Read(_) | Access::Write(_)))
            })
            .collect();
        // the writer's section: status read and written, the lock's data written;
        // the reader's: both read. Neither names a lock acquisition or release.
        assert_eq!(sections.len(), 2, "{:?}", sched.steps);
        for a in &sections {
            assert!(
                !a.iter()
                    .any(|x| matches!(x, Access::Lock(_) | Access::Unlock(_))),
                "{a:?}"
            );
        }
        assert_eq!(
            sections[0]
                .iter()
                .filter(|x| matches!(x, Access::Write(_)))
                .count(),
            2
        );
        assert!(sections[1].iter().all(|x| !matches!(x, Access::Write(_))));
    }

    /// The accesses of task `task`'s steps.
    fn steps_of(sched: &FirstEnabled, task: TaskId) -> Vec<&Vec<Access>> {
        sched
            .steps
            .iter()
            .filter(|(t, _)| *t == task)
            .map(|(_, a)| a)
            .collect()
    }

    #[test]
    fn a_lockless_read_of_a_guarded_atomic_also_reads_the_lock() {
        let (panics, sched) = run(|| {
            let lock = SpinLock::leaf(LockClass::new("t.lock"), "d", 0u32);
            let status = AtomicU32::guarded_by("t.status", 0, &lock);
            crate::spawn("watcher", move || {
                let _ = status.load();
            })
            .join();
        });
        assert!(panics.is_empty(), "{panics:?}");
        // the watcher's read: the status and the lock's data, as the writes of the
        // status under the lock depend on that data
        let reads = steps_of(&sched, 1)
            .into_iter()
            .find(|a| a.iter().filter(|x| matches!(x, Access::Read(_))).count() == 2);
        assert!(reads.is_some(), "{:?}", sched.steps);
    }

    #[test]
    fn a_section_that_reads_outside_the_lock_counts_as_a_write() {
        let (panics, sched) = run(|| {
            let lock = SpinLock::leaf(LockClass::new("t.lock"), "d", 0u32);
            let flag = AtomicU32::new("t.flag", 0);
            crate::spawn("t", move || {
                let d = lock.lock();
                let _ = (*d, flag.load());
            })
            .join();
        });
        assert!(panics.is_empty(), "{panics:?}");
        // one read of the flag (observable) and, for the lock, a write: what the
        // section does may depend on the flag, written by steps it does not conflict
        // with otherwise
        let section = steps_of(&sched, 1)
            .into_iter()
            .find(|a| a.len() == 2)
            .expect("the section's step");
        assert_eq!(
            section
                .iter()
                .filter(|x| matches!(x, Access::Write(_)))
                .count(),
            1,
            "{section:?}"
        );
    }

    #[test]
    fn two_observable_accesses_in_a_section_panic() {
        let (panics, _) = run(|| {
            let lock = SpinLock::leaf(LockClass::new("t.lock"), "d", ());
            let (a, b) = (AtomicU32::new("t.a", 0), AtomicU32::new("t.b", 0));
            crate::spawn("t", move || {
                let _g = lock.lock();
                a.store(1);
                b.store(1);
            })
            .join();
        });
        assert_one_panic(&panics, "t.a, t.b");
    }

    #[test]
    fn a_guarded_atomic_written_without_its_lock_panics() {
        let (panics, _) = run(|| {
            let lock = SpinLock::leaf(LockClass::new("t.lock"), "d", ());
            let status = AtomicU32::guarded_by("t.status", 0, &lock);
            crate::spawn("t", move || status.store(1)).join();
        });
        assert_one_panic(&panics, "without holding");
    }

    #[test]
    fn an_atomic_guarded_by_a_plain_spinlock_is_refused() {
        let (panics, _) = run(|| {
            let lock = SpinLock::new(LockClass::new("t.plain"), ());
            let _ = AtomicU32::guarded_by("t.status", 0, &lock);
        });
        assert_one_panic(&panics, "t.plain is not one");
    }

    #[test]
    fn blocking_in_a_section_panics() {
        let (panics, _) = run(|| {
            let lock = SpinLock::leaf(LockClass::new("t.lock"), "d", ());
            let m = Mutex::new(LockClass::new("t.mutex"), ());
            crate::spawn("t", move || {
                let _g = lock.lock();
                let _m = m.lock();
            })
            .join();
        });
        assert_one_panic(&panics, "must not block");
    }
}
