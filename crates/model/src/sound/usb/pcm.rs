//! `sound/usb/pcm.c` subset: the substream's `opened`, hw_params/hw_free and endpoint
//! prepare. All state is under `chip->mutex` (R7: the helpers take it internally).

use crate::errno::*;
use crate::sound::usb::card::Chip;
use crate::system::{Fault, Sys};

/// Substream state (under L_chip).
#[derive(Debug, Default, Clone)]
pub struct SubsState {
    pub opened: bool,
    pub hw_params: bool,
    /// endpoint open count contributed by this substream
    pub ep_open: i32,
    pub prepared: bool,
    /// `subs->data_endpoint != NULL` (cleared by the stream disconnect)
    pub data_endpoint: bool,
}

/// `snd_usb_hw_params(subs, params)`.
pub fn snd_usb_hw_params(sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("snd_usb_hw_params");
    let mut st = chip.mutex.lock();
    if !st.subs.data_endpoint {
        return -ENODEV;
    }
    if sys.fail(Fault::HwParams) {
        return -EINVAL;
    }
    if !st.subs.hw_params {
        st.subs.hw_params = true;
        st.subs.ep_open += 1 + chip.sync_ep.is_some() as i32;
    }
    0
}

/// `snd_usb_hw_free(subs)`.
pub fn snd_usb_hw_free(_sys: &Sys, chip: &Chip) {
    let _f = ksync::frame("snd_usb_hw_free");
    let mut st = chip.mutex.lock();
    if st.subs.hw_params {
        st.subs.hw_params = false;
        st.subs.ep_open -= 1 + chip.sync_ep.is_some() as i32;
        st.subs.prepared = false;
    }
}

/// `snd_usb_endpoint_prepare(chip, ep)`.
pub fn snd_usb_endpoint_prepare(_sys: &Sys, chip: &Chip) -> i32 {
    let _f = ksync::frame("snd_usb_endpoint_prepare");
    let mut st = chip.mutex.lock();
    if !st.subs.hw_params {
        return -EINVAL;
    }
    st.subs.prepared = true;
    0
}
