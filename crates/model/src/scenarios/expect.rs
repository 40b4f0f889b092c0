//! The properties a scenario is expected to exhibit per design, stored in the
//! scenario's definition, and the rewriting of those definitions from a search's
//! results (`UPDATE_EXPECT=1`, see `tests/suite.rs`).

use crate::Design;
use std::collections::{BTreeMap, BTreeSet};

/// The property ids (space-separated, e.g. `"LK-3 RES-7"`) the exhaustive search of a
/// scenario reports under each design, within the scenario's declared bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    pub v0: &'static str,
    pub v1: &'static str,
    pub v2: &'static str,
    pub typed: &'static str,
}

impl Expect {
    /// The expected property set of `design`.
    pub fn of(&self, design: Design) -> BTreeSet<&'static str> {
        let s = match design {
            Design::V0CoreLocks => self.v0,
            Design::V1CallerLocks => self.v1,
            Design::V2OffloadSpinlock => self.v2,
            Design::Typed => self.typed,
        };
        s.split_whitespace().collect()
    }
}

fn key(d: Design) -> &'static str {
    match d {
        Design::V0CoreLocks => "v0",
        Design::V1CallerLocks => "v1",
        Design::V2OffloadSpinlock => "v2",
        Design::Typed => "typed",
    }
}

/// Rewrites the `Expect` literals in the scenario definitions of `src` (one source
/// file) from `found`: `design/scenario` (the program name) → the properties found. A literal is
/// recognised as the `v0: "…"`, `v1: "…"`, `v2: "…"`, `typed: "…"` lines after the scenario's
/// `name: "…"` line; pairs not in `found` keep their text.
pub fn rewrite(src: &str, found: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut out = String::with_capacity(src.len());
    let mut current: Option<String> = None;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(name) = quoted_after(t, "name: ") {
            current = Some(name.to_string());
        }
        let mut replaced = None;
        if let Some(sc) = &current {
            for d in Design::ALL {
                let prefix = format!("{}: ", key(d));
                if quoted_after(t, &prefix).is_none() {
                    continue;
                }
                if let Some(props) = found.get(&format!("{}/{sc}", d.name())) {
                    let indent = &line[..line.len() - t.len()];
                    let list: Vec<&str> = props.iter().map(String::as_str).collect();
                    let end = if line.ends_with('\n') { "\n" } else { "" };
                    replaced = Some(format!("{indent}{prefix}\"{}\",{end}", list.join(" ")));
                }
            }
        }
        out.push_str(replaced.as_deref().unwrap_or(line));
    }
    out
}

/// `"text"` in a line `PREFIX"text",`.
fn quoted_after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(prefix)?.strip_prefix('"')?;
    let end = rest.find('"')?;
    rest[end + 1..].trim_end().eq(",").then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"pub const A: Scenario = Scenario {
    name: "a",
    expect: Expect {
        v0: "LK-3",
        v1: "",
        v2: "",
        typed: "",
    },
};
pub const B: Scenario = Scenario {
    name: "b",
    expect: Expect {
        v0: "",
        v1: "LK-4",
        v2: "",
        typed: "",
    },
};
"#;

    #[test]
    fn rewrites_only_the_pairs_found() {
        let mut found = BTreeMap::new();
        found.insert(
            "v1-caller-locks/a".to_string(),
            ["RES-7".to_string(), "LK-3".to_string()].into(),
        );
        found.insert("v1-caller-locks/b".to_string(), BTreeSet::new());
        let out = rewrite(SRC, &found);
        assert!(out.contains("name: \"a\",\n    expect: Expect {\n        v0: \"LK-3\",\n        v1: \"LK-3 RES-7\",\n        v2: \"\","));
        assert!(out
            .contains("name: \"b\",\n    expect: Expect {\n        v0: \"\",\n        v1: \"\","));
        assert_eq!(out.lines().count(), SRC.lines().count());
        assert_eq!(rewrite(SRC, &BTreeMap::new()), SRC);
    }

    #[test]
    fn of_splits_the_ids() {
        let e = Expect {
            v0: "LK-3 RES-7",
            v1: "",
            v2: "ACC-2",
            typed: "",
        };
        assert_eq!(e.of(Design::V0CoreLocks), ["LK-3", "RES-7"].into());
        assert!(e.of(Design::V1CallerLocks).is_empty());
        assert_eq!(e.of(Design::V2OffloadSpinlock), ["ACC-2"].into());
    }
}
