//! v1/v2's get without the context the contract requires: a usage needs the proof that
//! the device is held runtime-active, which only a successful autoresume mints.
use ksync::order::Locked;
use model::system::Sys;
use model::usb::core::offload::{OffloadUsage, RpmRef};

fn get(sys: &Sys) {
    let mut ctx = Locked::entry();
    let rpm = RpmRef { udev: 2 };
    let _u = OffloadUsage::get(&mut ctx, sys, &rpm, || {});
}

fn main() {}
