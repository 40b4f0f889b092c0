//! Malformed input on the live socket: a seeded stream of truncated, oversized,
//! mistyped and garbage datagrams and control packets, mixed with valid requests. The
//! service must keep answering valid requests and nothing may leak: at shutdown no
//! leak finding, the session resources at zero and every handled request answered.

use ksync::rng::Rng;
use serde_json::Value;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_usb-offload");

fn frame(node: u32, port: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = node.to_le_bytes().to_vec();
    v.extend_from_slice(&port.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn bytes(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| r.next_u64() as u8).collect()
}

fn request(r: &mut Rng) -> Vec<u8> {
    let req = qmi::StreamReq {
        enable: r.below(2) as u8,
        usb_token: qmi::UsbToken {
            card: r.below(3) as u16,
            pcm: 0,
            direction: r.below(2) as u8,
        },
        audio_format: Some(qmi::AudioFormat::S16Le),
        number_of_ch: Some(2),
        bit_rate: Some(48_000),
        xfer_buff_size: Some(4096),
        service_interval: (r.below(2) == 0).then_some(125),
    };
    qmi::encode_req(r.below(1000) as u16, &req)
}

/// Kinds of datagram the kernel drops without a response or a state change.
const DROPPED: [usize; 5] = [3, 4, 6, 7, 8];

/// One fuzzed datagram of one of `kinds` (from the DSP node or the name service).
fn datagram(r: &mut Rng, kinds: &[usize]) -> Vec<u8> {
    const NS: (u32, u32) = (1, 0xffff_fffe);
    let dsp = (5, [0xd, 0xd, 0xe, r.next_u64() as u32][r.below(4)]);
    match kinds[r.below(kinds.len())] {
        0 => frame(dsp.0, dsp.1, &request(r)),
        1 => {
            // truncated
            let q = request(r);
            let n = r.below(q.len());
            frame(dsp.0, dsp.1, &q[..n])
        }
        2 => {
            // oversized: past the 53-byte receive buffer
            let mut q = request(r);
            let extra = r.below(2000);
            q.extend(bytes(r, extra));
            frame(dsp.0, dsp.1, &q)
        }
        3 => {
            // wrong type or message id
            let mut q = request(r);
            if r.below(2) == 0 {
                q[0] = [0x02, 0x04, 0x06, 0xff][r.below(4)];
            } else {
                q[3] = 2 + r.below(250) as u8;
            }
            frame(dsp.0, dsp.1, &q)
        }
        4 => {
            // garbage that is no request (any type but REQUEST)
            let n = r.below(100);
            let mut b = bytes(r, n);
            if let Some(t) = b.first_mut() {
                *t |= 0x01;
            }
            frame(dsp.0, dsp.1, &b)
        }
        5 => {
            // a control packet: any command, about the DSP or another node
            let mut p = vec![0u8; 20];
            p[0..4].copy_from_slice(&(r.below(13) as u32).to_le_bytes());
            let node = [5u32, 7, 1][r.below(3)];
            p[4..8].copy_from_slice(&node.to_le_bytes());
            p[8..12].copy_from_slice(&[0xdu32, 0xe][r.below(2)].to_le_bytes());
            frame(NS.0, NS.1, &p)
        }
        6 => {
            // a garbage or short control packet (not BYE / DEL_CLIENT)
            let n = r.below(40);
            let mut b = bytes(r, n);
            if b.len() >= 4 {
                b[0..4].copy_from_slice(&[0u32, 2, 12, 0xdead][r.below(4)].to_le_bytes());
            }
            frame(NS.0, NS.1, &b)
        }
        7 => {
            // shorter than the source address
            let n = r.below(8);
            bytes(r, n)
        }
        _ => {
            // control packets from a source other than the name service are data
            let p = qmi::qrtr::CtrlPkt::bye(5).to_bytes();
            frame(dsp.0, dsp.1, &p)
        }
    }
}

/// Starts `serve`, sends `n` datagrams of `kinds` (seeded), lets the DSP node go
/// (BYE), runs one clean session with `dsp`, shuts down: (the session's output, the
/// shutdown reply).
fn fuzz(kinds: &[usize], n: usize, seed: u64) -> (String, Value) {
    let dir = std::env::temp_dir().join(format!("uo-fuzz-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("uo.sock");
    let mut serve = Command::new(BIN)
        .args(["serve", "--json", "--design", "v2-offload-spinlock"])
        .args(["--time-scale", "0.01", "--autosuspend-delay-ms", "0"])
        .arg("--socket")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = std::time::Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        assert!(std::time::Instant::now() < guard, "serve did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = UnixDatagram::bind(dir.join("fuzzer")).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut r = Rng::new(seed);
    let mut buf = vec![0u8; 65536];
    for _ in 0..n {
        let d = datagram(&mut r, kinds);
        // the service's receive queue may be full: wait for it (flow control, as a
        // blocking sender would), draining the replies meanwhile
        loop {
            match s.send_to(&d, &sock) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    while s.recv(&mut buf).is_ok() {}
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("send: {e}"),
            }
        }
        while s.recv(&mut buf).is_ok() {}
    }
    s.set_nonblocking(false).unwrap();
    let bye = qmi::qrtr::CtrlPkt::bye(5).to_bytes();
    s.send_to(&frame(1, 0xffff_fffe, &bye), &sock).unwrap();
    let dsp = Command::new(BIN)
        .args(["dsp", "--json", "--time-scale", "0.01", "--timeout", "20"])
        .arg("--socket")
        .arg(&sock)
        .args(["enable", "disable"])
        .output()
        .unwrap();
    let ctl = Command::new(BIN)
        .args(["ctl", "--json", "--timeout", "60", "--socket"])
        .arg(&sock)
        .arg("shutdown")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&ctl.stdout).expect("shutdown reply");
    let _ = serve.kill();
    let _ = serve.wait();
    let _ = std::fs::remove_dir_all(&dir);
    (String::from_utf8_lossy(&dsp.stdout).to_string(), v)
}

fn resources_zero(v: &Value) {
    let res = &v["resources"];
    for k in ["iommu_maps", "er_mappings", "coherent_bufs", "interrupters"] {
        assert_eq!(res[k], 0, "{k} left: {res}");
    }
    assert_eq!(res["qmi_requests"], res["qmi_responses"], "{res}");
    assert_eq!(v["status"]["offload_usage"], 0, "{v}");
    assert_eq!(v["status"]["in_use"], 0, "{v}");
}

/// Datagrams the kernel drops (garbage, short frames, mistyped messages, unknown
/// message ids, garbage control packets): each dropped with no response, nothing
/// changes, and a clean session works afterwards.
#[test]
fn dropped_datagrams_leave_nothing_behind() {
    let n = 1500;
    let (dsp, v) = fuzz(&DROPPED, n, 0x5eed);
    assert_eq!(v["quiesced"], true, "{v}");
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    resources_zero(&v);
    // the clean session's two requests are the only ones answered
    assert_eq!(v["resources"]["qmi_responses"], 2, "{v}");
    let dropped = v["resources"]["qmi_dropped"].as_i64().unwrap();
    assert!(dropped > n as i64 / 2, "{dropped} of {n} dropped: {v}");
    assert_eq!(dsp.matches("\"ok\":true").count(), 2, "{dsp}");
}

/// Every kind mixed, valid, truncated (the kernel's over-read) and oversized requests,
/// BYE and DEL_CLIENT included: the service keeps answering, every request it handles
/// is answered, and whatever the live run finds is a property the checker finds for
/// this design in the suite (malformed input adds no failure of its own).
#[test]
fn a_fuzzed_stream_finds_only_what_the_checker_finds() {
    let design = model::Design::V2OffloadSpinlock;
    let mut known: std::collections::BTreeSet<&str> = model::all_scenarios()
        .iter()
        .flat_map(|s| s.expect.of(design))
        .collect();
    // the decoder's over-read of a truncated request: the model checks it on bytes no
    // suite scenario sends (the unit test of qmi_interface does)
    known.insert("RES-13");
    let (dsp, v) = fuzz(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 1500, 0xf00d);
    assert_eq!(v["quiesced"], true, "{v}");
    assert_eq!(
        v["resources"]["qmi_requests"], v["resources"]["qmi_responses"],
        "{v}"
    );
    for f in v["findings"].as_array().unwrap() {
        let p = f["property"].as_str().unwrap();
        assert!(
            known.contains(p),
            "{p} is not among the checker's {known:?}: {f}"
        );
    }
    // the clean session is answered (an earlier session may hold the stream: -EBUSY)
    assert_eq!(dsp.matches("\"event\":\"dsp-resp\"").count(), 2, "{dsp}");
}
