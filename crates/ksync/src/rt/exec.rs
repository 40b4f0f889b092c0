//! One execution of a program under a scheduler: the loop that asks the strategy
//! for the next task, runs it to its next scheduling point, and ends the execution.

use super::lockdep::LockDep;
use super::op::{Op, OpResult, Wake};
use super::scheduler::{SchedView, Scheduler, Step, TaskView};
use super::set_current;
use super::state::{Pool, Shared, State};
use super::switch::{install_panic_hook, recycle_stack};
use super::trace::TraceEntry;
use crate::report::{Finding, PropertyIds, RuntimeCheck};
use corosensei::CoroutineResult;
use std::cell::RefCell;
use std::rc::Rc;

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndKind {
    /// Every task finished (daemons idle).
    Done,
    /// A deadlock (cycle of lock waits, or no task can ever run again).
    Deadlock,
    /// The step bound was hit: the execution is incomplete.
    StepBound,
    /// A task panicked or the model aborted.
    Panic,
    /// The strategy abandoned the execution (already covered elsewhere).
    Pruned,
}

/// Bounds and recording options of one execution.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    pub max_steps: u32,
    /// Record a readable trace (for counterexamples).
    pub record: bool,
    pub stack_size: usize,
    pub main_name: String,
    /// The property ids the program's specification gives the runtime's checks.
    pub property_ids: PropertyIds,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            max_steps: 20_000,
            record: false,
            stack_size: 256 * 1024,
            main_name: "main".into(),
            property_ids: RuntimeCheck::name,
        }
    }
}

/// Result of one execution.
pub struct ExecOutcome {
    pub end: EndKind,
    pub steps: u32,
    pub findings: Vec<Finding>,
    pub trace: Vec<TraceEntry>,
    pub virtual_ms: u64,
}

/// Drives executions; keeps the lock-order graph across them.
pub struct Execution {
    pub config: ExecConfig,
    pub lockdep: LockDep,
    views: Vec<TaskView>,
    pool: Pool,
}

impl Execution {
    pub fn new(config: ExecConfig) -> Self {
        install_panic_hook();
        Execution {
            config,
            lockdep: LockDep::default(),
            views: Vec::new(),
            pool: Pool::default(),
        }
    }

    /// Runs `main` as task 0 to the end of one execution.
    pub fn run(&mut self, main: Box<dyn FnOnce()>, sched: &mut dyn Scheduler) -> ExecOutcome {
        let pool = std::mem::take(&mut self.pool);
        let state = State::new(
            pool,
            self.config.record,
            self.config.stack_size,
            self.config.property_ids,
            std::mem::take(&mut self.lockdep),
        );
        let shared = Rc::new(Shared {
            st: RefCell::new(state),
        });
        set_current(Some(shared.clone()));
        shared.register_clock_objs();
        shared.spawn(self.config.main_name.clone(), false, main);
        let end = self.drive(&shared, sched);
        if matches!(end, EndKind::Done | EndKind::Deadlock | EndKind::Panic) {
            shared.st.borrow_mut().report_pending_lost_wakeups();
            shared.st.borrow().task_views(&mut self.views);
            sched.execution_end(&self.views);
        }
        let mut findings;
        if end == EndKind::Done {
            let hooks = std::mem::take(&mut shared.st.borrow_mut().quiesce_hooks);
            for h in hooks {
                h();
            }
        }
        // Idle workers return from their loops: unwinding their stacks would cost
        // more than the rest of a short execution.
        Self::stop_idle_daemons(&shared);
        // Tear down tasks that did not finish; their guards must not schedule.
        let cos: Vec<_> = {
            let mut st = shared.st.borrow_mut();
            st.teardown = true;
            st.tasks.iter_mut().filter_map(|t| t.co.take()).collect()
        };
        for mut co in cos {
            if !co.done() {
                co.force_unwind();
            }
            recycle_stack(co);
        }
        let mut st = shared.st.borrow_mut();
        st.quiesce_hooks.clear();
        self.lockdep = std::mem::take(&mut st.lockdep);
        findings = std::mem::take(&mut st.findings);
        for f in &mut findings {
            if f.step == 0 {
                f.step = st.step;
            }
        }
        let out = ExecOutcome {
            end,
            steps: st.step,
            findings,
            trace: std::mem::take(&mut st.trace),
            virtual_ms: st.now,
        };
        self.pool = st.recycle();
        drop(st);
        set_current(None);
        out
    }

    /// Lets idle daemons (workers waiting for work) return normally, which is much
    /// cheaper than unwinding their stacks.
    fn stop_idle_daemons(sh: &Rc<Shared>) {
        let n = sh.st.borrow().tasks.len();
        for t in 0..n {
            let mut st = sh.st.borrow_mut();
            let task = &mut st.tasks[t];
            if task.finished
                || !task.daemon
                || !task.idle
                || !matches!(task.pending, Op::Sleep { .. })
            {
                continue;
            }
            task.result = OpResult::Wake(Wake::ExecutionOver);
            task.pending = Op::Yield;
            let Some(mut co) = task.co.take() else {
                continue;
            };
            st.running = Some(t);
            drop(st);
            let r = co.resume(());
            let mut st = sh.st.borrow_mut();
            st.running = None;
            match r {
                CoroutineResult::Return(()) => recycle_stack(co),
                CoroutineResult::Yield(()) => st.tasks[t].co = Some(co),
            }
        }
    }

    fn drive(&mut self, sh: &Rc<Shared>, sched: &mut dyn Scheduler) -> EndKind {
        let mut blocked_noted = Vec::new();
        loop {
            let mut st = sh.st.borrow_mut();
            if let Some(a) = st.abort {
                // A deadlock ends the execution as its last wait begins: record it.
                if st.record {
                    st.note_blocked(&mut blocked_noted);
                }
                return a;
            }
            if st.step >= self.config.max_steps {
                return EndKind::StepBound;
            }
            let any = st.task_views(&mut self.views);
            if st.record {
                st.note_blocked(&mut blocked_noted);
            }
            if !any {
                if st.timers.is_empty() {
                    drop(st);
                    return sh.no_task_can_run();
                }
                drop(st);
                sh.clock_step(sched);
                continue;
            }
            let step = st.step;
            let view = SchedView {
                step,
                tasks: &self.views,
            };
            drop(st);
            let Some(t) = sched.next_task(&view) else {
                return EndKind::Pruned;
            };
            let mut st = sh.st.borrow_mut();
            st.accesses.clear();
            if st.record {
                st.trace_step_start(t);
            }
            st.apply(t);
            st.running = Some(t);
            loop {
                let mut co = st.tasks[t].co.take().expect("coroutine");
                drop(st);
                let r = co.resume(());
                st = sh.st.borrow_mut();
                match r {
                    CoroutineResult::Yield(()) => {
                        st.tasks[t].co = Some(co);
                        if let Op::Choose { n } = st.tasks[t].pending {
                            drop(st);
                            let v = sched.choose(t, n, step);
                            st = sh.st.borrow_mut();
                            st.tasks[t].result = OpResult::Usize(v);
                            st.tasks[t].pending = Op::Yield;
                            st.note(|_| format!("choose({n}) = {v}"));
                            continue;
                        }
                    }
                    CoroutineResult::Return(()) => {
                        recycle_stack(co);
                    }
                }
                break;
            }
            st.running = None;
            st.tasks[t].last_step = step;
            st.step += 1;
            let accesses = std::mem::take(&mut st.accesses);
            drop(st);
            sched.step_done(&Step {
                idx: step,
                task: t,
                accesses: &accesses,
            });
            sh.st.borrow_mut().accesses = accesses;
        }
    }
}

impl Shared {
    pub fn on_quiescence(&self, f: Box<dyn FnOnce()>) {
        self.st.borrow_mut().quiesce_hooks.push(f);
    }
}
