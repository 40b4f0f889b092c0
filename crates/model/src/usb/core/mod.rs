//! `drivers/usb/core`.
pub mod device;
pub mod devio;
pub mod driver;
pub mod hub;
pub mod offload;
pub mod pm;
