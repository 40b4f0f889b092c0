//! A counterexample as a sequence diagram, before any drawing: a lane per task, a row
//! per event, the intervals each lock is held, the waits, the QMI messages between
//! the DSP and the service, the failing row and the locks of the cycle.
//! `diagram_svg` draws it.

use ksync::rt::TraceEntry;

/// How a row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A step of its task (lock, wake, QMI message, note).
    Event,
    /// A plain memory access: a short row without text.
    Access,
    /// The task cannot run from here (a contended lock, a sleep).
    Block,
    /// The finding.
    Finding,
}

pub struct Row {
    pub lane: usize,
    pub step: u32,
    pub what: String,
    pub frames: Vec<&'static str>,
    pub held: Vec<String>,
    pub kind: RowKind,
    pub time_ms: u64,
}

/// A lock held by a lane from row `from` to row `to` (inclusive; `to` may be the
/// last row when it is still held at the end).
#[derive(Debug, PartialEq, Eq)]
pub struct Hold {
    pub lane: usize,
    pub lock: String,
    /// Position of the bar among the lane's locks (stable per lock).
    pub slot: usize,
    pub from: usize,
    pub to: usize,
    /// Part of the deadlock or lock-order cycle.
    pub in_cycle: bool,
}

/// A task that cannot run from row `from` until row `to` (`ended`: it ran again).
#[derive(Debug, PartialEq, Eq)]
pub struct Wait {
    pub lane: usize,
    pub what: String,
    pub from: usize,
    pub to: usize,
    pub ended: bool,
    /// A wait of the deadlock: it never ends.
    pub in_cycle: bool,
}

/// A QMI datagram from one lane's row to another's.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    pub from_lane: usize,
    pub from: usize,
    pub to_lane: usize,
    pub to: usize,
    pub label: String,
}

pub struct Diagram {
    pub title: String,
    pub lanes: Vec<String>,
    pub rows: Vec<Row>,
    pub holds: Vec<Hold>,
    pub waits: Vec<Wait>,
    pub messages: Vec<Message>,
    /// Row of the finding, if the trace shows it.
    pub fail_row: Option<usize>,
    /// Events before the window (not drawn; `replay` shows them).
    pub skipped: usize,
}

/// The lock class of a held-lock name: `&udev->dev.mutex/2(1-1.1)` → `&udev->dev.mutex/2`.
pub fn class_of(name: &str) -> &str {
    match name.find('(') {
        Some(i) if name.ends_with(')') && i > 0 => &name[..i],
        _ => name,
    }
}

/// A plain field access (`read x`, `write y`): drawn small, without text.
fn is_access(what: &str) -> bool {
    what.starts_with("read ") || what.starts_with("write ")
}

/// Options of [`build`].
pub struct Window {
    /// Draw events up to this step (the finding's), or to the end.
    pub last: u32,
    /// At most this many rows, the last ones before `last`.
    pub rows: usize,
}

/// Lays out `trace` (set-up events under `boot` left out) as a diagram; `cycle`: lock
/// classes of the deadlock or lock-order cycle, to highlight.
pub fn build(title: &str, trace: &[TraceEntry], w: &Window, cycle: &[String]) -> Diagram {
    // Only a deadlock's trace runs to the end; its open waits are the cycle.
    let deadlock = w.last == u32::MAX && !cycle.is_empty();
    let shown: Vec<&TraceEntry> = trace
        .iter()
        .filter(|e| e.step <= w.last && e.frames.first() != Some(&"boot"))
        .collect();
    let skip = shown.len().saturating_sub(w.rows);
    let shown = &shown[skip..];
    let mut lanes: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for e in shown {
        // A check at the end of the execution (a leak) belongs to no task.
        let task = if e.task.is_empty() { "[end]" } else { &e.task };
        let lane = match lanes.iter().position(|l| l == task) {
            Some(i) => i,
            None => {
                lanes.push(task.to_string());
                lanes.len() - 1
            }
        };
        let kind = if e.blocked {
            RowKind::Block
        } else if e.what.starts_with("!! ") {
            RowKind::Finding
        } else if is_access(&e.what) {
            RowKind::Access
        } else {
            RowKind::Event
        };
        let what = explore::report::finding_line(&e.what);
        let what = what.strip_prefix("!! ").unwrap_or(&what).to_string();
        rows.push(Row {
            lane,
            step: e.step,
            what,
            frames: e.frames.clone(),
            held: e.held.clone(),
            kind,
            time_ms: e.time_ms,
        });
    }
    let holds = holds(&rows, lanes.len(), cycle);
    let waits = waits(&rows, deadlock);
    let messages = messages(&rows);
    let fail_row = rows.iter().position(|r| r.kind == RowKind::Finding);
    Diagram {
        title: title.to_string(),
        lanes,
        rows,
        holds,
        waits,
        messages,
        fail_row,
        skipped: skip,
    }
}

/// What a lane holds after its event `r`: the next event's held list when there is
/// one (each event records the locks held before it), else the event's own list
/// updated by what it did.
fn held_after(r: &Row, next: Option<&Row>) -> Vec<String> {
    if let Some(n) = next {
        return n.held.clone();
    }
    let mut h = r.held.clone();
    for (prefix, take) in [
        ("mutex_lock(", true),
        ("spin_lock(", true),
        ("unlock(", false),
    ] {
        if let Some(rest) = r.what.strip_prefix(prefix) {
            let name = rest.strip_suffix(')').unwrap_or(rest).to_string();
            if take && r.kind == RowKind::Event {
                h.push(name);
            } else if !take {
                h.retain(|x| *x != name);
            }
        }
    }
    h
}

fn holds(rows: &[Row], nlanes: usize, cycle: &[String]) -> Vec<Hold> {
    let mut out = Vec::new();
    let last = rows.len().saturating_sub(1);
    for lane in 0..nlanes {
        // A finding's row carries no held list: it is not a step of the lane.
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].lane == lane && rows[i].kind != RowKind::Finding)
            .collect();
        let mut slots: Vec<String> = Vec::new();
        // Open bars: lock → starting row.
        let mut open: Vec<(String, usize)> = Vec::new();
        // Locks held before the window starts begin at the top.
        if let Some(&first) = idx.first() {
            for l in &rows[first].held {
                open.push((l.clone(), 0));
            }
        }
        for (k, &i) in idx.iter().enumerate() {
            let after = held_after(&rows[i], idx.get(k + 1).map(|&j| &rows[j]));
            // Bars that end at this event.
            let mut still = Vec::new();
            for (l, from) in open.drain(..) {
                if after.contains(&l) {
                    still.push((l, from));
                } else {
                    out.push(bar(&mut slots, lane, l, from, i, cycle));
                }
            }
            open = still;
            for l in after {
                if !open.iter().any(|(x, _)| *x == l) {
                    open.push((l, i));
                }
            }
        }
        for (l, from) in open {
            out.push(bar(&mut slots, lane, l, from, last, cycle));
        }
    }
    out
}

fn bar(
    slots: &mut Vec<String>,
    lane: usize,
    lock: String,
    from: usize,
    to: usize,
    cycle: &[String],
) -> Hold {
    let slot = match slots.iter().position(|s| *s == lock) {
        Some(s) => s,
        None => {
            slots.push(lock.clone());
            slots.len() - 1
        }
    };
    let in_cycle = cycle.iter().any(|c| c == class_of(&lock));
    Hold {
        lane,
        lock,
        slot,
        from,
        to,
        in_cycle,
    }
}

fn waits(rows: &[Row], deadlock: bool) -> Vec<Wait> {
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.kind != RowKind::Block {
            continue;
        }
        let next = (i + 1..rows.len())
            .find(|&j| rows[j].lane == r.lane && rows[j].kind != RowKind::Finding);
        out.push(Wait {
            lane: r.lane,
            what: r.what.clone(),
            from: i,
            to: next.unwrap_or(rows.len().saturating_sub(1)),
            ended: next.is_some(),
            in_cycle: deadlock && next.is_none(),
        });
    }
    out
}

/// The key of a QMI send or receive: (is a send, what it carries).
fn qmi_key(what: &str) -> Option<(bool, String)> {
    let txn = |rest: &str| -> String {
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("")
            .to_string()
    };
    let pairs: [(&str, bool, &str); 9] = [
        ("DSP tx req txn ", true, "req"),
        ("DSP tx raw datagram txn ", true, "req"),
        ("QMI rx req txn ", false, "req"),
        ("QMI tx resp txn ", true, "resp"),
        ("DSP rx resp txn ", false, "resp"),
        ("QMI tx ind txn ", true, "ind"),
        ("DSP rx ind txn ", false, "ind"),
        ("name service tx ", true, "ctrl"),
        ("QMI rx ctrl ", false, "ctrl"),
    ];
    for (prefix, send, kind) in pairs {
        if let Some(rest) = what.strip_prefix(prefix) {
            let key = match kind {
                "ctrl" => format!("ctrl {}", rest.split(' ').next().unwrap_or("")),
                "ind" => "ind".to_string(),
                k => format!("{k} {}", txn(rest)),
            };
            return Some((send, key));
        }
    }
    None
}

/// Each receive matched with the earliest earlier unmatched send of the same key.
fn messages(rows: &[Row]) -> Vec<Message> {
    let mut pending: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let Some((send, key)) = qmi_key(&r.what) else {
            continue;
        };
        if send {
            pending.push((key, i));
        } else if let Some(k) = pending.iter().position(|(x, _)| *x == key) {
            let (_, from) = pending.remove(k);
            let label = rows[from]
                .what
                .split(" (")
                .next()
                .unwrap_or(&rows[from].what)
                .to_string();
            out.push(Message {
                from_lane: rows[from].lane,
                from,
                to_lane: r.lane,
                to: i,
                label,
            });
        }
    }
    out
}

/// The lock classes a finding's cycle runs through: from a lock-order summary
/// (`… cycle: A --> B --> A`) or the waits of a deadlock (`X waits for L held by Y`).
pub fn cycle_classes(kind: ksync::FindingKind, summary: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match kind {
        ksync::FindingKind::LockOrder => {
            let chain = summary.rsplit_once(": ").map_or(summary, |x| x.1);
            for c in chain.split(" --> ") {
                out.push(c.trim().to_string());
            }
        }
        ksync::FindingKind::Deadlock => {
            for part in summary.split("; ") {
                if let Some((_, rest)) = part.split_once(" waits for ") {
                    if let Some((lock, _)) = rest.split_once(" held by ") {
                        out.push(class_of(lock).to_string());
                    }
                }
            }
        }
        _ => {}
    }
    out.dedup();
    out
}

/// A trace event for tests: `task` does `what` holding `held`, inside the frames
/// `process_one_work > handle_uaudio_stream_req`.
#[cfg(test)]
pub(crate) fn test_event(step: u32, task: &str, what: &str, held: &[&str]) -> TraceEntry {
    TraceEntry {
        step,
        task: task.into(),
        frames: vec!["process_one_work", "handle_uaudio_stream_req"],
        what: what.into(),
        held: held.iter().map(|s| s.to_string()).collect(),
        ends: Vec::new(),
        blocked: false,
        time_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(step: u32, task: &str, what: &str, held: &[&str]) -> TraceEntry {
        test_event(step, task, what, held)
    }

    fn all() -> Window {
        Window {
            last: u32::MAX,
            rows: usize::MAX,
        }
    }

    #[test]
    fn a_lock_is_held_from_its_acquire_to_its_release() {
        let t = vec![
            ev(0, "A", "mutex_lock(m)", &[]),
            ev(1, "B", "read x", &[]),
            ev(2, "A", "read y", &["m"]),
            ev(3, "A", "unlock(m)", &["m"]),
            ev(4, "A", "read z", &[]),
        ];
        let d = build("t", &t, &all(), &["m".into()]);
        assert_eq!(d.lanes, ["A", "B"]);
        assert_eq!(
            d.holds,
            [Hold {
                lane: 0,
                lock: "m".into(),
                slot: 0,
                from: 0,
                to: 3,
                in_cycle: true
            }]
        );
    }

    #[test]
    fn a_lock_held_at_the_end_runs_to_the_last_row() {
        let t = vec![
            ev(0, "A", "mutex_lock(m(1))", &[]),
            ev(1, "B", "read x", &[]),
        ];
        let d = build("t", &t, &all(), &[]);
        assert_eq!(d.holds.len(), 1);
        assert_eq!((d.holds[0].from, d.holds[0].to), (0, 1));
        assert!(!d.holds[0].in_cycle);
    }

    #[test]
    fn blocked_rows_become_waits_until_the_task_runs_again() {
        let mut b = ev(1, "B", "waits for m held by A", &[]);
        b.blocked = true;
        let t = vec![
            ev(0, "A", "mutex_lock(m)", &[]),
            b,
            ev(2, "A", "unlock(m)", &["m"]),
            ev(3, "B", "mutex_lock(m)", &[]),
        ];
        let d = build("t", &t, &all(), &[]);
        assert_eq!(
            d.waits,
            [Wait {
                lane: 1,
                what: "waits for m held by A".into(),
                from: 1,
                to: 3,
                ended: true,
                in_cycle: false
            }]
        );
    }

    #[test]
    fn qmi_sends_meet_their_receives() {
        let t = vec![
            ev(0, "DSP", "DSP tx req txn 2 disable card 0 (46 bytes)", &[]),
            ev(
                1,
                "qmi_wq",
                "QMI rx req txn 2 disable card 0 pcm 0 dir 0 → h",
                &[],
            ),
            ev(
                2,
                "T_hub",
                "QMI tx ind txn 0 to 5:0xd: DISCONNECT slot 2 (25 bytes)",
                &[],
            ),
            ev(
                3,
                "DSP",
                "DSP rx ind txn 0: DISCONNECT slot 2 controller Some(0)",
                &[],
            ),
        ];
        let d = build("t", &t, &all(), &[]);
        assert_eq!(d.messages.len(), 2);
        assert_eq!((d.messages[0].from_lane, d.messages[0].to_lane), (0, 1));
        assert_eq!(d.messages[0].label, "DSP tx req txn 2 disable card 0");
        assert_eq!((d.messages[1].from, d.messages[1].to), (2, 3));
    }

    #[test]
    fn the_window_keeps_the_last_rows_and_drops_the_set_up() {
        let mut t = vec![ev(0, "main", "mutex_lock(x)", &[])];
        t[0].frames = vec!["boot"];
        for s in 1..10 {
            t.push(ev(s, "A", "read x", &[]));
        }
        let d = build("t", &t, &Window { last: 7, rows: 3 }, &[]);
        assert_eq!(d.rows.len(), 3);
        assert_eq!(d.rows[0].step, 5);
        assert_eq!(d.skipped, 4);
        assert_eq!(d.lanes, ["A"]);
    }

    #[test]
    fn cycles_name_their_lock_classes() {
        use ksync::FindingKind::*;
        assert_eq!(
            cycle_classes(
                LockOrder,
                "possible circular locking dependency: a --> b/2 --> a"
            ),
            ["a", "b/2", "a"]
        );
        assert_eq!(
            cycle_classes(
                Deadlock,
                "deadlock: T in g waits for q held by W; W in f waits for &u/2(1-1.1) held by T"
            ),
            ["q", "&u/2"]
        );
    }
}
