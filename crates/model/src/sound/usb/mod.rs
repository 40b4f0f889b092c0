//! `sound/usb` (snd-usb-audio subset and the Qualcomm offload driver).
pub mod card;
pub mod pcm;
pub mod qcom;
