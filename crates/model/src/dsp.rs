//! The DSP as a QMI client, and the `QmiChannel` that carries its messages.
//!
//! Messages travel as Rust values: requests are queued on the ordered QMI workqueue
//! (`qmi_wq`, T_qmi), responses come back through a per-request completion, and
//! indications are delivered to the DSP's own ordered queue (a daemon, so an
//! unanswered indication is not a deadlock). A byte-level QMI transport can replace
//! [`QmiChannel`] later without touching the driver model.

use crate::ptr::{Ghost, Ptr};
use crate::sound::usb::qcom::offload as qc;
use crate::system::Sys;
use ksync::{Completion, LockClass, WorkQueue};
use std::sync::Arc;

/// `qmi_uaudio_stream_req_msg_v01` (the fields the model uses).
#[derive(Clone, Debug)]
pub struct StreamReq {
    pub enable: bool,
    pub card: usize,
    pub pcm: u8,
    pub dir: u8,
    /// audio_format, bit_rate, number_of_ch and xfer_buff_size all present
    pub fields_present: bool,
    pub xfer_buff_size: u32,
}

impl StreamReq {
    pub fn new(enable: bool, card: usize) -> Self {
        StreamReq {
            enable,
            card,
            pcm: 0,
            dir: 0,
            fields_present: true,
            xfer_buff_size: 4096,
        }
    }

    /// `usb_token`: direction bits 0–7, pcm 8–15, card 16–31.
    pub fn token(&self) -> u32 {
        ((self.card as u32) << 16) | ((self.pcm as u32) << 8) | self.dir as u32
    }
}

/// `qmi_uaudio_stream_resp_msg_v01` (subset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamResp {
    /// 0 success, 1 failure
    pub status: u32,
    pub internal_status: i32,
    pub interrupter_num: Option<usize>,
    pub xfer_ring_iova: u64,
    pub xfer_buf_iova: u64,
}

/// A request in flight: the DSP waits on `done` for `resp`.
pub struct Pending {
    pub done: Completion,
    pub resp: Ptr<StreamResp>,
}

/// How the DSP reacts to a disconnect indication (spec §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// sends a disable request within the 10 s wait
    Disable,
    /// sends nothing
    Never,
    /// sends the disable after the wait has timed out
    Late,
    /// the QMI client goes away (bye / del_client)
    Bye,
    /// sends a new enable request
    Enable,
}

/// The message path between the DSP and the QMI service.
pub struct QmiChannel {
    pub qmi_wq: WorkQueue,
    pub dsp_wq: WorkQueue,
    pub requests: Ghost,
    pub responses: Ghost,
    pub indications: Ghost,
}

impl QmiChannel {
    pub fn new() -> Self {
        QmiChannel {
            qmi_wq: WorkQueue::new_ordered("qmi_wq"),
            dsp_wq: WorkQueue::new_ordered("DSP"),
            requests: Ghost::default(),
            responses: Ghost::default(),
            indications: Ghost::default(),
        }
    }

    /// DSP → service: a stream request, handled by `handle_uaudio_stream_req` on T_qmi.
    pub fn send_request(&self, sys: &Sys, req: StreamReq) -> Arc<Pending> {
        let p = Arc::new(Pending {
            done: Completion::new(LockClass::new("qmi_response")),
            resp: Ptr::new("qmi resp", None),
        });
        self.requests.add(1);
        let (s, p2) = (sys.clone(), p.clone());
        self.qmi_wq.queue_work("handle_uaudio_stream_req", move || {
            let resp = qc::handle_uaudio_stream_req(&s, &req);
            s.qmi.responses.add(1);
            ksync::note(|| {
                format!(
                    "QMI response {} card {}: {resp:?}",
                    if req.enable { "enable" } else { "disable" },
                    req.card
                )
            });
            p2.resp.store(Some(Arc::new(resp)));
            p2.done.complete();
        });
        p
    }

    /// DSP → service: the client goes away (`qmi_bye_cb` → `qmi_stop_session`).
    pub fn send_bye(&self, sys: &Sys) {
        let s = sys.clone();
        self.qmi_wq.queue_work("qmi_bye_cb", move || {
            if s.qc.client_connected.load() {
                qc::qmi_stop_session(&s);
            }
        });
    }

    /// Service → DSP: `UAUDIO_STREAM_SRV_IND` with DEV_DISCONNECT. Non-blocking.
    pub fn send_disconnect_ind(&self, sys: &Sys, card: usize, slot: u32) {
        let _f = ksync::frame("qmi_send_indication");
        self.indications.add(1);
        let s = sys.clone();
        self.dsp_wq
            .queue_work("dsp_handle_disconnect_ind", move || {
                dsp_on_disconnect_ind(&s, card, slot)
            });
    }
}

impl Default for QmiChannel {
    fn default() -> Self {
        Self::new()
    }
}

/// The DSP's reaction to an indication: one of the scenario's allowed reactions,
/// chosen nondeterministically.
fn dsp_on_disconnect_ind(sys: &Sys, card: usize, _slot: u32) {
    let opts = &sys.cfg.dsp_reactions;
    if opts.is_empty() {
        return;
    }
    let r = opts[ksync::choose(opts.len())];
    ksync::note(|| format!("DSP reacts to disconnect indication with {r:?}"));
    match r {
        Reaction::Disable => {
            sys.qmi.send_request(sys, StreamReq::new(false, card));
        }
        Reaction::Never => {}
        Reaction::Late => {
            ksync::msleep(qc::DEV_RELEASE_WAIT_TIMEOUT_MS + 1);
            sys.qmi.send_request(sys, StreamReq::new(false, card));
        }
        Reaction::Bye => sys.qmi.send_bye(sys),
        Reaction::Enable => {
            sys.qmi.send_request(sys, StreamReq::new(true, card));
        }
    }
}

/// DSP client: sends a request and waits for its response.
pub fn request(sys: &Sys, req: StreamReq) -> StreamResp {
    let _f = ksync::frame("dsp_request");
    let p = sys.qmi.send_request(sys, req);
    p.done.wait_for_completion();
    p.resp.peek().map(|r| (*r).clone()).unwrap_or_default()
}

/// DSP client: enable then, if that succeeded, disable one stream.
pub fn enable_then_disable(sys: &Sys, card: usize) -> (StreamResp, Option<StreamResp>) {
    let e = request(sys, StreamReq::new(true, card));
    if e.status != 0 {
        return (e, None);
    }
    let d = request(sys, StreamReq::new(false, card));
    (e, Some(d))
}
