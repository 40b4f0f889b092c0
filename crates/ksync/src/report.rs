//! Findings: what the checker (or model code) reports.

use serde::Serialize;

/// The kind of a finding, as in the CLI's JSON contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Deadlock,
    LockOrder,
    RecursiveLock,
    SleepInAtomic,
    /// Two unordered accesses to a plain field, one a write.
    DataRace,
    Invariant,
    Leak,
    Panic,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Deadlock => "deadlock",
            FindingKind::LockOrder => "lock-order",
            FindingKind::RecursiveLock => "recursive-lock",
            FindingKind::SleepInAtomic => "sleep-in-atomic",
            FindingKind::DataRace => "data-race",
            FindingKind::Invariant => "invariant",
            FindingKind::Leak => "leak",
            FindingKind::Panic => "panic",
        }
    }
}

/// A check the checker's runtime makes on every program, whatever it models. The
/// model's own checks name their property themselves (`ksync::check`,
/// `ksync::report`); which property of a specification each runtime check verifies
/// is the program's to say ([`PropertyIds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuntimeCheck {
    /// A task acquires a lock it already holds.
    RecursiveLock,
    /// A cycle of lock waits, or blocked tasks when no task can run and no timer is
    /// pending.
    Deadlock,
    /// A cycle in the lock-order graph (lockdep).
    LockOrder,
    /// A task sleeps while it holds a spinlock.
    SleepInAtomic,
    /// Two accesses to a plain field, one a write, that nothing orders.
    DataRace,
    /// A sleeper whose wait condition holds although no wake-up reached it.
    LostWakeup,
    /// A task panicked.
    Panic,
}

impl RuntimeCheck {
    pub const ALL: [RuntimeCheck; 7] = [
        RuntimeCheck::RecursiveLock,
        RuntimeCheck::Deadlock,
        RuntimeCheck::LockOrder,
        RuntimeCheck::SleepInAtomic,
        RuntimeCheck::DataRace,
        RuntimeCheck::LostWakeup,
        RuntimeCheck::Panic,
    ];

    /// The kind its findings are reported as. A lost wake-up breaks a property of the
    /// wait, not of the locks: an invariant.
    pub fn kind(self) -> FindingKind {
        match self {
            RuntimeCheck::RecursiveLock => FindingKind::RecursiveLock,
            RuntimeCheck::Deadlock => FindingKind::Deadlock,
            RuntimeCheck::LockOrder => FindingKind::LockOrder,
            RuntimeCheck::SleepInAtomic => FindingKind::SleepInAtomic,
            RuntimeCheck::DataRace => FindingKind::DataRace,
            RuntimeCheck::LostWakeup => FindingKind::Invariant,
            RuntimeCheck::Panic => FindingKind::Panic,
        }
    }

    /// Its own name: the property id of its findings in a program that names none.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeCheck::RecursiveLock => "recursive-lock",
            RuntimeCheck::Deadlock => "deadlock",
            RuntimeCheck::LockOrder => "lock-order",
            RuntimeCheck::SleepInAtomic => "sleep-in-atomic",
            RuntimeCheck::DataRace => "data-race",
            RuntimeCheck::LostWakeup => "lost-wakeup",
            RuntimeCheck::Panic => "panic",
        }
    }
}

/// The property id each runtime check verifies, in the numbering of the program's
/// specification ([`RuntimeCheck::name`] for a program without one).
pub type PropertyIds = fn(RuntimeCheck) -> &'static str;

/// One finding of one execution.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Property id in the numbering of the program's specification (e.g. `ACC-5` of
    /// the model's `invariants.md`).
    pub property: String,
    /// One line.
    pub summary: String,
    /// Multi-line detail (waits-for cycle, lockdep block).
    pub detail: String,
    /// Task that hit it, if one did.
    pub task: Option<String>,
    /// Lock classes involved.
    pub locks: Vec<String>,
    /// Step index at which it was found.
    pub step: u32,
    /// Kernel function the task was in when it was found (its top frame).
    pub site: Option<&'static str>,
    /// Mechanism marks the execution had set by then ([`crate::mechanism`]): error
    /// returns, waits ended by timeout, injected faults. Sorted, distinct.
    pub tags: Vec<&'static str>,
    /// The runtime check that found it; `None` for a check of the model.
    #[serde(skip)]
    pub check: Option<RuntimeCheck>,
}

/// A lock-order cycle `A --> B --> … --> A` written from its least class on, so that
/// it reads the same whichever acquisition closed it: in one search, in another
/// worker of it, or in `merge` from edges that different shards recorded.
pub fn cycle_from_least(cycle: &str) -> String {
    let mut parts: Vec<&str> = cycle.split(" --> ").collect();
    if parts.len() < 2 || parts.first() != parts.last() {
        return cycle.to_string();
    }
    parts.pop();
    let least = (0..parts.len()).min_by_key(|&i| parts[i]).unwrap_or(0);
    parts.rotate_left(least);
    parts.push(parts[0]);
    parts.join(" --> ")
}

impl Finding {
    pub fn new(kind: FindingKind, property: &str, summary: impl Into<String>) -> Self {
        Finding {
            kind,
            property: property.to_string(),
            summary: summary.into(),
            detail: String::new(),
            task: None,
            locks: Vec::new(),
            step: 0,
            site: None,
            tags: Vec::new(),
            check: None,
        }
    }

    /// A finding of runtime check `check`, under the property id `ids` gives it.
    pub fn of_check(check: RuntimeCheck, ids: PropertyIds, summary: impl Into<String>) -> Self {
        Finding {
            check: Some(check),
            ..Finding::new(check.kind(), ids(check), summary)
        }
    }

    /// The finding's identity: its kind and property plus the mechanism that led to
    /// it — the task and kernel function where it fired, the locks (or wait sites)
    /// involved, the mechanism marks of the execution and, for deadlocks and
    /// lock-order cycles, the cycle itself. Equal executions give equal signatures;
    /// distinct mechanisms behind one property get distinct ones.
    pub fn signature(&self) -> String {
        let mut locks = self.locks.clone();
        locks.sort();
        locks.dedup();
        let mut s = format!("{} {}", self.kind.as_str(), self.property);
        match self.kind {
            FindingKind::Deadlock => {
                // A cycle of waits reads the same from whichever task closed it.
                let what = self
                    .summary
                    .split_once(": ")
                    .map_or(&*self.summary, |x| x.1);
                let mut parts: Vec<&str> = what.split("; ").collect();
                parts.sort_unstable();
                s.push_str(&format!(" [{}]", parts.join("; ")));
            }
            FindingKind::LockOrder => {
                let what = self
                    .summary
                    .split_once(": ")
                    .map_or(&*self.summary, |x| x.1);
                s.push_str(&format!(" [{}]", cycle_from_least(what)));
            }
            FindingKind::DataRace => {
                // Its detail names both sides in a fixed order: whichever access
                // came second reports it.
                s.push_str(&format!(" {} [{}]", locks.join(","), self.detail));
            }
            _ => {
                if let Some(t) = &self.task {
                    s.push_str(&format!(" {t}@{}", self.site.unwrap_or("?")));
                }
                if !locks.is_empty() {
                    s.push_str(&format!(" holding {}", locks.join(",")));
                }
            }
        }
        if self.kind != FindingKind::LockOrder && !self.tags.is_empty() {
            s.push_str(&format!(" after {}", self.tags.join(", ")));
        }
        s
    }

    /// Key under which equal findings of different executions are merged: kind,
    /// property and the locks involved.
    pub fn dedup_key(&self) -> String {
        let mut locks = self.locks.clone();
        locks.sort();
        locks.dedup();
        format!(
            "{}|{}|{}",
            self.kind.as_str(),
            self.property,
            locks.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cycle_reads_the_same_from_every_start() {
        let a = super::cycle_from_least("qdev_mutex --> W_rpm --> qdev_mutex");
        let b = super::cycle_from_least("W_rpm --> qdev_mutex --> W_rpm");
        assert_eq!(a, "W_rpm --> qdev_mutex --> W_rpm");
        assert_eq!(a, b);
        assert_eq!(
            super::cycle_from_least("c --> a --> b --> c"),
            "a --> b --> c --> a"
        );
        // Not a cycle: left as it is.
        assert_eq!(super::cycle_from_least("a --> b"), "a --> b");
    }

    use super::{FindingKind, RuntimeCheck};

    #[test]
    fn runtime_checks_have_distinct_names_and_report_their_kinds() {
        let mut names: Vec<&str> = RuntimeCheck::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RuntimeCheck::ALL.len());
        // A lost wake-up is an invariant of the wait; every other check has its kind.
        assert_eq!(RuntimeCheck::LostWakeup.kind(), FindingKind::Invariant);
        assert_eq!(RuntimeCheck::Deadlock.kind(), FindingKind::Deadlock);
    }
}
