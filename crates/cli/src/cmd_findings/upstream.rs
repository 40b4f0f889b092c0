//! `findings --upstream`: docs/upstream-report.md from its template.
//!
//! The prose (affected functions, the interleaving, the consequence, the fix) is written
//! by hand in `upstream_report.md`, one section per cause, each opened by a line
//! `<!-- cause: KEY SCENARIO -->`. The generator keeps a section only if the current run
//! shows that cause in the merged design, numbers the kept sections, and fills in what
//! must come from the run: `{{evidence}}` (ids and the replay command of the shortest
//! counterexample, from SCENARIO when it has one) and `{{defect-list}}`. A v2 kernel
//! defect without a section, and a v2 mechanism no rule explains, get a generated entry,
//! so the report never silently omits what the tool shows.

use super::{for_cause, loose, pick, Pair, Rec};
use model::findings::{self, Class};
use std::fmt::Write as _;

/// The design the report is about: the one merged upstream.
const MERGED: &str = "v2-offload-spinlock";
const TEMPLATE: &str = include_str!("upstream_report.md");
const SECTION: &str = "<!-- cause: ";
const APPENDIX: &str = "<!-- appendix -->";

struct Section<'a> {
    key: &'a str,
    /// The scenario, and optionally the property, whose counterexample to show.
    scenario: Option<&'a str>,
    property: Option<&'a str>,
    body: &'a str,
}

/// Splits the template into preamble, cause sections and appendix.
fn split(t: &str) -> (&str, Vec<Section<'_>>, &str) {
    let (main, appendix) = t.split_once(APPENDIX).unwrap_or((t, ""));
    let mut parts = main.split(SECTION);
    let pre = parts.next().unwrap_or("");
    let secs = parts
        .map(|p| {
            let (head, body) = p.split_once("-->").unwrap_or((p, ""));
            let mut w = head.split_whitespace();
            Section {
                key: w.next().unwrap_or(""),
                scenario: w.next(),
                property: w.next(),
                body: body.trim_start_matches('\n'),
            }
        })
        .collect();
    (pre, secs, appendix)
}

fn scenarios(rs: &[&Rec]) -> Vec<String> {
    let mut v: Vec<String> = rs.iter().map(|r| r.scenario.clone()).collect();
    v.sort();
    v.dedup();
    v
}

fn evidence(rs: &[&Rec], scenario: Option<&str>, property: Option<&str>) -> String {
    let in_scenario: Vec<&Rec> = rs
        .iter()
        .copied()
        .filter(|r| Some(r.scenario.as_str()) == scenario)
        .collect();
    let with_property: Vec<&Rec> = in_scenario
        .iter()
        .copied()
        .filter(|r| Some(r.property.as_str()) == property)
        .collect();
    let shown = pick(&with_property)
        .or_else(|| pick(&in_scenario))
        .or_else(|| pick(rs));
    let ids: Vec<String> = rs.iter().map(|r| format!("`{}`", r.short_id())).collect();
    let mut s = format!(
        "**What the checker shows** ({MERGED}, {} finding(s) in {} scenario(s)): {}.\n",
        rs.len(),
        scenarios(rs).len(),
        ids.join(", ")
    );
    if let Some(r) = shown {
        let _ = write!(
            s,
            "\nReproduce (`{}`):\n\n```\nusb-offload explain {}\nusb-offload replay {}\n```\n",
            r.summary, r.id, r.replay
        );
    }
    s
}

pub fn render(pairs: &[Pair]) -> String {
    let (pre, secs, appendix) = split(TEMPLATE);
    let mut list = String::new();
    let mut body = String::new();
    let mut n = 0;
    let mut written = Vec::new();
    for sec in &secs {
        written.push(sec.key);
        let rs = for_cause(pairs, MERGED, sec.key);
        if rs.is_empty() {
            // Only what the tool shows: a cause the run does not reach is left out.
            continue;
        }
        n += 1;
        let title = findings::cause(sec.key).map_or(sec.key, |c| c.title);
        let _ = writeln!(list, "{n}. [{title}](#{n}) ({} finding(s))", rs.len());
        body.push_str(
            &sec.body
                .replace("{{n}}", &n.to_string())
                .replace("{{evidence}}", &evidence(&rs, sec.scenario, sec.property)),
        );
    }
    // Kernel defects of the merged design that nobody has written up yet.
    for c in findings::causes() {
        if c.class != Class::KernelDefect || written.contains(&c.key) {
            continue;
        }
        let rs = for_cause(pairs, MERGED, c.key);
        if rs.is_empty() {
            continue;
        }
        n += 1;
        let _ = writeln!(
            list,
            "{n}. [{}](#{n}) ({} finding(s), not yet written up)",
            c.title,
            rs.len()
        );
        let _ = writeln!(
            body,
            "<a id=\"{n}\"></a>\n## {n}. {}\n\n*Not yet written up for maintainers.* {}\n\n{}\n",
            c.title,
            c.explanation,
            evidence(&rs, None, None)
        );
    }
    let lost = loose(pairs, MERGED);
    if !lost.is_empty() {
        let _ = writeln!(
            body,
            "## Not yet classified\n\nThese {MERGED} mechanisms match no rule (or two) of `crates/model/src/findings.rs`; they are listed so that nothing the checker shows is left out.\n"
        );
        for r in lost {
            let _ = writeln!(body, "* `{}`: `{}`", r.id, r.signature);
        }
        body.push('\n');
    }
    let mut s = pre.replace("{{defect-list}}", &list);
    s.push_str(&body);
    s.push_str(appendix.trim_start_matches('\n'));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_sections_name_known_kernel_defects() {
        let (_, secs, _) = split(TEMPLATE);
        assert!(!secs.is_empty());
        for s in &secs {
            let c = findings::cause(s.key).unwrap_or_else(|| panic!("unknown cause {}", s.key));
            assert_eq!(c.class, Class::KernelDefect, "{}", s.key);
            assert!(
                s.body.contains("{{evidence}}"),
                "{} has no evidence slot",
                s.key
            );
        }
    }

    #[test]
    fn a_cause_the_run_does_not_show_is_left_out() {
        let pairs = super::super::parse(
            r#"{"design":"v2-offload-spinlock","scenario":"ring-free-notify","verdict":"fail","findings":[{"id":"v2-offload-spinlock/ring-free-notify/SB-6#1","kind":"invariant","property":"SB-6","summary":"x","signature":"invariant SB-6 T_sys@uaudio_sideband_notifier","replay":"uo2.t","occurrences":1}]}"#,
        )
        .unwrap();
        let out = render(&pairs);
        assert!(out.contains("uaudio_sideband_notifier compares endpoint numbers"));
        assert!(out.contains("usb-offload replay uo2.t"));
        assert!(!out.contains("## 2."), "only one section expected");
    }
}
