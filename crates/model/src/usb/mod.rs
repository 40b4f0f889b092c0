//! `drivers/usb`.
pub mod core;
pub mod host;
