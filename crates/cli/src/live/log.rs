//! One line per event: human-readable, or JSON Lines with `--json`.

use serde_json::{json, Value};
use std::io::Write;
use std::time::Instant;

pub struct Log {
    json: bool,
    quiet: bool,
    t0: Instant,
}

impl Log {
    pub fn new(json: bool) -> Self {
        Log {
            json,
            quiet: false,
            t0: Instant::now(),
        }
    }

    /// Prints nothing (benchmarks).
    pub fn quiet() -> Self {
        Log {
            quiet: true,
            ..Log::new(false)
        }
    }

    /// Seconds since start.
    pub fn t(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Logs event `kind` with `text`; `extra` (an object) adds fields to the JSON line.
    pub fn event(&self, kind: &str, text: &str, extra: Value) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        if self.json {
            let mut v = json!({ "t": (self.t() * 1e6).round() / 1e6, "event": kind, "text": text });
            if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                o.extend(e);
            }
            let _ = writeln!(out, "{v}");
        } else {
            let _ = writeln!(out, "{:>9.3} {kind:<11} {text}", self.t());
        }
        let _ = out.flush();
    }
}
