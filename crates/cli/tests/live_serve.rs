//! Live mode end to end: `serve` as a subprocess, `dsp` and `ctl` over its sockets.
//!
//! What a live run may report is tied to what the checker finds on the same
//! situation: a design that passes it in `check` must shut down with no finding and
//! every resource back to zero; any other design may only show findings the checker
//! found. Timeouts are failure guards only; nothing asserts on timing.

use model::kit::{self, Path, Reaction};
use model::{Config, Design};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_usb-offload");
/// Real seconds per model second: the 10 s disconnect wait lasts 1 s.
const SCALE: &str = "0.1";

struct Serve {
    child: Child,
    dir: PathBuf,
    sock: PathBuf,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Serve {
    fn start(design: Design, extra: &[&str]) -> Serve {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "uo-live-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("uo.sock");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--json",
                "--design",
                design.name(),
                "--time-scale",
                SCALE,
            ])
            .arg("--socket")
            .arg(&sock)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            s
        });
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("serve announces its socket");
        let v: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(v["event"], "listening", "{first}");
        Serve {
            child,
            dir,
            sock,
            lines,
            stderr: Some(stderr),
        }
    }

    fn sock(&self) -> &str {
        self.sock.to_str().unwrap()
    }

    fn dsp(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args([
                "dsp",
                "--json",
                "--time-scale",
                SCALE,
                "--timeout",
                "20",
                "--socket",
            ])
            .arg(self.sock())
            .args(args)
            .output()
            .expect("run dsp")
    }

    fn ctl(&self, ev: &str) -> Value {
        let o = Command::new(BIN)
            .args([
                "ctl",
                "--json",
                "--timeout",
                "30",
                "--socket",
                self.sock(),
                ev,
            ])
            .output()
            .expect("run ctl");
        let s = String::from_utf8_lossy(&o.stdout);
        serde_json::from_str(s.trim()).unwrap_or_else(|e| {
            panic!(
                "ctl {ev}: not JSON ({e}): {s} {}",
                String::from_utf8_lossy(&o.stderr)
            )
        })
    }

    /// Waits for the service to exit: (exit code, log lines, standard error).
    fn wait(mut self) -> (Option<i32>, Vec<Value>, String) {
        let guard = std::time::Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(std::time::Instant::now() < guard, "serve did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        let lines = self
            .lines
            .try_iter()
            .map(|l| serde_json::from_str(&l).unwrap())
            .collect();
        let err = self.stderr.take().unwrap().join().unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
        (status.code(), lines, err)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn properties(findings: &Value) -> BTreeSet<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["property"].as_str().unwrap().to_string())
        .collect()
}

/// What the live run found is what `check` finds for the design, or part of it: no
/// finding where `check` passes.
fn assert_live_within_check(design: Design, live: &BTreeSet<String>, checked: &BTreeSet<String>) {
    if checked.is_empty() {
        assert!(
            live.is_empty(),
            "{design} passes in check, live found {live:?}"
        );
    } else {
        assert!(
            live.is_subset(checked),
            "{design}: live {live:?} not among check's {checked:?}"
        );
    }
}

/// The resources a session holds and its end frees (the sideband and the info array
/// stay with the device until it goes).
fn assert_resources_zero(res: &Value) {
    for k in ["iommu_maps", "er_mappings", "coherent_bufs", "interrupters"] {
        assert_eq!(res[k], 0, "{k} left at shutdown: {res}");
    }
    assert_eq!(res["qmi_requests"], res["qmi_responses"], "{res}");
}

/// The scenario `enable-disable` of the suite is this run: the DSP enables one
/// stream, then disables it; its verdict per design is the suite's expectation.
#[test]
fn enable_disable_over_the_socket() {
    let sc = model::find_scenario("enable-disable").expect("suite scenario");
    for design in Design::ALL {
        let checked = sc.expected(design);
        let serve = Serve::start(design, &[]);
        let o = serve.dsp(&["enable", "disable"]);
        let out = json_lines(&o);
        assert_eq!(o.status.code(), Some(0), "{design}: {out:?}");
        let resp: Vec<_> = out.iter().filter(|v| v["event"] == "dsp-resp").collect();
        assert_eq!(resp.len(), 2, "{out:?}");
        assert!(resp.iter().all(|v| v["ok"] == true), "{out:?}");
        let v = serve.ctl("shutdown");
        assert_eq!(v["quiesced"], true, "{v}");
        assert_resources_zero(&v["resources"]);
        let live = properties(&v["findings"]);
        assert_live_within_check(design, &live, &checked);
        let (code, _, _) = serve.wait();
        assert_eq!(code, Some(if live.is_empty() { 0 } else { 1 }));
    }
}

/// What `check` finds when an active stream meets an unplug and the DSP answers the
/// disconnect indication with a disable: the situation of the live runs below.
fn check_stream_vs_unplug(design: Design) -> BTreeSet<String> {
    let cfg = kit::reacting(Config::new(design), &[Reaction::Disable]);
    let c = model::check(cfg, |sys| {
        kit::start_stream(sys, 0);
        kit::race(sys, &[Path::Unplug]);
    });
    assert!(c.exhaustive());
    c.properties()
}

/// Enable, unplug, the indication arrives, the DSP disables, the session is torn
/// down: for every design the checker finds no deadlock in, the live run must end with
/// zero resources, and only with findings the checker found.
#[test]
fn unplug_indication_and_teardown() {
    let mut ran = 0;
    for design in Design::ALL {
        let checked = check_stream_vs_unplug(design);
        eprintln!("{design}: check finds {checked:?}");
        if checked.contains("LK-2") || checked.contains("LK-1") {
            continue; // a deadlock: the watchdog's test below
        }
        ran += 1;
        let serve = Serve::start(design, &[]);
        let sock = serve.sock().to_string();
        let dsp = std::thread::spawn(move || {
            Command::new(BIN)
                .args(["dsp", "--json", "--time-scale", SCALE, "--timeout", "20"])
                .args(["--socket", &sock, "enable", "wait-ind"])
                .output()
                .unwrap()
        });
        // the unplug only once the stream is up
        let status = loop {
            let s = serve.ctl("status");
            if s["status"]["in_use"] == 1 {
                break s;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status["status"]["offload_usage"], 1, "{status}");
        let u = serve.ctl("unplug");
        assert_eq!(u["ok"], true, "{u}");
        let o = dsp.join().unwrap();
        let out = json_lines(&o);
        assert_eq!(o.status.code(), Some(0), "{design}: {out:?}");
        assert!(
            out.iter()
                .any(|v| v["event"] == "dsp-ind" && v["dev_event"] == "DISCONNECT"),
            "no disconnect indication: {out:?}"
        );
        let v = serve.ctl("shutdown");
        assert_eq!(v["quiesced"], true, "{v}");
        assert_resources_zero(&v["resources"]);
        assert_eq!(v["status"]["in_use"], 0, "{v}");
        if v["status"]["state"] != "NotAttached" {
            assert_eq!(v["status"]["offload_usage"], 0, "{v}");
        }
        let live = properties(&v["findings"]);
        assert_live_within_check(design, &live, &checked);
        let (code, lines, _) = serve.wait();
        assert_eq!(code, Some(if live.is_empty() { 0 } else { 1 }));
        assert!(lines
            .iter()
            .any(|l| l["event"] == "qmi-tx" && l["text"].as_str().unwrap().contains("indication")));
    }
    assert!(ran > 0, "no design without a deadlock here");
}

/// v1-caller-locks: the checker finds the deadlock of an unplug against the DSP's
/// disable (LK-2); on real threads the hung-task watchdog reports it with the locks of
/// both tasks and the waits-for cycle, and the service exits 1.
#[test]
fn watchdog_reports_the_v1_unplug_deadlock() {
    let design = Design::V1CallerLocks;
    assert!(check_stream_vs_unplug(design).contains("LK-2"));
    let serve = Serve::start(design, &["--hung-task-timeout", "15"]);
    // answers the indication with a disable, which the deadlock leaves unanswered
    let mut dsp = Command::new(BIN)
        .args(["dsp", "--json", "--time-scale", SCALE, "--timeout", "30"])
        .args(["--socket", serve.sock(), "enable", "wait-ind"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while serve.ctl("status")["status"]["in_use"] != 1 {
        std::thread::sleep(Duration::from_millis(10));
    }
    // `ctl unplug` gets no reply: the service exits first
    let mut ctl = Command::new(BIN)
        .args(["ctl", "--timeout", "30", "--socket", serve.sock(), "unplug"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (code, lines, err) = serve.wait();
    for c in [&mut ctl, &mut dsp] {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert_eq!(code, Some(1), "{err}");
    let hung = lines
        .iter()
        .find(|l| l["event"] == "hung-task")
        .unwrap_or_else(|| panic!("no hung-task event: {lines:?}"));
    let cycle: BTreeSet<&str> = hung["cycle"]
        .as_array()
        .expect("a waits-for cycle")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(cycle, BTreeSet::from(["T_hub", "qmi_wq"]), "{hung}");
    for needle in [
        "INFO: task qmi_wq blocked",
        "INFO: task T_hub blocked",
        "Showing all locks held in the system:",
        "lock held by qmi_wq:\n #0: (qdev_mutex), at: handle_uaudio_stream_req",
        "(&udev->dev.mutex/2) [1-1.1], at: usb_disconnect",
        "qmi_wq blocked on lock (&udev->dev.mutex/2) [1-1.1], held by T_hub",
        "T_hub blocked on lock (qdev_mutex), held by qmi_wq",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}
