//! v0's recursive device lock: a disconnect callback runs with the context the USB core
//! and snd-usb-audio hand it (register_mutex and everything before it held), so taking
//! the device lock again does not compile.
use ksync::order::Locked;
use model::lock_order::{udev_lock, RegisterMutex};
use model::usb::core::device::UsbDevice;

fn disconnect_cb(core: &mut Locked<'_, RegisterMutex>, udev: &UsbDevice) {
    let _g = udev_lock(udev).lock(core);
}

fn main() {}
