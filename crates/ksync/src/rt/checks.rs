//! Checks made as a task issues an operation, before it may block: sleeping while
//! holding a spinlock, a recursive acquisition, new lock-order edges and the cycles
//! they close (lockdep), a cycle of lock waits.

use super::exec::EndKind;
use super::lockdep::{LockOrderCycle, OrderEdge};
use super::op::Op;
use super::state::{ObjKind, State};
use super::task::TaskId;
use crate::class::{class_name, ClassId};
use crate::report::RuntimeCheck;

impl State {
    /// Lockdep, recursion, sleeping-in-atomic and lock-cycle checks made when a task
    /// issues an operation.
    pub(super) fn pre_checks(&mut self, t: TaskId, op: Op) {
        let sleeps = match op {
            Op::Lock { obj } => self.objs[obj as usize].kind == ObjKind::Mutex,
            Op::Sleep { .. } | Op::WaitCompletion { .. } | Op::Msleep | Op::Join { .. } => true,
            _ => false,
        };
        if sleeps && self.tasks[t].spin_held() {
            let spins: Vec<String> = self.tasks[t]
                .held
                .iter()
                .filter(|h| h.spin)
                .map(|h| class_name(h.class))
                .collect();
            let what = self.op_name(op);
            let mut f = self.check_finding(
                t,
                RuntimeCheck::SleepInAtomic,
                format!(
                    "{} sleeps ({what}) while holding spinlock {}",
                    self.tasks[t].name,
                    spins.join(", ")
                ),
            );
            f.locks = spins;
            self.push_finding(f);
        }
        match op {
            Op::Lock { obj } => {
                if self.tasks[t].held.iter().any(|h| h.obj == obj) {
                    let name = self.obj_name(obj);
                    let mut f = self.check_finding(
                        t,
                        RuntimeCheck::RecursiveLock,
                        format!(
                            "{} acquires {name} which it already holds",
                            self.tasks[t].name
                        ),
                    );
                    f.locks = vec![class_name(self.objs[obj as usize].class)];
                    f.detail = self.waits_for_description();
                    self.push_finding(f);
                    self.abort.get_or_insert(EndKind::Deadlock);
                    return;
                }
                let class = self.objs[obj as usize].class;
                self.lockdep_acquire(t, class);
                if let Some(cycle) = self.lock_wait_cycle(t, obj) {
                    self.report_wait_cycle(t, cycle);
                }
            }
            Op::Sleep { obj, .. } | Op::WaitCompletion { obj, .. } => {
                let class = self.objs[obj as usize].class;
                if !self.tasks[t].daemon || !self.tasks[t].idle {
                    self.lockdep_acquire(t, class);
                }
            }
            _ => {}
        }
    }

    /// Adds `held → class` edges to the persistent lock-order graph.
    pub fn lockdep_acquire(&mut self, t: TaskId, class: ClassId) {
        let n = self.tasks[t].held.len();
        for i in 0..n {
            let h = self.tasks[t].held[i];
            if h.class == class || self.lockdep.has_edge(h.class, class) {
                continue;
            }
            let edge = OrderEdge {
                from: h.class,
                to: class,
                task: self.tasks[t].name.clone(),
                from_site: h.site,
                stack: self.tasks[t].frames.clone(),
            };
            if let Some(cycle) = self.lockdep.add(edge) {
                self.report_order_cycle(t, cycle);
            }
        }
    }

    fn report_order_cycle(&mut self, t: TaskId, cycle: LockOrderCycle) {
        let classes = cycle.classes();
        let mut f = self.check_finding(
            t,
            RuntimeCheck::LockOrder,
            format!("possible circular locking dependency: {}", {
                let mut c = classes.clone();
                c.push(classes[0].clone());
                c.join(" --> ")
            }),
        );
        f.locks = classes;
        f.detail = crate::lockdep_report::format_cycle(
            &cycle,
            &self.tasks[t].name,
            &self.held_names(t),
            &self.tasks[t].frames,
        );
        self.push_finding(f);
    }
}
