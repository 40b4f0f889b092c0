//! The QMI side: malformed datagrams, DEL_CLIENT, a disable against the client's bye.

use super::kit::{self, checked_session, start_stream};
use super::{Expect, Scenario};
use crate::dsp::{self, StreamReq, DSP_ADDR, DSP_PORT};
use crate::system::{Config, Sys};
use crate::Design;

pub const MALFORMED_REQUEST: Scenario = Scenario {
    name: "malformed-request",
    description: "the DSP sends one malformed datagram (short, unknown mandatory TLV, empty payload, wrong msg id) and waits for a response with the QMI client timeout, then enables and disables",
    bound: None,
    max_executions: None,
    paths: "(a) (b) QMI rx: short drop, decode error, D5 -> S5, no handler",
    run: malformed_request,
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3 LK-4",
        v2: "LK-3",
        typed: "",
    },
};

/// Spec §4.4 D2: unknown mandatory TLV type 0x03 (kernel decoder: -EINVAL, dropped).
pub const D2: &[u8] = &[
    0x00, 0x05, 0x00, 0x01, 0x00, 0x0F, 0x00, 0x01, 0x01, 0x00, 0x01, 0x02, 0x04, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x03, 0x01, 0x00, 0x00,
];
/// Spec §4.4 D5: empty payload, txn 0x0B (kernel decoder: all fields zero).
pub const D5: &[u8] = &[0x00, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x00];
/// Spec §4.4 S5: the service's reply to D5 (-EINVAL, token 0).
pub const S5: &[u8] = &[
    0x02, 0x0B, 0x00, 0x01, 0x00, 0x1C, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x04,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x11, 0x04, 0x00, 0xEA, 0xFF, 0xFF, 0xFF, 0x13, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00,
];

/// The malformed datagrams of `malformed-request`: (name, txn, bytes, answered).
pub fn malformed_datagrams(txn: u16) -> [(&'static str, u16, Vec<u8>, bool); 4] {
    let mut wrong_id = qmi::encode_req(txn, &StreamReq::new(true, 0).to_qmi());
    wrong_id[3..5].copy_from_slice(&0x0002u16.to_le_bytes());
    [
        (
            "short datagram",
            txn,
            vec![0x00, txn as u8, (txn >> 8) as u8],
            false,
        ),
        ("D2 unknown mandatory TLV", 0x0005, D2.to_vec(), false),
        ("D5 empty payload", 0x000B, D5.to_vec(), true),
        ("valid request with msg_id 0x0002", txn, wrong_id, false),
    ]
}

fn malformed_request(design: Design) {
    kit::run(Config::new(design), |sys| {
        let s = sys.clone();
        let pick = ksync::choose(4);
        let h = ksync::spawn("DSP", move || {
            let txn = s.qmi.alloc_txn();
            let (what, txn, bytes, answered) = malformed_datagrams(txn)
                .into_iter()
                .nth(pick)
                .expect("pick");
            ksync::note(|| format!("DSP sends {what}"));
            let dropped = s.qc.svc_hdl.dropped.get();
            let r = dsp::request_raw_timeout(&s, txn, bytes, answered);
            if answered {
                ksync::check(r.as_ref().is_some_and(|r| r.bytes == S5), "RES-10", || {
                    format!(
                        "{what}: expected the S5 response {}, got {:?}",
                        dsp::hex(S5),
                        r.as_ref().map(|r| dsp::hex(&r.bytes))
                    )
                });
            } else {
                ksync::check(r.is_none(), "RES-10", || {
                    format!(
                        "{what}: the service must not answer, got {:?}",
                        r.as_ref().map(|r| dsp::hex(&r.bytes))
                    )
                });
                ksync::check(s.qc.svc_hdl.dropped.get() == dropped + 1, "RES-10", || {
                    format!("{what}: the service did not drop the datagram")
                });
            }
            checked_session(&s, &format!("after {what}: "));
        });
        h.join();
    });
}

pub const DEL_CLIENT: Scenario = Scenario {
    name: "del-client",
    description: "active stream; the name service reports DEL_CLIENT for another port of the DSP node (ignored), then for the client's port (session stopped, client forgotten)",
    bound: None,
    max_executions: None,
    paths: "(c) via del_client",
    run: del_client,
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-3",
        v1: "ACC-10 ACC-11 LK-3",
        v2: "ACC-10 ACC-11",
        typed: "",
    },
};

fn del_client(design: Design) {
    kit::run(Config::new(design), |sys| {
        start_stream(sys, 0);
        let s = sys.clone();
        let d = ksync::spawn("DSP", move || {
            let active = |s: &Sys| s.qc.uadev[0].in_use.peek() != 0;
            // another port of the client's node closes: not the client, ignored
            s.qmi.send_del_client(&s, DSP_PORT + 1);
            s.qmi.qmi_wq.flush();
            ksync::check(
                active(&s) && s.qc.client_peek() == Some(DSP_ADDR),
                "RES-10",
                || {
                    format!(
                        "DEL_CLIENT for a port that is not the client acted: in_use {}, client {:?}",
                        s.qc.uadev[0].in_use.peek(),
                        s.qc.client_peek()
                    )
                },
            );
            // the client's port closes: session stopped, client forgotten
            s.qmi.send_del_client(&s, DSP_PORT);
            s.qmi.qmi_wq.flush();
            ksync::check(!active(&s) && s.qc.client_peek().is_none(), "RES-7", || {
                format!(
                    "DEL_CLIENT for the client left in_use {}, client {:?}",
                    s.qc.uadev[0].in_use.peek(),
                    s.qc.client_peek()
                )
            });
        });
        d.join();
    });
}

pub const DISABLE_VS_BYE: Scenario = Scenario {
    name: "disable-vs-bye",
    description: "active stream, disable and bye queued in either order on the ordered QMI worker",
    bound: None,
    max_executions: None,
    paths: "(b) (c)",
    run: disable_vs_bye,
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-3",
        v1: "ACC-10 ACC-11 LK-3 LK-4",
        v2: "ACC-10 ACC-11",
        typed: "",
    },
};

fn disable_vs_bye(design: Design) {
    kit::run(Config::new(design), |sys| {
        start_stream(sys, 0);
        let s = sys.clone();
        let d = ksync::spawn("DSP", move || {
            if ksync::choose(2) == 0 {
                let p = s.qmi.send_request(&s, StreamReq::new(false, 0));
                s.qmi.send_bye(&s);
                p.done.wait_for_completion();
            } else {
                s.qmi.send_bye(&s);
                let p = s.qmi.send_request(&s, StreamReq::new(false, 0));
                p.done.wait_for_completion();
            }
        });
        d.join();
    });
}
