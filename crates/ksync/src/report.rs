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
    /// Two unordered accesses to a plain field, one a write (LK-8).
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
    /// Kernel function the task was in when it was found (its top frame).
    pub site: Option<&'static str>,
    /// Mechanism marks the execution had set by then ([`crate::mechanism`]): error
    /// returns, waits ended by timeout, injected faults. Sorted, distinct.
    pub tags: Vec<&'static str>,
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
                s.push_str(&format!(" [{what}]"));
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
