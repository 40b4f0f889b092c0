//! Draws a [`Diagram`] as SVG: lanes, lock-hold bars, waits, QMI arrows, the failing
//! row. Every element carries a class (`lane`, `hold`, `wait`, `msg`, `event`,
//! `fail`, `cycle`) so the page's style sheet colours it and tests can find it, and a
//! `<title>` with the task's kernel call stack, which a browser shows on hover.

use crate::attrs;
use crate::diagram::{class_of, Diagram, RowKind};
use crate::svg::Writer;

const LEFT: f64 = 64.0;
const TOP: f64 = 46.0;
const LANE_W: f64 = 240.0;
const ROW_H: f64 = 17.0;
const ACCESS_H: f64 = 5.0;
const SLOT_W: f64 = 6.0;
/// Characters of event text that fit beside the bars (11 px monospace ≈ 6.6 px each).
const CHAR_W: f64 = 6.6;

/// Colours of lock classes, given in the order the classes first show in a
/// diagram, so each class of one diagram has its own colour in every lane.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#e15759",
    "#ff9da7", "#bab0ac",
];

fn colour(locks: &[&str], lock: &str) -> &'static str {
    let c = class_of(lock);
    let i = locks.iter().position(|l| *l == c).unwrap_or(0);
    PALETTE[i % PALETTE.len()]
}

fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn f(x: f64) -> String {
    format!("{x:.1}")
}

/// The SVG element of `d` (no XML prolog: it is inlined in HTML, or written alone by
/// [`standalone`]).
pub fn render(d: &Diagram) -> String {
    // Row tops.
    let mut ys = Vec::with_capacity(d.rows.len() + 1);
    let mut y = TOP;
    for r in &d.rows {
        ys.push(y);
        y += if r.kind == RowKind::Access {
            ACCESS_H
        } else {
            ROW_H
        };
    }
    ys.push(y);
    let width = LEFT + LANE_W * d.lanes.len() as f64 + 8.0;
    // The lock classes drawn, for the key under the lanes.
    let mut locks: Vec<&str> = Vec::new();
    for h in &d.holds {
        let c = class_of(&h.lock);
        if !locks.contains(&c) {
            locks.push(c);
        }
    }
    let per_line = ((width - LEFT) / 230.0).max(1.0) as usize;
    let key_lines = locks.len().div_ceil(per_line);
    let key_top = y + 10.0;
    let bottom = key_top + 18.0 * key_lines as f64 + 6.0;
    let row_h = |i: usize| ys[i + 1] - ys[i];
    let lane_x = |l: usize| LEFT + LANE_W * l as f64;
    let slots: Vec<usize> = (0..d.lanes.len())
        .map(|l| {
            d.holds
                .iter()
                .filter(|h| h.lane == l)
                .map(|h| h.slot + 1)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let text_x = |l: usize| lane_x(l) + 6.0 + SLOT_W * slots[l].min(8) as f64 + 4.0;

    let mut w = Writer::new();
    w.open(
        "svg",
        attrs![
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("class", "seq"),
            ("width", f(width)),
            ("height", f(bottom)),
            ("viewBox", format!("0 0 {} {}", f(width), f(bottom))),
            ("font-family", "monospace"),
            ("font-size", "11")
        ],
    );
    w.text("title", attrs![], &d.title);
    w.open("defs", attrs![]);
    w.open(
        "marker",
        attrs![
            ("id", "arrow"),
            ("viewBox", "0 0 10 10"),
            ("refX", 9),
            ("refY", 5),
            ("markerWidth", 7),
            ("markerHeight", 7),
            ("orient", "auto-start-reverse")
        ],
    );
    w.empty(
        "path",
        attrs![("d", "M0,0 L10,5 L0,10 z"), ("fill", "#c0392b")],
    );
    w.close();
    w.close();

    // The failing row, behind everything.
    if let Some(i) = d.fail_row {
        w.empty(
            "rect",
            attrs![
                ("class", "fail"),
                ("x", 0),
                ("y", f(ys[i])),
                ("width", f(width)),
                ("height", f(row_h(i))),
                ("fill", "#fde2e1")
            ],
        );
    }
    // Lanes: header and life line.
    for (l, name) in d.lanes.iter().enumerate() {
        let x = lane_x(l);
        w.open("g", attrs![("class", "lane"), ("data-task", name)]);
        w.empty(
            "rect",
            attrs![
                ("x", f(x + 2.0)),
                ("y", 6),
                ("width", f(LANE_W - 4.0)),
                ("height", 22),
                ("rx", 4),
                (
                    "fill",
                    if name == "DSP" || name == "qmi_wq" {
                        "#e8f0fb"
                    } else {
                        "#eeeeee"
                    }
                ),
                ("stroke", "#888")
            ],
        );
        w.text(
            "text",
            attrs![
                ("x", f(x + LANE_W / 2.0)),
                ("y", 21),
                ("text-anchor", "middle"),
                ("font-weight", "bold")
            ],
            name,
        );
        w.empty(
            "line",
            attrs![
                ("x1", f(x + 6.0)),
                ("y1", f(TOP - 6.0)),
                ("x2", f(x + 6.0)),
                ("y2", f(bottom - 4.0)),
                ("stroke", "#bbb"),
                ("stroke-dasharray", "2,3")
            ],
        );
        w.close();
    }
    // Waits: a hatched box over the lane while the task cannot run.
    for wt in &d.waits {
        let x = lane_x(wt.lane);
        let cls = if wt.in_cycle { "wait cycle" } else { "wait" };
        w.open("g", attrs![("class", cls)]);
        w.text(
            "title",
            attrs![],
            &format!(
                "{} {}{}",
                d.lanes[wt.lane],
                wt.what,
                if wt.in_cycle {
                    " (never ends: the deadlock)"
                } else if wt.ended {
                    ""
                } else {
                    " (still waiting)"
                }
            ),
        );
        w.empty(
            "rect",
            attrs![
                ("x", f(x + 3.0)),
                ("y", f(ys[wt.from])),
                ("width", f(LANE_W - 6.0)),
                ("height", f(ys[wt.to + 1] - ys[wt.from])),
                ("fill", if wt.in_cycle { "#fbd3d0" } else { "#fff6d6" }),
                ("stroke", if wt.in_cycle { "#c0392b" } else { "#d4a017" }),
                ("stroke-dasharray", "4,2")
            ],
        );
        w.close();
    }
    // Lock-hold bars.
    for h in &d.holds {
        let x = lane_x(h.lane) + 6.0 + SLOT_W * h.slot.min(7) as f64;
        let cls = if h.in_cycle { "hold cycle" } else { "hold" };
        w.open("g", attrs![("class", cls), ("data-lock", &h.lock)]);
        w.text(
            "title",
            attrs![],
            &format!(
                "{} holds {} (steps {}–{})",
                d.lanes[h.lane], h.lock, d.rows[h.from].step, d.rows[h.to].step
            ),
        );
        w.empty(
            "rect",
            attrs![
                ("x", f(x)),
                ("y", f(ys[h.from] + 2.0)),
                ("width", f(SLOT_W - 1.0)),
                ("height", f((ys[h.to + 1] - ys[h.from] - 4.0).max(2.0))),
                ("fill", colour(&locks, &h.lock)),
                ("stroke", if h.in_cycle { "#c0392b" } else { "none" }),
                ("stroke-width", if h.in_cycle { 1.5 } else { 0.0 })
            ],
        );
        w.close();
    }
    // Events.
    for (i, r) in d.rows.iter().enumerate() {
        let lane = &d.lanes[r.lane];
        let stack = if r.frames.is_empty() {
            String::new()
        } else {
            format!("\n{}", r.frames.join("\n  < "))
        };
        let held = if r.held.is_empty() {
            String::new()
        } else {
            format!("\nholds {}", r.held.join(", "))
        };
        let tip = format!(
            "step {} @{} ms  {lane}: {}{held}{stack}",
            r.step, r.time_ms, r.what
        );
        let cls = match r.kind {
            RowKind::Event => "event",
            RowKind::Access => "event access",
            RowKind::Block => "event block",
            RowKind::Finding => "event finding",
        };
        w.open("g", attrs![("class", cls)]);
        w.text("title", attrs![], &tip);
        let y = ys[i];
        if r.kind == RowKind::Access {
            w.empty(
                "rect",
                attrs![
                    ("x", f(text_x(r.lane))),
                    ("y", f(y + 1.0)),
                    ("width", 14),
                    ("height", 3),
                    ("fill", "#ccc")
                ],
            );
        } else {
            let room = ((lane_x(r.lane) + LANE_W - text_x(r.lane)) / CHAR_W) as usize;
            let colour = match r.kind {
                RowKind::Finding => "#b00000",
                RowKind::Block => "#8a6d00",
                _ => "#222",
            };
            // A finding may run across the lanes to its right: it is the last row.
            let room = if r.kind == RowKind::Finding {
                ((width - text_x(r.lane)) / CHAR_W) as usize
            } else {
                room
            };
            let label = if r.kind == RowKind::Block {
                format!("blocked: {}", r.what)
            } else {
                r.what.clone()
            };
            w.text(
                "text",
                attrs![
                    ("x", f(text_x(r.lane))),
                    ("y", f(y + 12.0)),
                    ("fill", colour),
                    (
                        "font-style",
                        if r.kind == RowKind::Block {
                            "italic"
                        } else {
                            "normal"
                        }
                    )
                ],
                &truncate(&label, room),
            );
        }
        w.close();
        // Step numbers on the left.
        if r.kind != RowKind::Access {
            w.text(
                "text",
                attrs![
                    ("class", "step"),
                    ("x", f(LEFT - 6.0)),
                    ("y", f(y + 12.0)),
                    ("text-anchor", "end"),
                    ("fill", "#888")
                ],
                &r.step.to_string(),
            );
        }
    }
    // QMI datagrams: arrows between the lanes.
    for m in &d.messages {
        let x1 = lane_x(m.from_lane) + LANE_W / 2.0;
        let x2 = lane_x(m.to_lane) + LANE_W / 2.0;
        let y1 = ys[m.from] + row_h(m.from) / 2.0;
        let y2 = ys[m.to] + row_h(m.to) / 2.0;
        w.open("g", attrs![("class", "msg")]);
        w.text("title", attrs![], &format!("QMI: {}", m.label));
        w.empty(
            "line",
            attrs![
                ("x1", f(x1)),
                ("y1", f(y1)),
                ("x2", f(x2)),
                ("y2", f(y2)),
                ("stroke", "#c0392b"),
                ("stroke-width", 1.5),
                ("marker-end", "url(#arrow)")
            ],
        );
        w.close();
    }
    // Key: one colour per lock class.
    for (i, l) in locks.iter().enumerate() {
        let x = LEFT + 230.0 * (i % per_line) as f64;
        let y = key_top + 18.0 * (i / per_line) as f64;
        w.open("g", attrs![("class", "key")]);
        w.empty(
            "rect",
            attrs![
                ("x", f(x)),
                ("y", f(y + 3.0)),
                ("width", 10),
                ("height", 10),
                ("fill", colour(&locks, l))
            ],
        );
        w.text(
            "text",
            attrs![("x", f(x + 14.0)), ("y", f(y + 12.0)), ("fill", "#444")],
            &truncate(l, 32),
        );
        w.close();
    }
    w.close();
    w.finish()
}

/// A standalone SVG file.
pub fn standalone(d: &Diagram) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        render(d)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::{build, Window};
    use ksync::rt::TraceEntry;

    fn ev(step: u32, task: &str, what: &str, held: &[&str], blocked: bool) -> TraceEntry {
        TraceEntry {
            blocked,
            ..crate::diagram::test_event(step, task, what, held)
        }
    }

    #[test]
    fn draws_lanes_bars_waits_arrows_and_the_failing_row() {
        let t = vec![
            ev(
                0,
                "DSP",
                "DSP tx req txn 1 enable card 0 (46 bytes)",
                &[],
                false,
            ),
            ev(
                1,
                "qmi_wq",
                "QMI rx req txn 1 enable card 0 → h",
                &[],
                false,
            ),
            ev(2, "qmi_wq", "mutex_lock(qdev_mutex)", &[], false),
            ev(
                3,
                "T_hub",
                "mutex_lock(&udev->dev.mutex/2(1-1))",
                &[],
                false,
            ),
            ev(
                4,
                "qmi_wq",
                "waits for &udev->dev.mutex/2(1-1) held by T_hub",
                &["qdev_mutex"],
                true,
            ),
            ev(
                5,
                "T_hub",
                "waits for qdev_mutex held by qmi_wq",
                &["&udev->dev.mutex/2(1-1)"],
                true,
            ),
            ev(
                5,
                "T_hub",
                "!! deadlock LK-2: T_hub waits for …",
                &[],
                false,
            ),
        ];
        let cycle = vec!["qdev_mutex".to_string(), "&udev->dev.mutex/2".to_string()];
        let d = build(
            "v1/x",
            &t,
            &Window {
                last: u32::MAX,
                rows: 100,
            },
            &cycle,
        );
        let s = render(&d);
        assert_eq!(s.matches("class=\"lane\"").count(), 3);
        assert_eq!(s.matches("class=\"hold cycle\"").count(), 2);
        assert_eq!(s.matches("class=\"wait cycle\"").count(), 2);
        assert_eq!(s.matches("class=\"msg\"").count(), 1);
        assert_eq!(s.matches("class=\"fail\"").count(), 1);
        assert!(s.contains("&amp;udev-&gt;dev.mutex/2"), "names are escaped");
        assert!(
            s.contains("handle_uaudio_stream_req"),
            "the stack is in the hover text"
        );
        assert!(standalone(&d).starts_with("<?xml"));
    }

    #[test]
    fn long_text_is_cut_to_its_lane() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        let locks = ["m", "n"];
        assert_eq!(
            colour(&locks, "m(1)"),
            colour(&locks, "m(2)"),
            "one colour per class"
        );
        assert_ne!(colour(&locks, "m"), colour(&locks, "n"));
    }
}
