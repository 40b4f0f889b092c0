//! `usb-offload ctl`: one event to a running `serve`.

use super::control::Event;
use super::wire;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
#[command(after_help = "\
The event runs in the kernel thread that runs it in the model (T_hub, T_reset, T_usr, \
T_sys, T_rpm, T_aux); the reply comes when its path returns, so `ctl unplug` returns \
once the disconnect is done (after the driver's wait for the DSP, if the DSP does not \
answer the indication).

Examples:
  usb-offload ctl --socket /tmp/uo.sock unplug
  usb-offload ctl --socket /tmp/uo.sock status --json
  usb-offload ctl --socket /tmp/uo.sock shutdown     # end checks; exit 1 on findings

Exit codes: 0 done; 1 the service reported findings at shutdown, or no reply in time; \
2 usage error or no service at PATH.")]
pub struct Args {
    /// Path of the service's QMI socket (as given to `serve`; the control socket is PATH.ctl).
    #[arg(long)]
    pub socket: PathBuf,
    /// The event.
    #[arg(value_enum)]
    pub event: Event,
    /// Seconds to wait for the reply (real time).
    #[arg(long, default_value_t = 60.0, value_name = "SECS", allow_hyphen_values = true, value_parser = crate::args::seconds)]
    pub timeout: f64,
    /// Print the reply as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Sends `ev` and waits for the reply.
pub fn request(
    sock: &std::path::Path,
    ev: Event,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let me = wire::client_path(sock, "ctl");
    let s = UnixDatagram::bind(&me).map_err(|e| format!("cannot bind {}: {e}", me.display()))?;
    let _rm = Remove(me);
    s.send_to(ev.name().as_bytes(), wire::ctl_path(sock))
        .map_err(|e| format!("no service at {}: {e}", sock.display()))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    let n = s
        .recv(&mut buf)
        .map_err(|_| {
            format!(
                "no reply to {} within {timeout:?} (the event may still run, or the service hangs: see its log)",
                ev.name()
            )
        })?;
    serde_json::from_slice(&buf[..n]).map_err(|e| format!("bad reply: {e}"))
}

struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn run(a: Args) -> u8 {
    let v = match request(&a.socket, a.event, Duration::from_secs_f64(a.timeout)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.starts_with("no service") || e.starts_with("cannot bind") {
                crate::EXIT_USAGE
            } else {
                crate::EXIT_FINDING
            };
        }
    };
    if a.json {
        println!("{v}");
    } else {
        print_human(&v);
    }
    let findings = v["findings"].as_array().map_or(0, Vec::len);
    if v["ok"] == false || findings > 0 || v["quiesced"] == false {
        crate::EXIT_FINDING
    } else {
        crate::EXIT_OK
    }
}

fn print_human(v: &serde_json::Value) {
    let cmd = v["cmd"].as_str().unwrap_or("?");
    if let Some(e) = v["error"].as_str() {
        println!("error: {e}");
        return;
    }
    match cmd {
        "status" => println!("{}", v["status"]),
        "shutdown" => {
            let f = v["findings"].as_array().cloned().unwrap_or_default();
            for x in &f {
                println!(
                    "finding {} {} ({}): {}",
                    x["kind"].as_str().unwrap_or("?"),
                    x["property"].as_str().unwrap_or("?"),
                    x["task"].as_str().unwrap_or("?"),
                    x["summary"].as_str().unwrap_or("")
                );
            }
            println!(
                "shutdown: {} finding(s){}; resources {}",
                f.len(),
                if v["quiesced"] == false {
                    " (did not quiesce)"
                } else {
                    ""
                },
                v["resources"]
            );
        }
        _ => println!(
            "{cmd}: {} ({:.1} ms)",
            v["result"].as_str().unwrap_or(""),
            v["ms"].as_f64().unwrap_or(0.0)
        ),
    }
}
