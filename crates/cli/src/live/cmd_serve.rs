//! `usb-offload serve`: the stack on OS threads, serving the QMI uaudio service on a
//! Unix datagram socket.

use super::control::{self, Event};
use super::log::Log;
use super::wire;
use model::dsp::Transport;
use model::soc::qcom::qmi_interface::{SockaddrQrtr, APPS_NODE};
use model::system::{Config, Sys};
use model::Design;
use serde_json::json;
use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
#[command(after_help = "\
The QMI socket carries one QRTR datagram per Unix datagram: the source address \
(node, port: two LE32 words, as the QRTR router reports it), then the payload \
unchanged: a QMI message, or a 20-byte qrtr_ctrl_pkt from the name service (1:0xfffffffe). \
Events go to the control socket PATH.ctl (`usb-offload ctl`).

Example (three terminals):
  usb-offload serve --design v2-offload-spinlock --socket /tmp/uo.sock
  usb-offload dsp --socket /tmp/uo.sock enable listen
  usb-offload ctl --socket /tmp/uo.sock unplug

Exit codes: 0 shut down with no finding; 1 findings at shutdown, or a hung task (the \
watchdog printed it); 2 usage error.")]
pub struct Args {
    /// The offload design the stack runs (v0-core-locks, v1-caller-locks, v2-offload-spinlock).
    #[arg(long, default_value = "v2-offload-spinlock")]
    pub design: Design,
    /// Path of the QMI socket (the control socket is PATH.ctl).
    #[arg(long)]
    pub socket: PathBuf,
    /// Real seconds per model second: 0.01 makes the driver's 10 s disconnect wait last 100 ms.
    #[arg(long, default_value_t = 1.0, value_name = "X", allow_hyphen_values = true, value_parser = crate::args::time_scale)]
    pub time_scale: f64,
    /// Autosuspend delay of the audio device, model milliseconds (0: suspend as soon as idle).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub autosuspend_delay_ms: u64,
    /// Hung-task watchdog: a task blocked this long (model seconds, above every timeout of
    /// the model: the 10 s disconnect wait) is reported with the locks of every task, then
    /// the service exits 1. The real limit is at least 1 s.
    #[arg(long, default_value_t = 30.0, value_name = "SECS", allow_hyphen_values = true, value_parser = crate::args::seconds)]
    pub hung_task_timeout: f64,
    /// Seed of the model's nondeterministic choices on OS threads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The service side of the socket: responses and indications to the Unix address
/// that last sent from the destination's QRTR address.
struct SocketTransport {
    sock: UnixDatagram,
    peers: parking_lot::Mutex<HashMap<SockaddrQrtr, PathBuf>>,
    log: Arc<Log>,
}

impl Transport for SocketTransport {
    fn send(&self, dst: SockaddrQrtr, bytes: Vec<u8>) -> bool {
        let what = wire::describe(wire::SERVICE_ADDR, &bytes);
        let peer = self.peers.lock().get(&dst).cloned();
        let sent = peer.is_some_and(|p| {
            self.sock
                .send_to(&wire::frame(wire::SERVICE_ADDR, &bytes), &p)
                .is_ok()
        });
        let (kind, text) = if sent {
            (
                "qmi-tx",
                format!("to {dst}: {what} ({} bytes)", bytes.len()),
            )
        } else {
            ("qmi-lost", format!("to {dst}: {what}: no socket, lost"))
        };
        self.log.event(
            kind,
            &text,
            json!({ "dst": dst.to_string(), "bytes": qmi::cli::to_hex(&bytes) }),
        );
        sent
    }
}

/// Whether the kernel's QMI layer hands this datagram to `handle_uaudio_stream_req`,
/// which answers every request it gets: the DSP's side of the request/response
/// balance (RES-10) that the model's DSP counts when it sends.
fn answered(src: SockaddrQrtr, payload: &[u8]) -> bool {
    if qmi::qrtr::is_ctrl_source(APPS_NODE, src.node, src.port) {
        return false;
    }
    let buf = qmi::service_view(payload);
    match qmi::decode(buf, qmi::DecodeMode::Kernel) {
        Ok(qmi::Message::Req { .. }) => true,
        // the model handles an over-read request with either fill byte
        Err(qmi::DecodeError::KernelOverRead { .. }) => [0x00, 0xff]
            .iter()
            .all(|&f| qmi::decode_req_kernel_overread(buf, f).is_ok()),
        _ => false,
    }
}

pub fn run(a: Args) -> u8 {
    ksync::live::set_time_scale(a.time_scale);
    ksync::live::seed(a.seed);
    let log = Arc::new(Log::new(a.json));
    let ctl_path = wire::ctl_path(&a.socket);
    let (sock, ctl) = match (bind(&a.socket), bind(&ctl_path)) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let mut cfg = Config::new(a.design);
    cfg.autosuspend_delay_ms = a.autosuspend_delay_ms;
    let sys = model::kit::setup(cfg);
    let transport = Arc::new(SocketTransport {
        sock: sock.try_clone().expect("clone socket"),
        peers: Default::default(),
        log: log.clone(),
    });
    sys.qmi.set_transport(transport.clone());
    let cleanup = Cleanup(vec![a.socket.clone(), ctl_path.clone()]);
    let limit =
        ksync::live::real((a.hung_task_timeout * 1000.0) as u64).max(Duration::from_secs(1));
    log.event(
        "listening",
        &format!(
            "{} on {} (control: {}), time scale {}, hung-task limit {} ms",
            a.design,
            a.socket.display(),
            ctl_path.display(),
            a.time_scale,
            limit.as_millis()
        ),
        json!({ "design": a.design.name(), "socket": a.socket, "ctl": ctl_path, "status": control::status(&sys) }),
    );
    let findings = Arc::new(parking_lot::Mutex::new(Vec::new()));
    spawn_watchdog(limit, log.clone(), findings.clone(), cleanup.0.clone());
    {
        let (sys, log) = (sys.clone(), log.clone());
        std::thread::Builder::new()
            .name("qrtr_rx".into())
            .spawn(move || qrtr_rx(&sys, &sock, &transport, &log))
            .expect("spawn qrtr_rx");
    }
    let code = ctl_loop(&sys, &ctl, &log, &findings);
    drop(cleanup);
    code
}

/// The receive side of the service's socket: every datagram is queued on `qmi_wq`
/// (`qmi_data_ready_work`), as the QRTR socket's data-ready callback does.
fn qrtr_rx(sys: &Sys, sock: &UnixDatagram, t: &SocketTransport, log: &Log) {
    let mut buf = vec![0u8; wire::MAX_DATAGRAM];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            // a transient error (EINTR, ENOBUFS): retry without spinning
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let d = &buf[..n];
        let Some((src, payload)) = wire::unframe(d) else {
            log.event(
                "qmi-rx-bad",
                &format!("{n} byte datagram shorter than the source address: dropped"),
                json!({ "bytes": qmi::cli::to_hex(d) }),
            );
            continue;
        };
        if let Some(p) = from.as_pathname() {
            if !qmi::qrtr::is_ctrl_source(APPS_NODE, src.node, src.port) {
                t.peers.lock().insert(src, p.to_path_buf());
            }
        }
        log.event(
            "qmi-rx",
            &format!(
                "from {src}: {} ({} bytes)",
                wire::describe(src, payload),
                payload.len()
            ),
            json!({ "src": src.to_string(), "bytes": qmi::cli::to_hex(payload) }),
        );
        if answered(src, payload) {
            sys.qmi.requests.add(1);
        }
        sys.qmi.send_datagram(sys, src, payload.to_vec());
    }
}

/// The control socket: each event runs in its own kernel thread; the reply goes when
/// it returns.
fn ctl_loop(
    sys: &Sys,
    ctl: &UnixDatagram,
    log: &Arc<Log>,
    findings: &Arc<parking_lot::Mutex<Vec<ksync::Finding>>>,
) -> u8 {
    let inflight = Arc::new(AtomicUsize::new(0));
    let reply_sock = Arc::new(ctl.try_clone().expect("clone socket"));
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, from)) = ctl.recv_from(&mut buf) else {
            continue;
        };
        let to = from.as_pathname().map(Path::to_path_buf);
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let reply = |v: serde_json::Value| {
            if let Some(to) = &to {
                let _ = reply_sock.send_to(v.to_string().as_bytes(), to);
            }
        };
        let Some(ev) = Event::parse(&text) else {
            log.event(
                "ctl-bad",
                &format!("unknown command {:?}: ignored", text.trim()),
                json!({}),
            );
            reply(json!({ "ok": false, "error": format!("unknown command {:?}", text.trim()) }));
            continue;
        };
        match ev {
            Event::Status => {
                let s = control::status(sys);
                log.event("ctl", "status", json!({ "status": s }));
                reply(json!({ "ok": true, "cmd": "status", "status": s }));
            }
            Event::Shutdown => {
                log.event("ctl", "shutdown: quiescing", json!({}));
                let calm = control::quiesce(sys, &inflight, Duration::from_secs(120));
                let end = control::end_checks(sys);
                for f in &end {
                    log_finding(log, f);
                }
                let mut all = std::mem::take(&mut *findings.lock());
                all.extend(end);
                let res = control::resources(sys);
                let js: Vec<_> = all.iter().map(control::finding_json).collect();
                log.event(
                    "shutdown",
                    &format!(
                        "{} finding(s){}; resources {res}",
                        all.len(),
                        if calm { "" } else { " (did not quiesce)" }
                    ),
                    json!({ "findings": js, "resources": res, "quiesced": calm }),
                );
                reply(
                    json!({ "ok": true, "cmd": "shutdown", "findings": js, "resources": res,
                    "quiesced": calm, "status": control::status(sys) }),
                );
                return if all.is_empty() && calm {
                    crate::EXIT_OK
                } else {
                    crate::EXIT_FINDING
                };
            }
            ev => {
                log.event(
                    "ctl",
                    &format!("{} ({})", ev.name(), ev.task()),
                    json!({ "cmd": ev.name(), "task": ev.task() }),
                );
                inflight.fetch_add(1, Ordering::SeqCst);
                let (s, log, inflight) = (sys.clone(), log.clone(), inflight.clone());
                let reply_sock = reply_sock.clone();
                ksync::spawn(ev.task(), move || {
                    let t0 = log.t();
                    let r = ev.run(&s);
                    let ms = (log.t() - t0) * 1000.0;
                    log.event(
                        "ctl-done",
                        &format!("{}: {r} ({ms:.1} ms)", ev.name()),
                        json!({ "cmd": ev.name(), "result": r, "ms": ms }),
                    );
                    if let Some(to) = &to {
                        let v = json!({ "ok": true, "cmd": ev.name(), "result": r, "ms": ms });
                        let _ = reply_sock.send_to(v.to_string().as_bytes(), to);
                    }
                    inflight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    }
}

fn log_finding(log: &Log, f: &ksync::Finding) {
    log.event(
        "finding",
        &control::finding_line(f),
        json!({ "finding": control::finding_json(f) }),
    );
}

/// `khungtaskd`: checks the blocked tasks; a task blocked past `limit` is reported with
/// every task's locks and the service exits 1. It also logs findings as model code
/// reports them.
fn spawn_watchdog(
    limit: Duration,
    log: Arc<Log>,
    findings: Arc<parking_lot::Mutex<Vec<ksync::Finding>>>,
    sockets: Vec<PathBuf>,
) {
    let period = (limit / 4).clamp(Duration::from_millis(10), Duration::from_millis(500));
    std::thread::Builder::new()
        .name("khungtaskd".into())
        .spawn(move || loop {
            std::thread::sleep(period);
            for f in ksync::take_live_findings() {
                log_finding(&log, &f);
                findings.lock().push(f);
            }
            if let Some((hung, all)) = ksync::live::hung_tasks(limit) {
                let h = super::control::report_hang(&hung, &all, limit);
                log.event(
                    "hung-task",
                    &format!(
                        "{} task(s) blocked for more than {} ms: {}",
                        hung.len(),
                        limit.as_millis(),
                        h.tasks
                    ),
                    json!({ "report": h.report, "cycle": h.cycle, "tasks": hung.iter().map(|t| json!({
                        "task": t.name,
                        "blocked_on": t.blocked.as_ref().map(|b| b.0.to_string()),
                        "held": t.held.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>() }),
                );
                drop(Cleanup(sockets.clone()));
                std::process::exit(crate::EXIT_FINDING as i32);
            }
        })
        .expect("spawn watchdog");
}

/// Binds a datagram socket at `p`, replacing a stale socket file (not any other file).
fn bind(p: &Path) -> Result<UnixDatagram, String> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(m) = std::fs::symlink_metadata(p) {
        if m.file_type().is_socket() {
            let _ = std::fs::remove_file(p);
        } else {
            return Err(format!("{} exists and is not a socket", p.display()));
        }
    }
    UnixDatagram::bind(p).map_err(|e| format!("cannot bind {}: {e}", p.display()))
}

/// Removes the socket files when the service ends.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}
