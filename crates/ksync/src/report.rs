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
            FindingKind::Invariant => "invariant",
            FindingKind::Leak => "leak",
            FindingKind::Panic => "panic",
        }
    }
}

/// One finding of one execution.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Property id of `invariants.md` (e.g. `LK-2`, `ACC-5`).
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
        }
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
