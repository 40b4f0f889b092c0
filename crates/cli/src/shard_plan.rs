//! `check --shard K/N --shard-sizes FILE…`: where each search goes, planned from the
//! executions a previous run of the suite took.
//!
//! Without sizes, every search is split over every shard: each shard runs its common
//! part (a small search whole), and the largest pieces of two large searches may land
//! on one shard. With sizes, the plan is made the way test sharding by timings is:
//! searches larger than half a shard's share are split, the others go whole to the
//! shard with the least work planned so far, longest first. Given the files of an
//! earlier run in as many shards, the plan also knows how each split search fell
//! over them (the split is deterministic, the same on every run of a build: only the
//! shard it is dealt from changes) and deals it from the shard that keeps the most
//! loaded one lightest. Given totals only (an unsharded or merged run), it assumes a
//! split search's first piece is a share of it larger than the rest. Every shard
//! computes the same plan from the same files, so the shards still partition the work
//! and `merge` still gives the unsharded result; stale sizes only cost balance.

use explore::ShardPlacement;
use serde_json::Value;
use std::collections::HashMap;

/// A search is split if it is larger than a shard's share divided by this.
const WHOLE_UP_TO_SHARE_PART: u64 = 2;

/// What a previous run says of one search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    /// Executions, over all shards.
    pub total: u64,
    /// Split over shards in that run: each shard's executions, counted from the
    /// shard its pieces were dealt from.
    pub split: Option<Vec<u64>>,
}

/// One shard's line of a search: executions, the shard it was dealt from, whether
/// it was split (the last two absent in older output).
type ShardLine = (u64, Option<usize>, Option<bool>);

/// The sizes in `files` (name, text): the JSON lines of an unsharded `check --json`
/// or of `merge`, or the files of every shard of one sharded run.
pub fn parse_sizes(files: &[(String, String)]) -> Result<HashMap<String, Size>, String> {
    let mut totals: HashMap<String, u64> = HashMap::new();
    let mut shards: HashMap<String, Vec<Option<ShardLine>>> = HashMap::new();
    let mut of_n: Option<usize> = None;
    for (file, text) in files {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{file}, line {}", i + 1);
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("{}: not JSON ({e})", at()))?;
            let (Some(d), Some(s), Some(e)) = (
                v.get("design").and_then(Value::as_str),
                v.get("scenario").and_then(Value::as_str),
                v.get("executions").and_then(Value::as_u64),
            ) else {
                continue; // not a pair's line (a summary)
            };
            let name = format!("{d}/{s}");
            let Some(shard) = v.get("shard").and_then(Value::as_str) else {
                totals.insert(name, e);
                continue;
            };
            let (k, n) = crate::args::shard(shard).map_err(|e| format!("{}: {e}", at()))?;
            if *of_n.get_or_insert(n) != n {
                return Err(format!(
                    "{}: shard {k}/{n} beside shards of {}: give the files of one sharded run",
                    at(),
                    of_n.unwrap_or(n)
                ));
            }
            let owner = v
                .get("shard_owner")
                .and_then(Value::as_u64)
                .map(|o| o as usize);
            let split = v.get("shard_split").and_then(Value::as_bool);
            shards.entry(name).or_insert_with(|| vec![None; n])[k] = Some((e, owner, split));
        }
    }
    if !totals.is_empty() && !shards.is_empty() {
        return Err("both shard files and unsharded output: give one or the other".into());
    }
    let mut sizes: HashMap<String, Size> = totals
        .into_iter()
        .map(|(name, total)| (name, Size { total, split: None }))
        .collect();
    let mut missing: Vec<(usize, usize)> = shards
        .values()
        .flat_map(|lines| {
            let n = lines.len();
            (0..n)
                .filter(move |&k| lines[k].is_none())
                .map(move |k| (k, n))
        })
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|(k, n)| format!("{k}/{n}")).collect();
        return Err(format!(
            "not every shard is there: {} missing; give the file of each shard (or their `usb-offload merge`)",
            list.join(", ")
        ));
    }
    for (name, lines) in shards {
        let n = lines.len();
        let lines: Vec<ShardLine> = lines.into_iter().flatten().collect();
        let total = lines.iter().map(|l| l.0).sum();
        let owner = lines
            .iter()
            .find_map(|l| l.1)
            .unwrap_or_else(|| ShardPlacement::Hashed.owner(&name, n));
        let ran_on = lines.iter().filter(|l| l.0 > 0).count();
        let was_split = lines.iter().find_map(|l| l.2).unwrap_or(ran_on > 1);
        let split = was_split.then(|| (0..n).map(|i| lines[(i + owner) % n].0).collect());
        sizes.insert(name, Size { total, split });
    }
    if sizes.is_empty() {
        return Err("no pair's line (with design, scenario and executions) in it".into());
    }
    Ok(sizes)
}

/// The sizes in the files at `paths` (see [`parse_sizes`]).
pub fn read_sizes(paths: &[std::path::PathBuf]) -> Result<HashMap<String, Size>, String> {
    let files = paths
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|text| (p.display().to_string(), text))
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    parse_sizes(&files)
}

/// The placement of each named search over `n` shards. Names without a size keep the
/// default (split, dealt from the shard the name hashes to).
pub fn plan(
    names: &[String],
    sizes: &HashMap<String, Size>,
    n: usize,
) -> HashMap<String, ShardPlacement> {
    let mut known: Vec<(&String, &Size)> = names
        .iter()
        .filter_map(|name| sizes.get(name).map(|s| (name, s)))
        .collect();
    // Largest first; ties by name, so that every shard orders them alike.
    known.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(b.0)));
    let total: u64 = known.iter().map(|k| k.1.total).sum();
    let split_above = total / n as u64 / WHOLE_UP_TO_SHARE_PART;
    let mut load = vec![0u64; n];
    let mut placements = HashMap::new();
    for (name, size) in known {
        let least = (0..n).min_by_key(|&k| (load[k], k)).unwrap_or(0);
        let placement = if n > 1 && size.total > split_above {
            let parts = match &size.split {
                Some(parts) if parts.len() == n => parts.clone(),
                // Its first piece is usually larger than a share of the search.
                _ => {
                    let part = size.total / n as u64;
                    let mut parts = vec![part; n];
                    parts[0] += part;
                    parts
                }
            };
            let peak = |first: usize| {
                (0..n)
                    .map(|j| load[(j + first) % n] + parts[j])
                    .max()
                    .unwrap_or(0)
            };
            let first = (0..n).min_by_key(|&f| (peak(f), f)).unwrap_or(0);
            for (j, part) in parts.iter().enumerate() {
                load[(j + first) % n] += part;
            }
            ShardPlacement::Split { first }
        } else {
            load[least] += size.total;
            ShardPlacement::Whole { on: least }
        };
        placements.insert(name.clone(), placement);
    }
    placements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn sizes(v: &[(&str, u64)]) -> HashMap<String, Size> {
        v.iter()
            .map(|&(k, total)| (k.to_string(), Size { total, split: None }))
            .collect()
    }

    fn file(text: &str) -> Vec<(String, String)> {
        vec![("f".to_string(), text.to_string())]
    }

    #[test]
    fn small_searches_go_whole_to_the_least_loaded_shard() {
        let s = sizes(&[("a/x", 40), ("a/y", 30), ("a/z", 20), ("b/x", 10)]);
        let p = plan(&names(&["a/x", "a/y", "a/z", "b/x"]), &s, 4);
        // share 25, split above 12: a/x, a/y and a/z split; b/x whole.
        assert_eq!(p["a/x"], ShardPlacement::Split { first: 0 });
        assert_eq!(p["a/y"], ShardPlacement::Split { first: 1 });
        assert_eq!(p["a/z"], ShardPlacement::Split { first: 2 });
        assert_eq!(p["b/x"], ShardPlacement::Whole { on: 3 });
    }

    #[test]
    fn the_plan_is_greedy_longest_first() {
        let s = sizes(&[("p/1", 5), ("p/2", 4), ("p/3", 3), ("p/4", 3), ("p/5", 3)]);
        // share 9, split above 4: p/1 is split, dealt from shard 0, which plans 2 + 2
        // of it against shard 1's 2; then each goes whole to the least loaded shard:
        // p/2 to 1 (4 : 6), p/3 to 0 (7 : 6), p/4 to 1 (7 : 9), p/5 to 0 (10 : 9).
        let p = plan(&names(&["p/1", "p/2", "p/3", "p/4", "p/5"]), &s, 2);
        assert_eq!(p["p/1"], ShardPlacement::Split { first: 0 });
        assert_eq!(p["p/2"], ShardPlacement::Whole { on: 1 });
        assert_eq!(p["p/3"], ShardPlacement::Whole { on: 0 });
        assert_eq!(p["p/4"], ShardPlacement::Whole { on: 1 });
        assert_eq!(p["p/5"], ShardPlacement::Whole { on: 0 });
    }

    #[test]
    fn names_without_a_size_are_not_placed_and_one_shard_splits_nothing() {
        let s = sizes(&[("a/x", 100)]);
        let p = plan(&names(&["a/x", "a/new"]), &s, 1);
        assert_eq!(p.get("a/new"), None);
        assert_eq!(p["a/x"], ShardPlacement::Whole { on: 0 });
    }

    #[test]
    fn the_plan_does_not_depend_on_the_order_of_the_names() {
        let s = sizes(&[("a/x", 7), ("a/y", 7), ("b/x", 7), ("b/y", 1)]);
        let mut v = names(&["a/x", "a/y", "b/x", "b/y"]);
        let p1 = plan(&v, &s, 3);
        v.reverse();
        assert_eq!(p1, plan(&v, &s, 3));
    }

    #[test]
    fn a_split_search_is_dealt_where_its_large_pieces_fit() {
        // Two searches that fell 10 : 2 and 9 : 1 over 2 shards (from the shard they
        // were dealt from): the second is dealt from the other shard.
        let mut s = HashMap::new();
        s.insert(
            "a/x".to_string(),
            Size {
                total: 12,
                split: Some(vec![10, 2]),
            },
        );
        s.insert(
            "a/y".to_string(),
            Size {
                total: 10,
                split: Some(vec![9, 1]),
            },
        );
        let p = plan(&names(&["a/x", "a/y"]), &s, 2);
        assert_eq!(p["a/x"], ShardPlacement::Split { first: 0 });
        assert_eq!(p["a/y"], ShardPlacement::Split { first: 1 });
    }

    #[test]
    fn sizes_come_from_pair_lines() {
        let text = r#"{"design":"v0","scenario":"x","executions":12,"verdict":"pass"}

{"suite":"summary"}
{"design":"v1","scenario":"x","executions":3}"#;
        let s = parse_sizes(&file(text)).expect("sizes");
        assert_eq!(
            s["v0/x"],
            Size {
                total: 12,
                split: None
            }
        );
        assert_eq!(s["v1/x"].total, 3);
        assert!(parse_sizes(&file("{}")).is_err());
        assert!(parse_sizes(&file("nope")).unwrap_err().contains("line 1"));
    }

    #[test]
    fn shard_files_give_each_split_from_the_shard_it_was_dealt_from() {
        let line = |k: usize, e: u64, owner: usize, split: bool| {
            format!(
                r#"{{"design":"v0","scenario":"x","executions":{e},"shard":"{k}/3","shard_owner":{owner},"shard_split":{split}}}"#
            )
        };
        let files: Vec<(String, String)> = [(0, 5), (1, 7), (2, 30)]
            .iter()
            .map(|&(k, e)| (format!("s{k}"), line(k, e, 2, true)))
            .collect();
        let s = parse_sizes(&files).expect("sizes");
        assert_eq!(
            s["v0/x"],
            Size {
                total: 42,
                split: Some(vec![30, 5, 7])
            }
        );
        // A search one shard ran whole is not split.
        let whole: Vec<(String, String)> = [(0, 0), (1, 9), (2, 0)]
            .iter()
            .map(|&(k, e)| (format!("s{k}"), line(k, e, 1, false)))
            .collect();
        assert_eq!(
            parse_sizes(&whole).expect("sizes")["v0/x"],
            Size {
                total: 9,
                split: None
            }
        );
        // Every shard's file is needed.
        assert!(parse_sizes(&files[..2])
            .unwrap_err()
            .contains("not every shard"));
        // One run's shards, not a mixture.
        let mut mixed = files.clone();
        mixed.push((
            "u".into(),
            r#"{"design":"v1","scenario":"x","executions":1}"#.into(),
        ));
        assert!(parse_sizes(&mixed).is_err());
    }
}
