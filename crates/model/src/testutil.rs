//! Running a model fragment once under the checker runtime (first enabled task at
//! every point, choice 0) for unit tests of the state machines.

use ksync::rt::{EndKind, ExecConfig, Execution, SchedView, Scheduler, TaskId};
use ksync::Finding;

struct First;

impl Scheduler for First {
    fn next_task(&mut self, view: &SchedView) -> Option<TaskId> {
        view.enabled().next()
    }
    fn choose(&mut self, _t: TaskId, _n: usize, _s: u32) -> usize {
        0
    }
    fn execution_end(&mut self, _unfinished: &[ksync::rt::TaskView]) {}
}

/// Runs `f` as the main task of one execution; returns how it ended and the findings.
pub fn run_once(f: impl FnOnce() + 'static) -> (EndKind, Vec<Finding>) {
    let mut ex = Execution::new(ExecConfig {
        property_ids: crate::invariants::runtime_check_property,
        ..ExecConfig::default()
    });
    let out = ex.run(Box::new(f), &mut First);
    (out.end, out.findings)
}

/// `assert!` for code running inside a checker task: reports a "TEST" finding.
macro_rules! t_assert {
    ($c:expr, $($m:tt)*) => {
        if !$c {
            ksync::report(ksync::FindingKind::Invariant, "TEST", format!($($m)*));
        }
    };
}
pub(crate) use t_assert;

/// Asserts the run ended normally with no "TEST" findings; returns the other findings.
pub fn expect_ok(r: (EndKind, Vec<Finding>)) -> Vec<Finding> {
    let (end, f) = r;
    let bad: Vec<_> = f
        .iter()
        .filter(|x| x.property == "TEST")
        .map(|x| x.summary.clone())
        .collect();
    assert!(bad.is_empty(), "test assertions failed: {bad:#?}");
    assert_eq!(
        end,
        EndKind::Done,
        "execution did not finish normally: {f:#?}"
    );
    f
}
