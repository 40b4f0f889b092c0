//! `drivers/usb/host`.
pub mod xhci_sideband;
