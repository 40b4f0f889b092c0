//! `usb-offload bench live`: enable/disable round trips over the live socket, per
//! design: a `serve` child process per design, this process as the DSP client.

use super::cmd_dsp::{quantile, Client};
use super::control::Event;
use model::Design;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn run(json_out: bool, quick: bool) -> u8 {
    let n = if quick { 200 } else { 2000 };
    let dir = std::env::temp_dir().join(format!("uo-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        return crate::EXIT_USAGE;
    }
    let mut rows = Vec::new();
    for design in Design::ALL {
        let sock = dir.join(format!("{}.sock", design.name()));
        let exe = std::env::current_exe().expect("own executable");
        let mut serve = Command::new(exe)
            .args(["serve", "--design", design.name()])
            .arg("--socket")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let guard = std::time::Instant::now() + Duration::from_secs(30);
        while !super::wire::ctl_path(&sock).exists() && std::time::Instant::now() < guard {
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = Client::new(&sock, model::dsp::DSP_PORT, false).and_then(|mut c| {
            c.quiet();
            c.bench(0, n / 10)?; // warm-up
            c.bench(0, n)
        });
        let _ = super::cmd_ctl::request(&sock, Event::Shutdown, Duration::from_secs(60));
        let _ = serve.kill();
        let _ = serve.wait();
        match r {
            Ok((rate, lat)) => rows.push((design, rate, quantile(&lat, 0.5), quantile(&lat, 0.99))),
            Err(e) => {
                eprintln!("error: {design}: {e}");
                return crate::EXIT_FINDING;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if json_out {
        let v: Vec<_> = rows
            .iter()
            .map(|(d, r, p50, p99)| json!({ "design": d.name(), "round_trips": n, "round_trips_per_s": r,
                "request_p50_us": p50.as_secs_f64() * 1e6, "request_p99_us": p99.as_secs_f64() * 1e6 }))
            .collect();
        println!("{}", json!({ "live": v }));
    } else {
        println!("enable/disable round trips over the live socket ({n} per design, one client):\n");
        println!("| design | round trips/s | request p50 | request p99 |");
        println!("|---|---|---|---|");
        for (d, r, p50, p99) in &rows {
            println!(
                "| {d} | {r:.0} | {:.1} µs | {:.1} µs |",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            );
        }
    }
    crate::EXIT_OK
}
