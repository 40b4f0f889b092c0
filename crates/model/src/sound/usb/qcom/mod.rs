//! `sound/usb/qcom`.
pub mod iova;
pub mod offload;
pub mod typed;

use crate::soc::qcom::qmi_interface::SockaddrQrtr;
use crate::sound::usb::card::Chip;
use crate::system::Sys;
use crate::usb::core::driver::PmMsg;
use crate::usb::host::xhci_sideband::Sideband;
use crate::Design;
use std::sync::Arc;

/// The qc driver's entry points as the kernel reaches them: the snd-usb-audio
/// `platform_ops`, the QMI service's handlers (`qmi_msg_handler`, `qmi_ops`), the
/// sideband's ring-free notifier and the auxiliary driver's remove.
pub struct QcOps {
    pub connect_cb: fn(&Sys, &Arc<Chip>),
    pub disconnect_cb: fn(&Sys, &Arc<Chip>),
    pub suspend_cb: fn(&Sys, &Arc<Chip>, PmMsg),
    pub handle_uaudio_stream_req: fn(&Sys, SockaddrQrtr, u16, &qmi::StreamReq),
    pub bye: fn(&Sys, u32),
    pub del_client: fn(&Sys, u32, u32),
    pub notify_ep_ring_free: fn(&Sys, &Arc<Sideband>, usize),
    pub remove: fn(&Sys),
}

/// `qc_audio_offload.c` (the historical designs).
pub static QC_AUDIO_OFFLOAD: QcOps = QcOps {
    connect_cb: offload::qc_usb_audio_offload_probe,
    disconnect_cb: offload::qc_usb_audio_offload_disconnect,
    suspend_cb: offload::qc_usb_audio_offload_suspend,
    handle_uaudio_stream_req: offload::handle_uaudio_stream_req,
    bye: offload::qmi_bye_cb,
    del_client: offload::qmi_svc_disconnect_cb,
    notify_ep_ring_free: offload::uaudio_sideband_notifier,
    remove: offload::qc_usb_audio_remove,
};

/// The `typed` driver.
pub static TYPED: QcOps = QcOps {
    connect_cb: offload::qc_usb_audio_offload_probe,
    disconnect_cb: typed::qc_usb_audio_offload_disconnect,
    suspend_cb: typed::qc_usb_audio_offload_suspend,
    handle_uaudio_stream_req: typed::handle_uaudio_stream_req,
    bye: typed::qmi_bye_cb,
    del_client: typed::qmi_svc_disconnect_cb,
    notify_ep_ring_free: typed::uaudio_sideband_notifier,
    remove: typed::qc_usb_audio_remove,
};

/// The driver of `design`.
pub fn ops(design: Design) -> &'static QcOps {
    match design {
        Design::Typed => &TYPED,
        _ => &QC_AUDIO_OFFLOAD,
    }
}
