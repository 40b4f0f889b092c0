//! The main job's human output: a scenario × design matrix, the distinct findings one
//! line each, a legend of the property ids in use, and the exit code with its reason.
//! Short enough for two screens; `check --details` and `explain` give the rest.

use crate::properties;
use crate::suite::PairResult;
use crate::term;
use explore::{Found, Verdict};
use model::Design;
use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

/// A line of the findings list is cut to about this width (the scenario list shrinks).
const LINE_WIDTH: usize = 190;

/// `pass`, `FAIL` or `incomplete`: the failing verdict is the one to spot.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Incomplete => "incomplete",
    }
}

/// A distinct finding of the suite: one mechanism (signature) of one design, with
/// the scenarios it shows in.
pub struct Distinct<'a> {
    /// The first occurrence (in suite order); its id names the group.
    pub first: &'a Found,
    /// The pair of the first occurrence.
    pub pair: &'a PairResult,
    pub scenarios: Vec<&'static str>,
}

/// Groups the findings of `results` by design and mechanism, in suite order.
pub fn distinct(results: &[PairResult]) -> Vec<Distinct<'_>> {
    let mut out: Vec<Distinct> = Vec::new();
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    for r in results {
        for f in &r.report.findings {
            match index.get(&(r.design.name(), f.signature.as_str())) {
                Some(&i) => {
                    if !out[i].scenarios.contains(&r.scenario.name) {
                        out[i].scenarios.push(r.scenario.name);
                    }
                }
                None => {
                    index.insert((r.design.name(), f.signature.as_str()), out.len());
                    out.push(Distinct {
                        first: f,
                        pair: r,
                        scenarios: vec![r.scenario.name],
                    });
                }
            }
        }
    }
    out
}

/// A family of findings: one mechanism told apart from its callers — the same
/// property firing in the same kernel functions, whichever task ran them, whatever
/// locks it held and in whichever design. The main output lists one line per family.
pub struct Family<'a> {
    /// The first occurrence (in suite order); its id names the family.
    pub first: &'a Found,
    pub pair: &'a PairResult,
    /// Where it fires, in a few words (the functions, locks or fields involved).
    pub site: String,
    pub designs: Vec<Design>,
    pub scenarios: Vec<&'static str>,
    /// Distinct findings (design × mechanism) in the family.
    pub variants: usize,
}

/// The function of a deadlock clause (`T in f waits for …` → `f`).
fn function_after_in(clause: &str) -> &str {
    // `T in f waits for …` / `T in f sleeps on …`: the function follows the task.
    clause
        .split_once(" in ")
        .map_or("", |x| x.1)
        .split([' ', ':'])
        .next()
        .unwrap_or("")
}

/// Where a finding fires, without the task names: the family key.
pub fn site(f: &ksync::Finding) -> String {
    use ksync::FindingKind as K;
    match f.kind {
        K::Deadlock => {
            let what = f.summary.split_once(": ").map_or(&*f.summary, |x| x.1);
            let mut parts: Vec<String> = what
                .split("; ")
                .filter_map(|c| {
                    let func = function_after_in(c);
                    if let Some((_, rest)) = c.split_once(" waits for ") {
                        let lock = rest.split(" held by ").next().unwrap_or(rest);
                        Some(format!("{} in {func}", crate::diagram::class_of(lock)))
                    } else if let Some((_, rest)) = c.split_once(" sleeps on ") {
                        let q = rest.split(' ').next().unwrap_or(rest);
                        Some(format!(
                            "sleep on {} in {func}",
                            crate::diagram::class_of(q)
                        ))
                    } else {
                        None
                    }
                })
                .collect();
            parts.sort();
            parts.join(" / ")
        }
        K::LockOrder => f
            .summary
            .rsplit_once(": ")
            .map_or(f.summary.clone(), |x| x.1.to_string()),
        K::DataRace => {
            let mut sides: Vec<&str> = f
                .detail
                .trim()
                .split("; ")
                .map(|s| s.split_once(' ').map_or(s, |x| x.1))
                .collect();
            sides.sort_unstable();
            format!("{}: {}", f.locks.join(","), sides.join(" / "))
        }
        _ => f.site.map(|s| format!("in {s}")).unwrap_or_default(),
    }
}

/// Groups the findings of `results` into families: by property (in the order of the
/// specification), then in suite order.
pub fn families(results: &[PairResult]) -> Vec<Family<'_>> {
    let mut fams = families_in_suite_order(results);
    let mut ids: Vec<String> = fams
        .iter()
        .map(|f| f.first.finding.property.clone())
        .collect();
    properties::sort_ids(&mut ids);
    ids.dedup();
    fams.sort_by_key(|f| ids.iter().position(|p| *p == f.first.finding.property));
    fams
}

fn families_in_suite_order(results: &[PairResult]) -> Vec<Family<'_>> {
    let mut out: Vec<Family> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<(&str, &str), ()> = HashMap::new();
    for r in results {
        for f in &r.report.findings {
            let site = site(&f.finding);
            let key = format!("{} {} {site}", f.finding.kind.as_str(), f.finding.property);
            let i = *index.entry(key).or_insert_with(|| {
                out.push(Family {
                    first: f,
                    pair: r,
                    site,
                    designs: Vec::new(),
                    scenarios: Vec::new(),
                    variants: 0,
                });
                out.len() - 1
            });
            let fam = &mut out[i];
            if !fam.designs.contains(&r.design) {
                fam.designs.push(r.design);
            }
            if !fam.scenarios.contains(&r.scenario.name) {
                fam.scenarios.push(r.scenario.name);
            }
            if seen
                .insert((r.design.name(), f.signature.as_str()), ())
                .is_none()
            {
                fam.variants += 1;
            }
        }
    }
    out
}

/// The whole summary: header, matrix, findings, legend, exit line.
pub fn format(results: &[PairResult], wall: Duration, exit: u8) -> String {
    let mut o = String::new();
    o.push_str(&header(results, wall));
    o.push('\n');
    o.push_str(&matrix(results));
    let fams = families(results);
    if !fams.is_empty() {
        o.push('\n');
        o.push_str(&findings(&fams));
        o.push('\n');
        o.push_str(&legend(results));
    }
    o.push('\n');
    o.push_str(&exit_line(results, exit));
    o.push('\n');
    o
}

/// The first line: what ran, how many executions, how long.
pub fn header(results: &[PairResult], wall: Duration) -> String {
    let execs: u64 = results.iter().map(|r| r.report.executions).sum();
    let searching: f64 = results.iter().map(|r| r.report.elapsed.as_secs_f64()).sum();
    let designs = columns(results).len();
    let scenarios = rows(results).len();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} × {}: {}, {} executions, {:.1} s wall ({:.1} s searching)\n",
        plural(designs, "design", "designs"),
        plural(scenarios, "scenario", "scenarios"),
        plural(results.len(), "pair", "pairs"),
        execs,
        wall.as_secs_f64(),
        searching
    )
}

fn columns(results: &[PairResult]) -> Vec<Design> {
    let mut v: Vec<Design> = Vec::new();
    for r in results {
        if !v.contains(&r.design) {
            v.push(r.design);
        }
    }
    v
}

fn rows(results: &[PairResult]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for r in results {
        if !v.contains(&r.scenario.name) {
            v.push(r.scenario.name);
        }
    }
    v
}

/// The text of one cell: `pass`, `incomplete`, or `FAIL n` with n distinct findings.
pub fn cell(r: &PairResult) -> String {
    match r.report.verdict() {
        Verdict::Fail => format!("FAIL {}", r.report.findings.len()),
        v => verdict_word(v).to_string(),
    }
}

/// Scenarios as rows, designs as columns.
pub fn matrix(results: &[PairResult]) -> String {
    let cols = columns(results);
    let rows = rows(results);
    let w0 = rows.iter().map(|s| s.len()).max().unwrap_or(8).max(8);
    let widths: Vec<usize> = cols.iter().map(|d| d.name().len().max(10)).collect();
    let mut o = String::new();
    let _ = write!(o, "{:<w0$}", "scenario");
    for (d, w) in cols.iter().zip(&widths) {
        let _ = write!(o, "  {:<w$}", d.name());
    }
    o.push('\n');
    for s in &rows {
        let mut line = format!("{s:<w0$}");
        for (d, w) in cols.iter().zip(&widths) {
            let c = results
                .iter()
                .find(|r| r.design == *d && r.scenario.name == *s)
                .map(cell)
                .unwrap_or_else(|| "-".into());
            let _ = write!(line, "  {}", term::verdict(&c, *w));
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
    o
}

/// Designs by their short tag (`v0`, `v1`, …), the part of the name before its first `-`.
pub fn design_tags(ds: &[Design]) -> String {
    ds.iter()
        .map(|d| d.name().split('-').next().unwrap_or(d.name()))
        .collect::<Vec<_>>()
        .join(",")
}

/// One line per family: id, kind, property with its name, where it fires, the
/// designs and scenarios it shows in.
pub fn findings(fams: &[Family]) -> String {
    let mut o = String::new();
    let variants: usize = fams.iter().map(|f| f.variants).sum();
    let _ = writeln!(
        o,
        "{} finding(s) in {} families (`usb-offload explain ID` shows one with its counterexample, `check --details` every one):",
        variants,
        fams.len()
    );
    let wid = fams.iter().map(|g| g.first.id.len()).max().unwrap_or(0);
    let wkind = fams
        .iter()
        .map(|g| g.first.finding.kind.as_str().len())
        .max()
        .unwrap_or(0);
    for g in fams {
        let fi = &g.first.finding;
        let lead = format!(
            "  {:<wid$}  {:<wkind$}  {}",
            g.first.id,
            fi.kind.as_str(),
            properties::labelled(&fi.property)
        );
        let place = format!(
            "[{} · {}]",
            design_tags(&g.designs),
            scenario_list(&g.scenarios, 40)
        );
        // The site tells the lines of one property apart; it comes last and is cut
        // only where the line would grow past its width.
        let room = LINE_WIDTH.saturating_sub(lead.chars().count() + place.chars().count() + 4);
        let site = if g.site.is_empty() {
            String::new()
        } else if g.site.chars().count() > room {
            let cut: String = g.site.chars().take(room.saturating_sub(1)).collect();
            format!("  {cut}…")
        } else {
            format!("  {}", g.site)
        };
        let _ = writeln!(
            o,
            "{}{}  {place}{site}",
            term::bold(&lead[..2 + wid]),
            &lead[2 + wid..]
        );
    }
    o
}

/// `a, b, c`; when they do not fit in `room` characters, their number.
fn scenario_list(scenarios: &[&str], room: usize) -> String {
    let all = scenarios.join(", ");
    if all.len() <= room || scenarios.len() == 1 {
        return all;
    }
    if scenarios.len() > 3 {
        return format!("{} scenarios", scenarios.len());
    }
    let mut s = String::new();
    for (i, sc) in scenarios.iter().enumerate() {
        let rest = scenarios.len() - i;
        let more = format!(" +{rest} more");
        let sep = if i == 0 { "" } else { ", " };
        let need = sep.len() + sc.len() + if rest > 1 { more.len() } else { 0 };
        if i > 0 && s.len() + need > room {
            s.push_str(&more);
            return s;
        }
        s.push_str(sep);
        s.push_str(sc);
    }
    s
}

/// The property ids that occur, with their names, wrapped.
pub fn legend(results: &[PairResult]) -> String {
    let mut ids: Vec<String> = Vec::new();
    for r in results {
        for f in &r.report.findings {
            if !ids.contains(&f.finding.property) {
                ids.push(f.finding.property.clone());
            }
        }
    }
    properties::sort_ids(&mut ids);
    let mut o = String::from("properties (docs/spec/invariants.md):\n");
    let mut line = String::from(" ");
    for id in &ids {
        let item = format!(" {};", properties::labelled(id));
        if line.len() + item.len() > 130 && line.len() > 1 {
            let _ = writeln!(o, "{line}");
            line = String::from(" ");
        }
        line.push_str(&item);
    }
    if line.len() > 1 {
        let _ = writeln!(o, "{}", line.trim_end_matches(';'));
    }
    o
}

/// The last line: which exit code follows, and why.
pub fn exit_line(results: &[PairResult], exit: u8) -> String {
    let fail = results
        .iter()
        .filter(|r| r.report.verdict() == Verdict::Fail)
        .count();
    let bounded: Vec<&str> = results
        .iter()
        .filter(|r| !r.report.exhaustive())
        .map(|r| r.program.name.as_str())
        .collect();
    let n = results.len();
    let why = match exit {
        crate::EXIT_FINDING => {
            let mut s = format!("{fail} of {n} pairs have findings");
            if !bounded.is_empty() {
                let _ = write!(s, " ({} search(es) bounded)", bounded.len());
            }
            s
        }
        crate::EXIT_INCOMPLETE => format!(
            "no finding, but {} of {n} searches were bounded ({}): verdict incomplete",
            bounded.len(),
            bounded.join(", ")
        ),
        _ => format!("no finding, and all {n} searches covered their whole space"),
    };
    let line = format!("exit code {exit}: {why}");
    match exit {
        crate::EXIT_FINDING => term::red(&line),
        crate::EXIT_INCOMPLETE => term::yellow(&line),
        _ => term::green(&line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_lists_fit_their_room() {
        assert_eq!(scenario_list(&["a"], 50), "a");
        assert_eq!(scenario_list(&["a", "b"], 50), "a, b");
        let many = ["enable-disable"; 12];
        assert_eq!(scenario_list(&many, 60), "12 scenarios");
        let three = ["enable-disable", "bye-vs-unplug", "stream-vs-reset"];
        assert_eq!(
            scenario_list(&three, 40),
            "enable-disable, bye-vs-unplug +1 more"
        );
    }
}
