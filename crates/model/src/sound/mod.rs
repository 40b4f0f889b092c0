//! `sound/`.
pub mod usb;
