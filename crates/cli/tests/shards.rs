//! `check --shard K/N` partitions the search and `merge` puts the shards together:
//! the merged lines give exactly the verdicts and findings of one unsharded run.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_usb-offload");

/// A split pair (more executions than a split search searches whole), and two small
/// ones that one shard searches whole.
const PAIRS: &[&str] = &[
    "--design",
    "v1-caller-locks",
    "--design",
    "v2-offload-spinlock",
    "--scenario",
    "ring-free-notify",
    "--scenario",
    "enable-disable",
    "--scenario",
    "connect-vs-remove",
];

fn check(extra: &[&str]) -> String {
    let o = Command::new(BIN)
        .args(["check", "--json", "--quiet", "--jobs", "1"])
        .args(PAIRS)
        .args(extra)
        .output()
        .expect("run usb-offload");
    assert!(o.status.code().is_some(), "check died");
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Per pair: verdict, exhaustive, bound and the (id, signature) of every finding.
type Outcome = BTreeMap<String, (String, bool, String, BTreeSet<(String, String)>)>;

fn outcome(jsonl: &str) -> Outcome {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            let name = format!("{}/{}", v["design"], v["scenario"]);
            let findings = v["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|f| (f["id"].to_string(), f["signature"].to_string()))
                .collect();
            (
                name,
                (
                    v["verdict"].to_string(),
                    v["exhaustive"] == true,
                    v["bound"].to_string(),
                    findings,
                ),
            )
        })
        .collect()
}

fn merge(files: &[PathBuf]) -> String {
    let o = Command::new(BIN)
        .arg("merge")
        .args(files)
        .output()
        .expect("run usb-offload merge");
    assert_eq!(
        o.status.code(),
        Some(1),
        "merge: the pairs have findings: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("uo-shards-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn shard_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n).map(|k| dir.join(format!("s{k}.jsonl"))).collect()
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let serial = outcome(&check(&[]));
    assert_eq!(serial.len(), 6);
    for n in [2, 3] {
        let dir = tmpdir(&format!("loop{n}"));
        let files = shard_files(&dir, n);
        for (k, f) in files.iter().enumerate() {
            std::fs::write(f, check(&["--shard", &format!("{k}/{n}")])).expect("write");
        }
        let merged = outcome(&merge(&files));
        assert_eq!(
            merged, serial,
            "{n} shards merged differ from the unsharded run"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Planned from the unsharded run's sizes, the shards still merge into it; a search
/// the plan runs whole is run by one shard only (the others skip it), the largest
/// is split (more than one shard runs some of it).
#[test]
fn shards_planned_from_sizes_merge_into_the_unsharded_run() {
    let plain = check(&[]);
    let serial = outcome(&plain);
    let dir = tmpdir("plan");
    let sizes = dir.join("sizes.jsonl");
    std::fs::write(&sizes, &plain).expect("write");
    let sizes_arg = sizes.to_str().expect("path");
    let n = 3;
    let files = shard_files(&dir, n);
    let mut per_pair: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (k, f) in files.iter().enumerate() {
        let out = check(&["--shard", &format!("{k}/{n}"), "--shard-sizes", sizes_arg]);
        for l in out.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            let name = format!("{}/{}", v["design"], v["scenario"]);
            per_pair
                .entry(name)
                .or_default()
                .push(v["executions"].as_u64().expect("executions"));
        }
        std::fs::write(f, out).expect("write");
    }
    assert_eq!(
        outcome(&merge(&files)),
        serial,
        "planned shards merged differ"
    );
    let running = |e: &Vec<u64>| e.iter().filter(|&&x| x > 0).count();
    let largest = per_pair
        .iter()
        .max_by_key(|(_, e)| e.iter().sum::<u64>())
        .expect("pairs");
    assert!(
        running(largest.1) > 1,
        "the largest search was not split: {largest:?}"
    );
    let whole = per_pair.values().filter(|e| running(e) == 1).count();
    assert!(
        whole >= 3,
        "the small searches were not run whole: {per_pair:?}"
    );
    // Planned again from those shards' own files (how each split search fell).
    let again_dir = tmpdir("plan-again");
    let again = shard_files(&again_dir, n);
    for (k, f) in again.iter().enumerate() {
        let shard = format!("{k}/{n}");
        let mut a = vec!["--shard", shard.as_str(), "--shard-sizes"];
        a.extend(files.iter().map(|f| f.to_str().expect("path")));
        std::fs::write(f, check(&a)).expect("write");
    }
    assert_eq!(
        outcome(&merge(&again)),
        serial,
        "replanned shards merged differ"
    );
    std::fs::remove_dir_all(&again_dir).ok();
    // One shard's file is not enough: it holds only that shard's part.
    let o = Command::new(BIN)
        .args([
            "check",
            "--json",
            "--quiet",
            "--shard",
            "0/2",
            "--shard-sizes",
        ])
        .arg(&files[0])
        .args(PAIRS)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("merge"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn merge_refuses_missing_and_unsharded_input() {
    let dir = tmpdir("bad");
    let one = dir.join("s0.jsonl");
    std::fs::write(&one, check(&["--shard", "0/2"])).expect("write");
    let o = Command::new(BIN)
        .arg("merge")
        .arg(&one)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1/2 missing"));
    let plain = dir.join("plain.jsonl");
    std::fs::write(&plain, check(&[])).expect("write");
    let o = Command::new(BIN)
        .arg("merge")
        .arg(&plain)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no shard"));
    std::fs::remove_dir_all(&dir).ok();
}

/// docs/distributed.md's GNU parallel command line, as written there. CI installs
/// GNU parallel and requires this test (`USB_OFFLOAD_PARALLEL_TEST=required`);
/// elsewhere it says it skipped when `parallel` is not on PATH.
#[test]
fn gnu_parallel_runs_the_shards() {
    let have = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert_ne!(
            std::env::var("USB_OFFLOAD_PARALLEL_TEST").as_deref(),
            Ok("required"),
            "GNU parallel is required here but not on PATH"
        );
        eprintln!("skipped: GNU parallel is not on PATH");
        return;
    }
    let dir = tmpdir("parallel");
    let n = 3;
    let status = Command::new("parallel")
        .args(["--will-cite", "-j", "2"])
        .arg(format!(
            "{BIN} check --json --quiet --jobs 1 {} --shard {{}}/{n} > {}/s{{}}.jsonl",
            PAIRS.join(" "),
            dir.display()
        ))
        .arg(":::")
        .args((0..n).map(|k| k.to_string()))
        .status()
        .expect("run parallel");
    // Every shard's check exits 1 (the pairs have findings), and parallel's exit
    // status is the number of jobs that exited non-zero.
    assert_eq!(status.code(), Some(n as i32), "parallel: {status}");
    let merged = outcome(&merge(&shard_files(&dir, n)));
    assert_eq!(merged, outcome(&check(&[])));
    std::fs::remove_dir_all(&dir).ok();
}
