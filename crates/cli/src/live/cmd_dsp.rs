//! `usb-offload dsp`: a DSP's QMI client of the uaudio service over the live socket.
//!
//! It encodes requests with the `qmi` crate (transaction ids 1, 2, ...), decodes
//! responses and indications strictly, checks that a response echoes its request's
//! token (the model's DSP reports RES-10 otherwise), and answers a disconnect
//! indication the way the model's DSP can (`model::dsp::Reaction`).

use super::log::Log;
use super::wire;
use model::dsp::{Reaction, StreamReq, DSP_NODE, DSP_PORT};
use model::soc::qcom::qmi_interface::SockaddrQrtr;
use qmi::qrtr::CtrlPkt;
use qmi::{DecodeMode, Message};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
#[command(after_help = "\
ACTIONS run in order (default: enable listen):
  enable | disable    a stream request for --card; prints the response
  wait-ind            wait for one indication and answer it (--on-disconnect)
  listen              answer indications until interrupted
  bye | del-client    the name service's BYE / DEL_CLIENT about this DSP (a crash)
  sleep=MS            pause MS real milliseconds
  bench=N             N enable/disable round trips; prints round trips/s and p50/p99

Example:
  usb-offload dsp --socket /tmp/uo.sock enable wait-ind

Exit codes: 0 every request succeeded; 1 a request failed, a response or indication did \
not decode strictly or did not match, or nothing came in time; 2 usage error or no \
service at PATH.")]
pub struct Args {
    /// Path of the service's QMI socket.
    #[arg(long)]
    pub socket: PathBuf,
    /// Sound card of the requests.
    #[arg(long, default_value_t = 0)]
    pub card: u16,
    /// QRTR port of this client on the DSP node (5); the service records the first
    /// client that sends a request.
    #[arg(long, default_value_t = DSP_PORT)]
    pub port: u32,
    /// The answer to a disconnect indication.
    #[arg(long, value_enum, default_value = "disable")]
    pub on_disconnect: Reaction,
    /// Real seconds per model second, as given to `serve` (for `late`).
    #[arg(long, default_value_t = 1.0, value_name = "X", allow_hyphen_values = true, value_parser = crate::args::time_scale)]
    pub time_scale: f64,
    /// Real seconds to wait for a response or an indication.
    #[arg(long, default_value_t = 30.0, value_name = "SECS", allow_hyphen_values = true, value_parser = crate::args::seconds)]
    pub timeout: f64,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// What to do.
    #[arg(value_name = "ACTION")]
    pub actions: Vec<String>,
}

/// A DSP client on its own socket next to the service's.
pub struct Client {
    sock: UnixDatagram,
    me: PathBuf,
    svc: PathBuf,
    addr: SockaddrQrtr,
    next_txn: u16,
    inds: VecDeque<qmi::StreamInd>,
    /// slot id → card, from successful enables
    slots: HashMap<u32, u16>,
    /// responses or indications that failed the DSP's checks (RES-10)
    pub errors: usize,
    /// requests answered with a failure
    pub failures: usize,
    pub react: Reaction,
    pub time_scale: f64,
    pub timeout: Duration,
    log: Log,
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.me);
    }
}

impl Client {
    pub fn new(svc: &Path, port: u32, json: bool) -> Result<Client, String> {
        let me = wire::client_path(svc, "dsp");
        let sock =
            UnixDatagram::bind(&me).map_err(|e| format!("cannot bind {}: {e}", me.display()))?;
        if !svc.exists() {
            let _ = std::fs::remove_file(&me);
            return Err(format!("no service at {}", svc.display()));
        }
        Ok(Client {
            sock,
            me,
            svc: svc.to_path_buf(),
            addr: SockaddrQrtr::new(DSP_NODE, port),
            next_txn: 1,
            inds: VecDeque::new(),
            slots: HashMap::new(),
            errors: 0,
            failures: 0,
            react: Reaction::Disable,
            time_scale: 1.0,
            timeout: Duration::from_secs(30),
            log: Log::new(json),
        })
    }

    /// Logs nothing from now on (benchmarks).
    pub fn quiet(&mut self) {
        self.log = Log::quiet();
    }

    /// A datagram from `src` (the DSP's address, or the name service's).
    pub fn send_raw(&self, src: SockaddrQrtr, payload: &[u8]) -> Result<(), String> {
        self.sock
            .send_to(&wire::frame(src, payload), &self.svc)
            .map(|_| ())
            .map_err(|e| format!("send to {}: {e}", self.svc.display()))
    }

    fn recv(&mut self, until: Instant) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; wire::MAX_DATAGRAM];
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let _ = self
                .sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.sock.recv(&mut buf) {
                Ok(n) => match wire::unframe(&buf[..n]) {
                    Some((_, p)) => return Some(p.to_vec()),
                    None => {
                        self.errors += 1;
                        continue;
                    }
                },
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => return None,
            }
        }
    }

    /// Takes an indication datagram (strict decode); anything else is an error.
    fn stash(&mut self, bytes: &[u8]) -> Option<(u16, qmi::StreamResp)> {
        match qmi::decode(bytes, DecodeMode::Strict) {
            Ok(Message::Resp { txn, msg }) => Some((txn, msg)),
            Ok(Message::Ind { msg, .. }) => {
                self.inds.push_back(msg);
                None
            }
            Ok(other) => {
                self.error(&format!("expected a response or indication, got {other:?}"));
                None
            }
            Err(e) => {
                self.error(&format!("datagram does not decode (strict): {e}"));
                None
            }
        }
    }

    fn error(&mut self, what: &str) {
        self.errors += 1;
        self.log
            .event("dsp-error", &format!("RES-10: {what}"), json!({}));
    }

    /// A stream request for `card`; waits for its response.
    pub fn request(&mut self, enable: bool, card: u16) -> Result<qmi::StreamResp, String> {
        let txn = self.next_txn;
        self.next_txn = self.next_txn.wrapping_add(1).max(1);
        let req = StreamReq::new(enable, card as usize);
        let bytes = qmi::encode_req(txn, &req.to_qmi());
        self.send_raw(self.addr, &bytes)?;
        let what = if enable { "enable" } else { "disable" };
        let until = Instant::now() + self.timeout;
        loop {
            let Some(d) = self.recv(until) else {
                self.errors += 1;
                return Err(format!(
                    "no response to {what} txn {txn} within {:?}",
                    self.timeout
                ));
            };
            let Some((rtxn, msg)) = self.stash(&d) else {
                continue;
            };
            if rtxn != txn {
                self.error(&format!(
                    "response txn {rtxn} matches no outstanding request"
                ));
                continue;
            }
            if msg.usb_token != Some(req.usb_token()) {
                self.error(&format!(
                    "response txn {txn} echoes token {:?}, request had {:?}",
                    msg.usb_token,
                    req.usb_token()
                ));
            }
            let ok = msg.status.map(|s| s.raw()) == Some(0);
            if ok && enable {
                if let Some(s) = msg.slot_id {
                    self.slots.insert(s, card);
                }
            }
            if !ok {
                self.failures += 1;
            }
            let st = msg.internal_status.unwrap_or(0);
            self.log.event(
                "dsp-resp",
                &if ok {
                    format!(
                        "{what} card {card}: success (slot {}, interrupter {}, ring iova {:#x})",
                        msg.slot_id.unwrap_or(0),
                        msg.interrupter_num.unwrap_or(0),
                        msg.xhci_mem_info.unwrap_or_default().tr_data.iova
                    )
                } else {
                    format!(
                        "{what} card {card}: failure {st} ({})",
                        qmi::cli::errno_name(-st).unwrap_or("?")
                    )
                },
                json!({ "request": what, "card": card, "txn": txn, "ok": ok, "internal_status": st,
                    "bytes": qmi::cli::to_hex(&d) }),
            );
            return Ok(msg);
        }
    }

    /// Waits for the next indication.
    pub fn wait_indication(&mut self, timeout: Duration) -> Option<qmi::StreamInd> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(i) = self.inds.pop_front() {
                return Some(i);
            }
            let d = self.recv(until)?;
            if let Some((txn, _)) = self.stash(&d) {
                self.error(&format!(
                    "response txn {txn} matches no outstanding request"
                ));
            }
        }
    }

    /// Answers `ind` with [`Client::react`].
    pub fn answer(&mut self, ind: &qmi::StreamInd) -> Result<(), String> {
        self.log.event(
            "dsp-ind",
            &format!("indication {} slot {}", ind.dev_event, ind.slot_id),
            json!({ "dev_event": ind.dev_event.to_string(), "slot": ind.slot_id }),
        );
        if ind.dev_event != qmi::DeviceIndication::Disconnect {
            return Ok(());
        }
        let Some(&card) = self.slots.get(&ind.slot_id) else {
            self.log.event(
                "dsp",
                &format!("no stream on slot {}: ignored", ind.slot_id),
                json!({}),
            );
            return Ok(());
        };
        self.log.event(
            "dsp",
            &format!("answers the disconnect with {:?}", self.react),
            json!({ "react": format!("{:?}", self.react) }),
        );
        match self.react {
            Reaction::Disable => self.request(false, card).map(drop),
            Reaction::Never => Ok(()),
            Reaction::Late => {
                let ms = control_wait_ms() + 1;
                std::thread::sleep(Duration::from_secs_f64(
                    ms as f64 / 1000.0 * self.time_scale,
                ));
                self.request(false, card).map(drop)
            }
            Reaction::Bye => self.bye(),
            Reaction::DelClient => self.del_client(),
            Reaction::Enable => self.request(true, card).map(drop),
        }
    }

    /// The name service's BYE for the DSP node, in wire form.
    pub fn bye(&self) -> Result<(), String> {
        self.send_raw(wire::NAME_SERVICE, &CtrlPkt::bye(self.addr.node).to_bytes())
    }

    /// The name service's DEL_CLIENT for this client's port.
    pub fn del_client(&self) -> Result<(), String> {
        self.send_raw(
            wire::NAME_SERVICE,
            &CtrlPkt::del_client(self.addr.node, self.addr.port).to_bytes(),
        )
    }

    /// `n` enable/disable round trips of `card`: (round trips per second, per-request
    /// latencies sorted).
    pub fn bench(&mut self, card: u16, n: usize) -> Result<(f64, Vec<Duration>), String> {
        let mut lat = Vec::with_capacity(2 * n);
        let t0 = Instant::now();
        for _ in 0..n {
            for en in [true, false] {
                let t = Instant::now();
                let r = self.request(en, card)?;
                lat.push(t.elapsed());
                if r.status.map(|s| s.raw()) != Some(0) {
                    return Err(format!("request failed: {:?}", r.internal_status));
                }
            }
        }
        let rate = n as f64 / t0.elapsed().as_secs_f64();
        lat.sort();
        Ok((rate, lat))
    }
}

fn control_wait_ms() -> u64 {
    super::control::DISCONNECT_WAIT_MS
}

/// The `q` quantile of sorted `v`.
pub fn quantile(v: &[Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub fn run(a: Args) -> u8 {
    let mut c = match Client::new(&a.socket, a.port, a.json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    c.react = a.on_disconnect;
    c.time_scale = a.time_scale;
    c.timeout = Duration::from_secs_f64(a.timeout);
    let actions = if a.actions.is_empty() {
        vec!["enable".to_string(), "listen".to_string()]
    } else {
        a.actions.clone()
    };
    for act in &actions {
        let r = match act.as_str() {
            "enable" => c.request(true, a.card).map(drop),
            "disable" => c.request(false, a.card).map(drop),
            "wait-ind" => match c.wait_indication(c.timeout) {
                Some(i) => c.answer(&i),
                None => Err(format!("no indication within {:?}", c.timeout)),
            },
            "listen" => loop {
                if let Some(i) = c.wait_indication(Duration::from_secs(3600)) {
                    if let Err(e) = c.answer(&i) {
                        break Err(e);
                    }
                }
            },
            "bye" => c.bye(),
            "del-client" => c.del_client(),
            s if s.starts_with("sleep=") => match s[6..].parse::<u64>() {
                Ok(ms) => {
                    std::thread::sleep(Duration::from_millis(ms));
                    Ok(())
                }
                Err(_) => {
                    eprintln!("error: bad action {s:?}");
                    return crate::EXIT_USAGE;
                }
            },
            s if s.starts_with("bench=") => match s[6..].parse::<usize>() {
                Ok(n) if n > 0 => c.bench(a.card, n).map(|(rate, lat)| {
                    c.log.event(
                        "dsp-bench",
                        &format!(
                            "{n} round trips: {rate:.0}/s, request latency p50 {:?} p99 {:?}",
                            quantile(&lat, 0.5),
                            quantile(&lat, 0.99)
                        ),
                        json!({ "round_trips": n, "per_s": rate,
                            "p50_us": quantile(&lat, 0.5).as_secs_f64() * 1e6,
                            "p99_us": quantile(&lat, 0.99).as_secs_f64() * 1e6 }),
                    );
                }),
                _ => {
                    eprintln!("error: bad action {s:?}");
                    return crate::EXIT_USAGE;
                }
            },
            s => {
                eprintln!("error: unknown action {s:?} (see --help)");
                return crate::EXIT_USAGE;
            }
        };
        if let Err(e) = r {
            c.log.event("dsp-error", &e, json!({}));
            return crate::EXIT_FINDING;
        }
    }
    if c.errors > 0 || c.failures > 0 {
        crate::EXIT_FINDING
    } else {
        crate::EXIT_OK
    }
}
