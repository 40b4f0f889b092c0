//! `sound/usb/qcom`.
pub mod iova;
pub mod offload;
