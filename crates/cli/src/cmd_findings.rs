//! `usb-offload findings`: the findings of a `check --json` run grouped by explained
//! cause (`model::findings`), as text, as the body of `docs/findings.md`, as
//! `docs/upstream-report.md`, or as one TSV row per finding.
//!
//! The input is the JSON `check --json` prints (one object per design × scenario pair).
//! Fields are read by name and a missing one is an error, so a change of that output
//! shows here at once instead of producing an empty document.

use model::findings::{self, Class, Facts, Verdict};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod upstream;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  usb-offload check --json > runs.jsonl\n  usb-offload findings --from runs.jsonl\n  usb-offload findings --from runs.jsonl --markdown > docs/findings.md\n  usb-offload findings --from runs.jsonl --upstream > docs/upstream-report.md\n\nWithout --from, `check --json` is run first (all designs and scenarios).\nExit code 1 if some mechanism is unclassified or matched by two rules, 0 otherwise."
)]
pub struct Args {
    /// A file written by `usb-offload check --json`.
    #[arg(long, value_name = "FILE.jsonl")]
    pub from: Option<std::path::PathBuf>,
    /// Print docs/findings.md.
    #[arg(long, conflicts_with_all = ["upstream", "tsv"])]
    pub markdown: bool,
    /// Print docs/upstream-report.md (the v2 kernel defects, for maintainers).
    #[arg(long, conflicts_with = "tsv")]
    pub upstream: bool,
    /// One row per finding: design, scenario, id, class, cause, signature.
    #[arg(long)]
    pub tsv: bool,
}

/// One finding as `check --json` prints it.
pub struct Rec {
    pub design: String,
    pub scenario: String,
    pub id: String,
    pub kind: String,
    pub property: String,
    pub summary: String,
    pub signature: String,
    pub replay: String,
}

impl Rec {
    fn facts(&self) -> Facts<'_> {
        Facts {
            design: &self.design,
            scenario: &self.scenario,
            kind: &self.kind,
            property: &self.property,
            summary: &self.summary,
            signature: &self.signature,
        }
    }

    /// The id without its design prefix.
    fn short_id(&self) -> &str {
        self.id
            .strip_prefix(self.design.as_str())
            .and_then(|s| s.strip_prefix('/'))
            .unwrap_or(&self.id)
    }
}

/// One design × scenario pair.
pub struct Pair {
    pub design: String,
    pub verdict: String,
    pub findings: Vec<Rec>,
}

fn field<'a>(v: &'a Value, k: &str, line: usize) -> Result<&'a Value, String> {
    v.get(k)
        .ok_or_else(|| format!("line {line}: no field `{k}` in the check output"))
}

fn text(v: &Value, k: &str, line: usize) -> Result<String, String> {
    field(v, k, line)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("line {line}: field `{k}` is not a string"))
}

/// Parse `check --json` output.
pub fn parse(input: &str) -> Result<Vec<Pair>, String> {
    let scenario_order: Vec<&str> = model::scenarios::all().iter().map(|s| s.name).collect();
    let mut pairs = Vec::new();
    for (i, l) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line = i + 1;
        let v: Value = serde_json::from_str(l).map_err(|e| format!("line {line}: {e}"))?;
        let design = text(&v, "design", line)?;
        let scenario = text(&v, "scenario", line)?;
        let mut recs = Vec::new();
        for f in field(&v, "findings", line)?
            .as_array()
            .ok_or_else(|| format!("line {line}: `findings` is not an array"))?
        {
            recs.push(Rec {
                design: design.clone(),
                scenario: scenario.clone(),
                id: text(f, "id", line)?,
                kind: text(f, "kind", line)?,
                property: text(f, "property", line)?,
                summary: text(f, "summary", line)?,
                signature: text(f, "signature", line)?,
                replay: text(f, "replay", line)?,
            });
        }
        let rank = (
            model::Design::ALL
                .iter()
                .position(|d| d.name() == design)
                .unwrap_or(usize::MAX),
            scenario_order
                .iter()
                .position(|s| *s == scenario)
                .unwrap_or(usize::MAX),
        );
        pairs.push((
            rank,
            Pair {
                verdict: text(&v, "verdict", line)?,
                design,
                findings: recs,
            },
        ));
    }
    // In the model's order of designs and scenarios, whatever order the searches
    // ended in: the documents come out the same from every run with the same results.
    pairs.sort_by_key(|(rank, _)| *rank);
    Ok(pairs.into_iter().map(|(_, p)| p).collect())
}

/// Where one finding went.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// Index into `findings::causes()`.
    Cause(usize),
    Unclassified,
    Ambiguous,
}

fn slot(r: &Rec) -> Slot {
    match findings::classify(&r.facts()) {
        Verdict::Cause(c) => Slot::Cause(
            findings::causes()
                .iter()
                .position(|x| std::ptr::eq(x, c))
                .expect("a listed cause"),
        ),
        Verdict::Unclassified => Slot::Unclassified,
        Verdict::Ambiguous(_) => Slot::Ambiguous,
    }
}

/// signature → findings.
type BySignature<'a> = BTreeMap<&'a str, Vec<&'a Rec>>;
/// design → slot → signature → findings.
type Groups<'a> = BTreeMap<(usize, String), BTreeMap<Slot, BySignature<'a>>>;

/// Designs in their historical order, unknown names after them.
fn design_rank(d: &str) -> usize {
    model::Design::ALL
        .iter()
        .position(|x| x.name() == d)
        .unwrap_or(model::Design::ALL.len())
}

fn group(pairs: &[Pair]) -> Groups<'_> {
    let mut g: Groups = BTreeMap::new();
    for p in pairs {
        for r in &p.findings {
            g.entry((design_rank(&r.design), r.design.clone()))
                .or_default()
                .entry(slot(r))
                .or_default()
                .entry(&r.signature)
                .or_default()
                .push(r);
        }
    }
    g
}

/// The counterexample to show for a set of findings: the shortest token (a token grows
/// with its schedule, so this is the shortest trace to read).
fn shortest<'a>(rs: impl Iterator<Item = &'a Rec>) -> Option<&'a Rec> {
    rs.min_by(|a, b| (a.replay.len(), &a.id).cmp(&(b.replay.len(), &b.id)))
}

fn slot_title(s: Slot) -> String {
    match s {
        Slot::Cause(i) => findings::causes()[i].title.to_string(),
        Slot::Unclassified => "Unclassified: no rule matches".into(),
        Slot::Ambiguous => "Ambiguous: two rules match".into(),
    }
}

fn slot_class(s: Slot) -> String {
    match s {
        Slot::Cause(i) => findings::causes()[i].class.to_string(),
        Slot::Unclassified => "unclassified".into(),
        Slot::Ambiguous => "ambiguous".into(),
    }
}

fn has_loose(pairs: &[Pair]) -> bool {
    pairs
        .iter()
        .flat_map(|p| &p.findings)
        .any(|r| matches!(slot(r), Slot::Unclassified | Slot::Ambiguous))
}

pub fn run(a: Args) -> u8 {
    let input = match &a.from {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return crate::EXIT_USAGE;
            }
        },
        None => match run_check() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return crate::EXIT_USAGE;
            }
        },
    };
    let pairs = match parse(&input) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let out = if a.markdown {
        markdown(&pairs)
    } else if a.upstream {
        upstream::render(&pairs)
    } else if a.tsv {
        tsv(&pairs)
    } else {
        plain(&pairs)
    };
    print!("{out}");
    if has_loose(&pairs) {
        eprintln!("warning: some mechanisms are unclassified or ambiguous (see the output)");
        return crate::EXIT_FINDING;
    }
    crate::EXIT_OK
}

/// Runs `check --json` in a child process of this binary, so the result is exactly
/// what `check` prints.
fn run_check() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["check", "--json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running check: {e}"))?;
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

fn tsv(pairs: &[Pair]) -> String {
    let mut s = String::new();
    for r in pairs.iter().flat_map(|p| &p.findings) {
        let key = match findings::classify(&r.facts()) {
            Verdict::Cause(c) => c.key,
            Verdict::Unclassified => "unclassified",
            Verdict::Ambiguous(_) => "ambiguous",
        };
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{key}\t{}",
            r.design,
            r.scenario,
            r.id,
            slot_class(slot(r)),
            r.signature
        );
    }
    s
}

fn plain(pairs: &[Pair]) -> String {
    let mut s = String::new();
    for ((_, design), slots) in &group(pairs) {
        let _ = writeln!(s, "{design}");
        for (sl, sigs) in slots {
            let key = match sl {
                Slot::Cause(i) => findings::causes()[*i].key,
                _ => "-",
            };
            let _ = writeln!(s, "  [{}] {key}: {}", slot_class(*sl), slot_title(*sl));
            for (sig, rs) in sigs {
                let ids: Vec<&str> = rs.iter().map(|r| r.short_id()).collect();
                let _ = writeln!(s, "      {sig}\n        {}", ids.join(" "));
            }
        }
    }
    s
}

/// Per design: pairs, verdicts, and the number of causes of each class.
fn summary_table(pairs: &[Pair], g: &Groups) -> String {
    let mut s = String::from(
        "| design | pairs | pass | fail | other verdicts | distinct mechanisms | kernel-defect causes | environment causes | model-artefact causes | unclassified or ambiguous mechanisms |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    // every design of the run, those without a finding too
    let mut designs: Vec<(usize, &String)> = pairs
        .iter()
        .map(|p| (design_rank(&p.design), &p.design))
        .collect();
    designs.sort();
    designs.dedup();
    let none = BTreeMap::new();
    for (rank, design) in designs {
        let slots = g.get(&(rank, design.clone())).unwrap_or(&none);
        let ps: Vec<&Pair> = pairs.iter().filter(|p| &p.design == design).collect();
        let n = |v: &str| ps.iter().filter(|p| p.verdict == v).count();
        let causes = |f: fn(&Class) -> bool| {
            slots
                .keys()
                .filter(|k| matches!(k, Slot::Cause(i) if f(&findings::causes()[*i].class)))
                .count()
        };
        let mechanisms: usize = slots.values().map(BTreeMap::len).sum();
        let loose: usize = slots
            .iter()
            .filter(|(k, _)| !matches!(k, Slot::Cause(_)))
            .map(|(_, v)| v.len())
            .sum();
        let _ = writeln!(
            s,
            "| {design} | {} | {} | {} | {} | {mechanisms} | {} | {} | {} | {loose} |",
            ps.len(),
            n("pass"),
            n("fail"),
            ps.len() - n("pass") - n("fail"),
            causes(|c| *c == Class::KernelDefect),
            causes(|c| matches!(c, Class::Environment(_))),
            causes(|c| *c == Class::ModelArtefact),
        );
    }
    s
}

/// The hand-written part of docs/findings.md.
const INTRO: &str = include_str!("cmd_findings/findings_intro.md");

fn markdown(pairs: &[Pair]) -> String {
    let g = group(pairs);
    let mut s = String::from(INTRO);
    let _ = writeln!(s, "\n## Summary\n\n{}", summary_table(pairs, &g));
    // Slots in document order, each with its findings per design.
    let mut by_slot: BTreeMap<Slot, Vec<(&str, &BySignature)>> = BTreeMap::new();
    for ((_, design), slots) in &g {
        for (sl, sigs) in slots {
            by_slot.entry(*sl).or_default().push((design, sigs));
        }
    }
    let mut sections = [
        ("Kernel defects", String::new(), 0),
        (
            "Consequences of an environment assumption",
            String::new(),
            0,
        ),
        ("Model artefacts", String::new(), 0),
        ("Unclassified and ambiguous mechanisms", String::new(), 0),
    ];
    for (sl, designs) in &by_slot {
        let which = match sl {
            Slot::Cause(i) => match findings::causes()[*i].class {
                Class::KernelDefect => 0,
                Class::Environment(_) => 1,
                Class::ModelArtefact => 2,
            },
            _ => 3,
        };
        sections[which].2 += 1;
        let out = &mut sections[which].1;
        let _ = writeln!(out, "### {}\n", slot_title(*sl));
        let names: Vec<&str> = designs.iter().map(|(d, _)| *d).collect();
        let _ = writeln!(
            out,
            "*Class:* {}. *Designs:* {}.",
            slot_class(*sl),
            names.join(", ")
        );
        if let Slot::Cause(i) = sl {
            let c = &findings::causes()[*i];
            let fns: Vec<String> = c.functions.iter().map(|f| format!("`{f}`")).collect();
            let _ = writeln!(
                out,
                "*Cause key:* `{}`. *Functions:* {}.\n\n{}\n",
                c.key,
                fns.join(", "),
                c.explanation
            );
        } else {
            let _ = writeln!(
                out,
                "\nNo rule of `crates/model/src/findings.rs` explains these yet; read a counterexample and add one.\n"
            );
        }
        for (design, sigs) in designs {
            let _ = writeln!(out, "**{design}**\n");
            for (sig, rs) in sigs.iter() {
                let ids: Vec<String> = rs.iter().map(|r| format!("`{}`", r.short_id())).collect();
                let _ = writeln!(out, "* `{sig}`: {}", ids.join(", "));
            }
            if let Some(r) = shortest(sigs.values().flatten().copied()) {
                let _ = writeln!(
                    out,
                    "\n  Shortest counterexample: `usb-offload replay {}` (`{}`)\n",
                    r.replay, r.id
                );
            }
        }
    }
    for (title, body, n) in sections {
        let _ = writeln!(s, "## {title} ({n})\n");
        if body.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            s.push_str(&body);
        }
    }
    s
}

/// The findings of one design that one cause explains, for the upstream report.
pub fn for_cause<'a>(pairs: &'a [Pair], design: &str, key: &str) -> Vec<&'a Rec> {
    pairs
        .iter()
        .flat_map(|p| &p.findings)
        .filter(|r| r.design == design)
        .filter(|r| matches!(findings::classify(&r.facts()), Verdict::Cause(c) if c.key == key))
        .collect()
}

/// The findings of one design that no rule (or more than one) explains.
pub fn loose<'a>(pairs: &'a [Pair], design: &str) -> Vec<&'a Rec> {
    pairs
        .iter()
        .flat_map(|p| &p.findings)
        .filter(|r| r.design == design && !matches!(slot(r), Slot::Cause(_)))
        .collect()
}

/// Shortest counterexample of a set, for the upstream report.
pub fn pick<'a>(rs: &[&'a Rec]) -> Option<&'a Rec> {
    shortest(rs.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"design":"v2-offload-spinlock","scenario":"s","verdict":"fail","findings":[{"id":"v2-offload-spinlock/s/SB-6#1","kind":"invariant","property":"SB-6","summary":"x","signature":"invariant SB-6 T_sys@uaudio_sideband_notifier","replay":"uo2.t","occurrences":3}]}"#;

    #[test]
    fn parses_and_classifies_a_check_line() {
        let p = parse(ONE).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].findings[0].short_id(), "s/SB-6#1");
        let rs = for_cause(&p, "v2-offload-spinlock", "ring-free-notifier-wrong-index");
        assert_eq!(rs.len(), 1);
        assert!(!has_loose(&p));
    }

    #[test]
    fn pairs_come_in_the_models_order_whatever_order_the_searches_ended_in() {
        let line = |d: &str, s: &str| {
            format!(r#"{{"design":"{d}","scenario":"{s}","verdict":"pass","findings":[]}}"#)
        };
        let input = [
            line("typed", "enable-disable"),
            line("v0-core-locks", "enable-vs-unplug"),
            line("v0-core-locks", "enable-disable"),
        ]
        .join("\n");
        let order: Vec<String> = parse(&input)
            .unwrap()
            .iter()
            .map(|p| p.design.clone())
            .collect();
        assert_eq!(order, ["v0-core-locks", "v0-core-locks", "typed"]);
    }

    #[test]
    fn a_missing_field_is_an_error_not_an_empty_document() {
        let e = parse(r#"{"design":"v2-offload-spinlock","scenario":"s","verdict":"pass"}"#)
            .err()
            .unwrap();
        assert!(e.contains("findings"), "{e}");
    }

    #[test]
    fn an_unknown_mechanism_shows_in_the_markdown() {
        let line = ONE
            .replace(
                "invariant SB-6 T_sys@uaudio_sideband_notifier",
                "invariant XX-1 T@f",
            )
            .replace("\"SB-6\"", "\"XX-1\"");
        let p = parse(&line).unwrap();
        assert!(has_loose(&p));
        let md = markdown(&p);
        assert!(md.contains("## Unclassified and ambiguous mechanisms (1)"));
        assert!(md.contains("invariant XX-1 T@f"));
    }
}
