//! `usb-offload merge`: the `check --shard K/N --json` outputs of N shards combined
//! into the JSON lines one unsharded `check --json` prints.
//!
//! The shards partition each search tree (docs/checker.md), so a pair's findings are
//! the union of its shards' findings, keyed by mechanism signature; a lock-order cycle
//! whose edges were recorded by different shards is found again from the edges every
//! shard lists. Ids are renumbered over the union, as one search numbers them.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
for k in 0 1 2; do usb-offload check --shard $k/3 --json > shard-$k.jsonl; done\n  \
usb-offload merge shard-*.jsonl > all.jsonl\n\n\
Every pair must come with every shard of one N, once each; otherwise merge says which are \
missing and exits with 2. The exit code is then that of `check`: 1 if a pair has findings, \
3 if a search was bounded, 0 otherwise.")]
pub struct Args {
    /// JSON Lines files written by `check --shard K/N --json` (`-` reads standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// One pair's lines, by shard index.
struct Pair {
    n: usize,
    shards: BTreeMap<usize, Map<String, Value>>,
}

pub fn run(a: Args) -> u8 {
    match merge_files(&a.files) {
        Ok((lines, code)) => {
            for l in lines {
                println!("{l}");
            }
            code
        }
        Err(e) => {
            eprintln!("error: {e}");
            crate::EXIT_USAGE
        }
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// The merged lines (in the order pairs first appear) and the exit code `check` gives.
pub fn merge_files(files: &[PathBuf]) -> Result<(Vec<Value>, u8), String> {
    let mut order: Vec<String> = Vec::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    for path in files {
        let text = read(path)?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("{}: not JSON: {e}", at()))?;
            let Value::Object(m) = v else {
                return Err(format!("{}: not a JSON object", at()));
            };
            let name = format!(
                "{}/{}",
                m.get("design").and_then(Value::as_str).unwrap_or("?"),
                m.get("scenario").and_then(Value::as_str).unwrap_or("?")
            );
            let (k, n) = m
                .get("shard")
                .and_then(Value::as_str)
                .and_then(|s| crate::args::shard(s).ok())
                .ok_or_else(|| {
                    format!(
                        "{}: {name} has no shard (write it with `check --shard K/N --json`)",
                        at()
                    )
                })?;
            let p = pairs.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                Pair {
                    n,
                    shards: BTreeMap::new(),
                }
            });
            if p.n != n {
                return Err(format!(
                    "{}: {name} shard {k}/{n}, but an earlier line is of {} shards",
                    at(),
                    p.n
                ));
            }
            if p.shards.insert(k, m).is_some() {
                return Err(format!("{}: {name} shard {k}/{n} given twice", at()));
            }
        }
    }
    if order.is_empty() {
        return Err("no pair in the input".into());
    }
    let mut out = Vec::new();
    let (mut any_finding, mut any_bounded) = (false, false);
    for name in &order {
        let p = &pairs[name];
        let missing: Vec<String> = (0..p.n)
            .filter(|k| !p.shards.contains_key(k))
            .map(|k| format!("{k}/{}", p.n))
            .collect();
        if !missing.is_empty() {
            return Err(format!("{name}: shard(s) {} missing", missing.join(", ")));
        }
        let line = merge_pair(name, p);
        any_finding |= line["verdict"] == "fail";
        any_bounded |= line["exhaustive"] != true;
        out.push(line);
    }
    let code = if any_finding {
        crate::EXIT_FINDING
    } else if any_bounded {
        crate::EXIT_INCOMPLETE
    } else {
        crate::EXIT_OK
    };
    Ok((out, code))
}

fn num(m: &Map<String, Value>, k: &str) -> u64 {
    m.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// What bounded a search, strongest first, as one search reports it.
const BOUNDS: [&str; 6] = [
    "strategy",
    "max-executions",
    "scenario-bound",
    "max-time",
    "first-finding",
    "step-bound",
];

fn merge_pair(name: &str, p: &Pair) -> Value {
    let shards: Vec<&Map<String, Value>> = p.shards.values().collect();
    let first = shards[0];
    let sum = |k: &str| shards.iter().map(|m| num(m, k)).sum::<u64>();
    let exhaustive = shards.iter().all(|m| m["exhaustive"] == true);
    let bound = BOUNDS
        .iter()
        .find(|b| shards.iter().any(|m| m["bound"] == **b))
        .map(|b| json!(b))
        .unwrap_or(Value::Null);
    // The longest shard: what the batch of shards waits for.
    let seconds = shards
        .iter()
        .filter_map(|m| m.get("seconds").and_then(Value::as_f64))
        .fold(0.0, f64::max);

    // Findings by signature: the counterexample that ends first (the lowest shard on a
    // tie), occurrences added up.
    let mut by_sig: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for m in &shards {
        for f in m
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Value::Object(f) = f else { continue };
            let sig = f["signature"].as_str().unwrap_or("").to_string();
            match by_sig.get_mut(&sig) {
                None => {
                    by_sig.insert(sig, f.clone());
                }
                Some(prev) => {
                    let occ = num(prev, "occurrences") + num(f, "occurrences");
                    if num(f, "at_step") < num(prev, "at_step") {
                        *prev = f.clone();
                    }
                    prev.insert("occurrences".into(), json!(occ));
                }
            }
        }
    }
    for f in cross_shard_cycles(&shards, &by_sig) {
        let sig = f["signature"].as_str().unwrap_or("").to_string();
        by_sig.insert(sig, f);
    }
    // Ids as one search gives them: per property, in the order of the signatures.
    let mut by_prop: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (sig, f) in &by_sig {
        let prop = f["property"].as_str().unwrap_or("").to_string();
        by_prop.entry(prop).or_default().push(sig.clone());
    }
    for (prop, sigs) in &by_prop {
        for (i, sig) in sigs.iter().enumerate() {
            let f = by_sig.get_mut(sig).expect("finding");
            f.insert("id".into(), json!(format!("{name}/{prop}#{}", i + 1)));
        }
    }
    let findings: Vec<Value> = by_sig
        .into_values()
        .map(|mut f| {
            f.remove("at_step");
            Value::Object(f)
        })
        .collect();
    let verdict = if !findings.is_empty() {
        "fail"
    } else if exhaustive {
        "pass"
    } else {
        "incomplete"
    };
    json!({
        "design": first["design"],
        "scenario": first["scenario"],
        "verdict": verdict,
        "strategy": first["strategy"],
        "exhaustive": exhaustive,
        "bound": bound,
        "executions": sum("executions"),
        "pruned": sum("pruned"),
        "steps": sum("steps"),
        "seconds": seconds,
        "findings": findings,
    })
}

/// Lock-order cycles whose edges no single shard recorded together: the shards' edges
/// added one by one, in shard order, to one graph, a cycle reported where an edge
/// closes one (as the checker's lock-order graph does) unless a shard reported it.
fn cross_shard_cycles(
    shards: &[&Map<String, Value>],
    known: &BTreeMap<String, Map<String, Value>>,
) -> Vec<Map<String, Value>> {
    let mut reported: HashSet<Vec<String>> = known
        .values()
        .filter(|f| f["kind"] == "lock-order")
        .filter_map(|f| f["locks"].as_array())
        .map(|c| {
            let mut c: Vec<String> = c
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            c.sort();
            c
        })
        .collect();
    let mut edges: HashSet<(String, String)> = HashSet::new();
    let mut adj: HashMap<String, Vec<String>> = HashMap::new();
    let mut out = Vec::new();
    for m in shards {
        for e in m
            .get("lock_edges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(from), Some(to)) = (e[0].as_str(), e[1].as_str()) else {
                continue;
            };
            if from == to || !edges.insert((from.to_string(), to.to_string())) {
                continue;
            }
            adj.entry(from.to_string())
                .or_default()
                .push(to.to_string());
            let Some(path) = bfs(&adj, to, from) else {
                continue;
            };
            // The cycle from the new edge on: from --> to --> … --> from.
            let mut classes = vec![from.to_string()];
            classes.extend(path[..path.len() - 1].iter().cloned());
            let mut set = classes.clone();
            set.sort();
            if !reported.insert(set) {
                continue;
            }
            let mut shown = classes.clone();
            shown.push(from.to_string());
            let what = shown.join(" --> ");
            let f = json!({
                "id": "",
                "signature": format!("lock-order LK-3 [{}]", ksync::report::cycle_from_least(&what)),
                "edge_witnesses": [],
                "kind": "lock-order",
                "property": "LK-3",
                "summary": format!("possible circular locking dependency: {what}"),
                "tasks": [],
                "locks": classes,
                "replay": "",
                "occurrences": 1,
                "detail": "",
            });
            if let Value::Object(f) = f {
                out.push(f);
            }
        }
    }
    out
}

/// The shortest path from `a` to `b` (both included), breadth first.
fn bfs(adj: &HashMap<String, Vec<String>>, a: &str, b: &str) -> Option<Vec<String>> {
    let mut prev: HashMap<&str, &str> = HashMap::new();
    let mut q = VecDeque::from([a]);
    let mut seen = HashSet::from([a]);
    while let Some(n) = q.pop_front() {
        if n == b {
            let mut p = vec![b.to_string()];
            let mut c = b;
            while c != a {
                c = prev[c];
                p.push(c.to_string());
            }
            p.reverse();
            return Some(p);
        }
        for m in adj.get(n).into_iter().flatten() {
            if seen.insert(m.as_str()) {
                prev.insert(m.as_str(), n);
                q.push_back(m.as_str());
            }
        }
    }
    None
}
