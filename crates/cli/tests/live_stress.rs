//! `stress` on real threads: it reports what it ran and what it found, and what it
//! finds on a scenario of the suite is what the checker finds there.

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_usb-offload");

fn summary(args: &[&str]) -> (Option<i32>, Value) {
    let o = Command::new(BIN)
        .args(["stress", "--json"])
        .args(args)
        .output()
        .expect("run stress");
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    let v = s
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary: {s}"));
    (o.status.code(), v)
}

/// v1-caller-locks, `stream-vs-reset` on real threads until the first deadlock or
/// leak: the run stops with exit 1, and every property it reports is one `check`
/// reports for the scenario.
#[test]
fn a_scenario_on_real_threads_finds_what_check_finds() {
    let design = model::Design::V1CallerLocks;
    let sc = model::find_scenario("stream-vs-reset").unwrap();
    let expected: BTreeSet<&str> = sc.expect.of(design);
    let (code, v) = summary(&[
        "--design",
        design.name(),
        "--scenario",
        sc.name,
        "--stop-at-first",
        "--duration",
        "60",
        "--hung-task-timeout",
        "1",
    ]);
    assert_eq!(code, Some(1), "{v}");
    let found = v["findings"].as_array().unwrap();
    assert!(
        found
            .iter()
            .any(|f| f["kind"] == "leak" || f["kind"] == "deadlock"),
        "{v}"
    );
    for f in found {
        let p = f["property"].as_str().unwrap();
        assert!(
            expected.contains(p),
            "{p} not among check's {expected:?}: {v}"
        );
    }
    assert!(
        v["rounds"].as_u64().unwrap() >= 1 || !v["hung_at"].is_null(),
        "{v}"
    );
}

/// A storm reports the rounds and events it ran, and its exit code says whether it
/// found something.
#[test]
fn a_storm_reports_events_and_findings() {
    let (code, v) = summary(&[
        "--design",
        "v2-offload-spinlock",
        "--duration",
        "1",
        "--seed",
        "3",
        "--hung-task-timeout",
        "1",
    ]);
    assert!(
        v["events"].as_u64().unwrap() >= v["rounds"].as_u64().unwrap(),
        "{v}"
    );
    assert!(
        v["rounds"].as_u64().unwrap() > 0 || !v["hung_at"].is_null(),
        "{v}"
    );
    let n = v["findings"].as_array().unwrap().len();
    assert_eq!(code, Some(if n == 0 { 0 } else { 1 }), "{v}");
}
