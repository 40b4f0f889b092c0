//! The self-contained HTML report: the matrix, the distinct findings, and for each a
//! sequence diagram beside its lockdep-style text and replay command. One file, inline
//! CSS and SVG, no script and nothing fetched from the network.

use crate::diagram::{self, Diagram, Window};
use crate::diagram_svg;
use crate::properties;
use crate::suite::PairResult;
use crate::summary::{self, Family};
use crate::svg::esc;
use explore::{Found, Program};
use ksync::rt::TraceEntry;
use std::fmt::Write;

/// Rows a diagram shows at most (the last ones before the finding).
const DIAGRAM_ROWS: usize = 90;

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table.matrix { border-collapse: collapse; font-size: 0.9em; }
table.matrix td, table.matrix th { border: 1px solid #ddd; padding: 2px 8px; }
td.pass { background: #e3f4e1; } td.FAIL { background: #fbd3d0; font-weight: bold; }
td.incomplete { background: #fff3c4; }
table.findings { border-collapse: collapse; font-size: 0.85em; }
table.findings td { border-bottom: 1px solid #eee; padding: 2px 8px; vertical-align: top; }
table.findings td.id, table.findings td.kind, table.findings td.designs { white-space: nowrap; }
code, pre { font-family: ui-monospace, monospace; }
.finding { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.diagram { overflow: auto; max-width: 100%; border: 1px solid #ddd; }
.text { flex: 1 1 40em; min-width: 30em; }
pre { background: #f7f7f7; padding: 0.6em; overflow: auto; font-size: 0.8em; max-height: 40em; }
.legend span { display: inline-block; margin-right: 1.2em; }
.key { display: inline-block; width: 1.2em; height: 0.8em; vertical-align: middle; margin-right: 0.3em; }
"#;

/// The diagram of one finding's counterexample, replayed from its decisions.
pub fn found_diagram(program: &Program, f: &Found, max_steps: u32) -> Diagram {
    let r = explore::replay(program, &f.decisions, max_steps);
    diagram_of(&f.id, &f.finding, &r.outcome.trace)
}

/// The diagram of `trace`, windowed and highlighted for `finding`.
pub fn diagram_of(title: &str, finding: &ksync::Finding, trace: &[TraceEntry]) -> Diagram {
    let last = if finding.kind == ksync::FindingKind::Deadlock {
        u32::MAX
    } else {
        finding.step
    };
    let cycle = diagram::cycle_classes(finding.kind, &finding.summary);
    diagram::build(
        title,
        trace,
        &Window {
            last,
            rows: DIAGRAM_ROWS,
        },
        &cycle,
    )
}

fn page_start(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
}

fn legend(o: &mut String) {
    o.push_str(
        "<p class=\"legend\">\
<span><span class=\"key\" style=\"background:#4e79a7\"></span>lock held (one colour per lock class)</span>\
<span><span class=\"key\" style=\"background:#fff6d6;border:1px dashed #d4a017\"></span>wait</span>\
<span><span class=\"key\" style=\"background:#fbd3d0;border:1px dashed #c0392b\"></span>wait that never ends</span>\
<span><span class=\"key\" style=\"border:2px solid #c0392b\"></span>lock of the cycle</span>\
<span><span class=\"key\" style=\"border-top:2px solid #c0392b\"></span>QMI message</span>\
<span><span class=\"key\" style=\"background:#fde2e1\"></span>failing step</span>\
<span>hover an event for its kernel call stack</span></p>\n",
    );
}

/// The report of a `check` run.
pub fn check_page(results: &[PairResult], wall: std::time::Duration, max_steps: u32) -> String {
    let mut o = String::new();
    page_start(&mut o, "usb-offload check");
    let _ = writeln!(o, "<h1>usb-offload check</h1>");
    let _ = writeln!(
        o,
        "<p>{}</p>",
        esc(summary::header(results, wall).trim_end())
    );
    let exit = crate::suite::exit_code(results);
    let _ = writeln!(
        o,
        "<p>{}</p>",
        esc(&strip_ansi(&summary::exit_line(results, exit)))
    );
    o.push_str(&matrix(results));
    let groups = summary::families(results);
    if !groups.is_empty() {
        o.push_str(&findings_table(&groups));
        o.push_str(&legend_of_properties(results));
        legend(&mut o);
        for g in &groups {
            o.push_str(&finding_section(g, max_steps));
        }
    }
    o.push_str("</body></html>\n");
    o
}

fn strip_ansi(s: &str) -> String {
    let mut o = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\x1b' {
            for d in it.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            o.push(c);
        }
    }
    o
}

fn matrix(results: &[PairResult]) -> String {
    let mut cols = Vec::new();
    let mut rows = Vec::new();
    for r in results {
        if !cols.contains(&r.design) {
            cols.push(r.design);
        }
        if !rows.contains(&r.scenario.name) {
            rows.push(r.scenario.name);
        }
    }
    let mut o = String::from("<table class=\"matrix\"><tr><th>scenario</th>");
    for d in &cols {
        let _ = write!(o, "<th>{}</th>", esc(d.name()));
    }
    o.push_str("</tr>\n");
    for s in &rows {
        let _ = write!(o, "<tr><td>{}</td>", esc(s));
        for d in &cols {
            match results
                .iter()
                .find(|r| r.design == *d && r.scenario.name == *s)
            {
                Some(r) => {
                    let word = summary::verdict_word(r.report.verdict());
                    let _ = write!(
                        o,
                        "<td class=\"{word}\" title=\"{} executions, {:.2} s\">{}</td>",
                        r.report.executions,
                        r.report.elapsed.as_secs_f64(),
                        esc(&summary::cell(r))
                    );
                }
                None => o.push_str("<td>-</td>"),
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    o
}

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn findings_table(groups: &[Family]) -> String {
    let mut o = format!(
        "<h2>{} families of findings</h2>\n<table class=\"findings\">\n",
        groups.len()
    );
    for g in groups {
        let fi = &g.first.finding;
        let _ = writeln!(
            o,
            "<tr><td class=\"id\"><a href=\"#{}\"><code>{}</code></a></td><td class=\"kind\">{}</td><td>{}</td><td>{}</td><td class=\"designs\">{}</td><td>{}</td></tr>",
            anchor(&g.first.id),
            esc(&g.first.id),
            esc(fi.kind.as_str()),
            esc(&properties::labelled(&fi.property)),
            esc(&g.site),
            esc(&summary::design_tags(&g.designs)),
            esc(&g.scenarios.join(", "))
        );
    }
    o.push_str("</table>\n");
    o
}

fn legend_of_properties(results: &[PairResult]) -> String {
    let text = strip_ansi(&summary::legend(results));
    format!("<p>{}</p>\n", esc(&text).replace('\n', "<br>"))
}

fn designs(g: &Family) -> String {
    g.designs
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn finding_section(g: &Family, max_steps: u32) -> String {
    let f = g.first;
    let fi = &f.finding;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<h2 id=\"{}\"><code>{}</code> {} {}</h2>",
        anchor(&f.id),
        esc(&f.id),
        esc(fi.kind.as_str()),
        esc(&properties::labelled(&fi.property))
    );
    let _ = writeln!(o, "<p>{}</p>", esc(&fi.summary));
    let _ = writeln!(
        o,
        "<p>{} finding(s) of this family, in {} and in {} scenario(s): {}</p>",
        g.variants,
        esc(&designs(g)),
        g.scenarios.len(),
        esc(&g.scenarios.join(", "))
    );
    let d = found_diagram(&g.pair.program, f, max_steps);
    o.push_str("<div class=\"finding\"><div class=\"diagram\">");
    o.push_str(&diagram_svg::render(&d));
    o.push_str("</div><div class=\"text\">");
    if d.skipped > 0 {
        let _ = writeln!(
            o,
            "<p>The diagram shows the last {} events; {} earlier ones are in the replay.</p>",
            d.rows.len(),
            d.skipped
        );
    }
    let _ = writeln!(
        o,
        "<p>Replay: <code>usb-offload replay {}</code></p>",
        esc(&f.token)
    );
    let text = explore::report::format_found(&g.pair.program, f, max_steps);
    let _ = writeln!(o, "<pre>{}</pre>", esc(&text));
    o.push_str("</div></div>\n");
    o
}

/// The report of one replayed execution.
pub fn replay_page(
    program: &str,
    token: &str,
    trace: &[TraceEntry],
    findings: &[ksync::Finding],
    text: &str,
) -> String {
    let mut o = String::new();
    page_start(&mut o, &format!("usb-offload replay {program}"));
    let _ = writeln!(o, "<h1>{}</h1>", esc(program));
    let _ = writeln!(
        o,
        "<p>Replay: <code>usb-offload replay {}</code></p>",
        esc(token)
    );
    legend(&mut o);
    let d = replay_diagram(program, trace, findings);
    for fi in findings {
        let _ = writeln!(
            o,
            "<p><b>{} {}</b>: {}</p>",
            esc(fi.kind.as_str()),
            esc(&properties::labelled(&fi.property)),
            esc(&fi.summary)
        );
    }
    o.push_str("<div class=\"finding\"><div class=\"diagram\">");
    o.push_str(&diagram_svg::render(&d));
    let _ = write!(
        o,
        "</div><div class=\"text\"><pre>{}</pre></div></div>\n</body></html>\n",
        esc(text)
    );
    o
}

/// The diagram of a replayed execution: windowed on its deadlock or else its first
/// finding (a deadlock ends the execution, so it is the whole story), or the end of
/// the execution when it has none.
pub fn replay_diagram(program: &str, trace: &[TraceEntry], findings: &[ksync::Finding]) -> Diagram {
    let deadlock = findings
        .iter()
        .find(|f| f.kind == ksync::FindingKind::Deadlock);
    match deadlock.or(findings.first()) {
        Some(fi) => diagram_of(program, fi, trace),
        None => diagram::build(
            program,
            trace,
            &Window {
                last: u32::MAX,
                rows: DIAGRAM_ROWS,
            },
            &[],
        ),
    }
}
