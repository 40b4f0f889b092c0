//! The CLI contract other tools parse: JSON shapes and exit codes.

use serde_json::Value;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_usb-offload"))
        .args(args)
        .output()
        .expect("run usb-offload")
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn scenarios_json_lists_names_and_descriptions() {
    let o = run(&["scenarios", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json_lines(&o);
    assert!(v.len() >= 10);
    for s in &v {
        assert!(s["name"].is_string() && s["description"].is_string());
    }
}

#[test]
fn a_passing_pair_exits_0() {
    let o = run(&[
        "check",
        "--design",
        "v2-offload-spinlock",
        "--scenario",
        "enable-disable",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_lines(&o);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["verdict"], "pass");
    assert_eq!(v[0]["exhaustive"], true);
    assert!(v[0]["bound"].is_null(), "{}", v[0]);
    assert_eq!(v[0]["strategy"], "dpor");
    assert!(v[0]["executions"].as_u64().unwrap() > 0);
    assert!(v[0]["seconds"].is_number());
    assert_eq!(v[0]["findings"].as_array().unwrap().len(), 0);
}

/// v1's disable path puts without the device lock (spec (b) step 12): the lock
/// assertion finding comes with a token that replay reproduces.
#[test]
fn findings_exit_1_and_their_tokens_replay() {
    let o = run(&[
        "check",
        "-d",
        "v1-caller-locks",
        "-s",
        "enable-disable",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_lines(&o);
    let findings = v[0]["findings"].as_array().unwrap();
    let lk4 = findings
        .iter()
        .find(|f| f["property"] == "LK-4")
        .expect("LK-4 finding");
    for key in ["kind", "property", "summary", "tasks", "locks", "replay"] {
        assert!(!lk4[key].is_null(), "finding lacks {key}");
    }
    let token = lk4["replay"].as_str().unwrap();
    let r = run(&["replay", token, "--json"]);
    assert_eq!(r.status.code(), Some(1));
    let rv = json_lines(&r);
    let props: Vec<&str> = rv[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["property"].as_str().unwrap())
        .collect();
    assert!(props.contains(&"LK-4"), "replay reproduced {props:?}");
    assert!(rv[0]["diverged"].is_null());
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The token of v1's LK-4 finding on enable-disable (a fast search).
fn lk4_token() -> String {
    let o = run(&[
        "check",
        "-d",
        "v1-caller-locks",
        "-s",
        "enable-disable",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_lines(&o);
    v[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["property"] == "LK-4")
        .expect("LK-4 finding")["replay"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A token cut short, extended or altered is refused as damaged (exit 2), never
/// replayed as another schedule nor blamed on a model change.
#[test]
fn damaged_tokens_exit_2() {
    let token = lk4_token();
    assert!(token.starts_with("uo2."), "{token}");
    let n = token.len();
    let mut damaged = vec![
        token[..n - 1].to_string(),
        token[..n - 8].to_string(),
        token[..n / 2].to_string(),
        format!("{token}A"),
        format!("{token}AAAA"),
        format!("{token}x-_"),
    ];
    // One character of the body changed, at its start, middle and end.
    let body = token.rfind('.').unwrap() + 1;
    for i in [body, (body + n) / 2, n - 1] {
        let mut s = token.clone().into_bytes();
        s[i] = if s[i] == b'A' { b'B' } else { b'A' };
        damaged.push(String::from_utf8(s).unwrap());
    }
    // One character of the program name changed.
    damaged.push(token.replacen("v1-caller-locks", "v2-caller-locks", 1));
    // Another program's name (a design that exists).
    damaged.push(token.replacen("v1-caller-locks", "v0-core-locks", 1));
    for t in &damaged {
        let o = run(&["replay", t]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{t}: {e}");
        assert!(e.contains("damaged"), "{t}: {e}");
        assert!(e.contains("copy the whole token"), "{t}: {e}");
        assert!(!e.contains("model changed"), "{t}: {e}");
        assert!(o.stdout.is_empty(), "{t}: replayed anyway");
    }
}

#[test]
fn old_tokens_are_named_as_such() {
    let o = run(&[
        "replay",
        "uo1.v1-caller-locks/enable-disable.aaaaaaaaaaaaaaaaaaaaqcaibaibaeaqdambqgbaeaqaqcaib",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("older version"), "{}", stderr(&o));
}

/// Numbers that make no sense are usage errors with clap's message, on every
/// subcommand that takes them.
#[test]
fn nonsense_numbers_exit_2() {
    let pair = ["check", "-d", "v2-offload-spinlock", "-s", "enable-disable"];
    let cases: &[&[&str]] = &[
        &["--max-time", "nan"],
        &["--max-time", "inf"],
        &["--max-time", "-inf"],
        &["--max-time", "1e30"],
        &["--max-time", "-1"],
        &["--max-time", "0"],
        &["--max-executions", "0"],
        &["--max-executions", "-5"],
        &["--max-steps", "0"],
        &["--jobs", "0"],
        &["--shard", "4/4"],
        &["--shard", "0/0"],
        &["--shard", "1"],
    ];
    for c in cases {
        let args: Vec<&str> = pair.iter().chain(c.iter()).copied().collect();
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{c:?}: {e}");
        assert!(e.contains("invalid value"), "{c:?}: {e}");
        assert!(e.contains(c[0]), "{c:?}: {e}");
    }
    for args in [
        &["replay", "--max-steps", "0", "uo2.x.AAAA"][..],
        &["locks", "--max-executions", "0"],
        &["locks", "--jobs", "0"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("invalid value"), "{args:?}");
    }
    let sock = ["--socket", "/nonexistent/uo.sock"];
    for (sub, opt) in [
        ("serve", "--time-scale"),
        ("serve", "--hung-task-timeout"),
        ("dsp", "--timeout"),
        ("dsp", "--time-scale"),
        ("stress", "--duration"),
        ("stress", "--time-scale"),
    ] {
        for bad in ["0", "nan", "-1"] {
            let mut args = vec![sub, opt, bad];
            if sub != "stress" {
                args.extend(sock);
            }
            let o = run(&args);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{sub} {opt} {bad}: {}",
                stderr(&o)
            );
            assert!(stderr(&o).contains("invalid value"), "{sub} {opt} {bad}");
        }
    }
    // Any u64 is a seed.
    let o = run(&[
        "check",
        "-d",
        "v2-offload-spinlock",
        "-s",
        "enable-disable",
        "--strategy",
        "random",
        "--max-executions",
        "3",
        "--seed",
        "18446744073709551615",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// A bounded search without a finding is `incomplete`: exit 3, and the JSON says
/// what bounded it.
#[test]
fn bounded_searches_exit_3() {
    let pair = ["check", "-d", "v2-offload-spinlock", "-s", "enable-disable"];
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--max-executions", "5"], "max-executions", "dpor"),
        (&["--max-steps", "50"], "step-bound", "dpor"),
        (
            &["--strategy", "random", "--max-executions", "20"],
            "strategy",
            "random",
        ),
        (
            &["--strategy", "pct", "--max-executions", "20"],
            "strategy",
            "pct",
        ),
    ];
    for (extra, bound, strategy) in cases {
        let args: Vec<&str> = pair
            .iter()
            .chain(extra.iter())
            .chain(["--json"].iter())
            .copied()
            .collect();
        let o = run(&args);
        assert_eq!(o.status.code(), Some(3), "{extra:?}: {}", stderr(&o));
        let v = json_lines(&o);
        assert_eq!(v[0]["verdict"], "incomplete", "{extra:?}");
        assert_eq!(v[0]["exhaustive"], false, "{extra:?}");
        assert_eq!(v[0]["bound"], *bound, "{extra:?}");
        assert_eq!(v[0]["strategy"], *strategy, "{extra:?}");
        assert_eq!(v[0]["findings"].as_array().unwrap().len(), 0);
    }
    // A wall-time limit on a search that needs far longer: a pair that passes (a failing
    // one may report its finding before the limit), with some 1 700 executions.
    let o = run(&[
        "check",
        "-d",
        "v2-offload-spinlock",
        "-s",
        "unplug-vs-reset",
        "--max-time",
        "0.01",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v = json_lines(&o);
    assert_eq!(v[0]["bound"], "max-time");
    assert_eq!(v[0]["exhaustive"], false);
    // The table run says so too.
    let o = run(&[
        "check",
        "-d",
        "v2-offload-spinlock",
        "-s",
        "enable-disable",
        "--max-executions",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stdout).contains("incomplete"));
}

/// Findings take precedence over a bounded search; a scenario's declared bound
/// is reported as such.
#[test]
fn findings_before_bounds_and_declared_bounds() {
    let o = run(&[
        "check",
        "-d",
        "v1-caller-locks",
        "-s",
        "enable-disable",
        "--max-executions",
        "5",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_lines(&o);
    assert_eq!(v[0]["verdict"], "fail");
    assert_eq!(v[0]["exhaustive"], false);
    assert_eq!(v[0]["bound"], "max-executions");
    // disable-vs-runtime-suspend declares a bound of 50 000 executions.
    let o = run(&[
        "check",
        "-d",
        "v0-core-locks",
        "-s",
        "disable-vs-runtime-suspend",
        "--json",
    ]);
    let v = json_lines(&o);
    assert_eq!(v[0]["bound"], "scenario-bound", "{}", v[0]);
    assert_eq!(v[0]["exhaustive"], false);
    let code = o.status.code();
    if v[0]["findings"].as_array().unwrap().is_empty() {
        assert_eq!(code, Some(3));
    } else {
        assert_eq!(code, Some(1));
    }
}

#[test]
fn help_documents_exit_codes() {
    for args in [&["--help"][..], &["check", "--help"]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0));
        let h = String::from_utf8_lossy(&o.stdout);
        assert!(h.contains("Exit codes"), "{args:?}: {h}");
        for code in ["0  ", "1  ", "2  ", "3  "] {
            assert!(h.contains(code), "{args:?} lacks exit code {code}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["check", "--design", "v9"]).status.code(), Some(2));
    assert_eq!(run(&["check", "--scenario", "nope"]).status.code(), Some(2));
    assert_eq!(run(&["replay", "not-a-token"]).status.code(), Some(2));
    assert_eq!(run(&["qmi", "decode", "zz"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn qmi_decode_reads_the_spec_vector() {
    let o = run(&[
        "qmi",
        "decode",
        "00 01 00 01 00 0B 00 01 01 00 01 02 04 00 00 00 01 00",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("card 1, pcm 0"), "{s}");
}

#[test]
fn selftest_json_contract() {
    let o = run(&[
        "selftest",
        "--json",
        "--quick",
        "--program",
        "abba",
        "--program",
        "nested-3x2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    for p in json_lines(&o) {
        for key in [
            "program",
            "verdict",
            "findings",
            "dpor_executions",
            "dfs_executions",
            "traces",
            "sound",
        ] {
            assert!(!p[key].is_null(), "{key} missing in {p}");
        }
        assert_eq!(p["sound"], true);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The human summary: matrix, one line per family of findings, a legend, and last
/// the exit code with its reason; progress as log lines on standard error.
#[test]
fn check_prints_a_short_summary_ending_in_the_exit_code() {
    let o = run(&[
        "check",
        "-d",
        "v1-caller-locks",
        "-d",
        "v2-offload-spinlock",
        "-s",
        "enable-disable",
        "-s",
        "stream-vs-reset",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() < 40, "{} lines:\n{out}", lines.len());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("scenario ") && l.contains("v1-caller-locks")),
        "{out}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with("enable-disable "))
        .expect("a matrix row");
    assert!(row.contains("FAIL ") && row.contains("pass"), "{row}");
    assert!(
        out.contains("v1-caller-locks/enable-disable/LK-4#1"),
        "{out}"
    );
    assert!(out.contains("LK-4 documented lock precondition"), "{out}");
    assert!(
        out.contains("properties (docs/spec/invariants.md)"),
        "{out}"
    );
    let last = lines.last().unwrap();
    assert!(last.starts_with("exit code 1: "), "{last}");
    assert!(!out.contains('\x1b'), "colour on a pipe");
    assert!(
        lines.iter().all(|l| l.trim_end() == *l),
        "trailing blanks:\n{out}"
    );
    assert!(
        !out.contains("counterexample ("),
        "details without --details"
    );
    // Not a terminal: one progress line per pair on standard error.
    let e = stderr(&o);
    assert_eq!(e.lines().filter(|l| l.starts_with('[')).count(), 4, "{e}");
    assert!(e.contains("v1-caller-locks/enable-disable: FAIL"), "{e}");
}

#[test]
fn check_quiet_details_and_color() {
    let pair = ["check", "-d", "v1-caller-locks", "-s", "enable-disable"];
    let args: Vec<&str> = pair
        .iter()
        .chain(&["--quiet", "--details", "--color", "always"])
        .copied()
        .collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).is_empty(), "--quiet: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("counterexample ("), "{out}");
    assert!(out.contains("replay: usb-offload replay uo2."), "{out}");
    assert!(out.contains("\x1b[1;31mFAIL"), "{out}");
    let brief: Vec<&str> = pair.iter().chain(&["--brief", "-q"]).copied().collect();
    let b = stdout(&run(&brief));
    assert!(!b.contains("LK-4#1"), "--brief lists no findings: {b}");
    assert!(b
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .starts_with("exit code 1"));
    let bad: Vec<&str> = pair
        .iter()
        .chain(&["--color", "sometimes"])
        .copied()
        .collect();
    assert_eq!(run(&bad).status.code(), Some(2));
}

#[test]
fn replay_writes_a_diagram_and_a_page() {
    let dir = std::env::temp_dir().join(format!("usb-offload-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, html) = (dir.join("d.svg"), dir.join("d.html"));
    let t = lk4_token();
    let o = Command::new(env!("CARGO_BIN_EXE_usb-offload"))
        .args(["replay", &t, "--svg"])
        .arg(&svg)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("replaying v1-caller-locks/enable-disable"));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(
        s.starts_with("<?xml") && s.trim_end().ends_with("</svg>"),
        "{s}"
    );
    for class in [
        "class=\"lane\"",
        "class=\"hold",
        "class=\"fail\"",
        "class=\"msg\"",
    ] {
        assert!(s.contains(class), "{class} missing from the SVG");
    }
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(
        h.starts_with("<!DOCTYPE html>") && h.contains("<svg"),
        "{h}"
    );
    assert!(!h.contains("<script"), "no scripts");
    assert!(h.contains(&t), "the page names its replay command");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_and_man_page_come_from_the_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(
            s.contains("usb-offload") && s.contains("max-executions"),
            "{shell}"
        );
    }
    let m = run(&["man"]);
    assert_eq!(m.status.code(), Some(0));
    let s = stdout(&m);
    assert!(s.contains(".TH usb-offload") && s.contains("check"), "{s}");
    let c = stdout(&run(&["man", "check"]));
    assert!(
        c.contains("usb-offload-check") && c.contains("\\-\\-details"),
        "{c}"
    );
    assert_eq!(run(&["man", "nope"]).status.code(), Some(2));
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn locks_help_documents_jobs() {
    let h = stdout(&run(&["locks", "--help"]));
    assert!(h.contains("--jobs"), "{h}");
}
