//! A get from a context at the innermost level (as if under offload_lock): the usage's
//! own lock is not after itself.
use ksync::order::Locked;
use model::lock_order::OffloadLock;
use model::system::Sys;
use model::usb::core::offload::{OffloadUsage, RpmRef};

fn get(ctx: &mut Locked<'_, OffloadLock>, sys: &Sys, rpm: &RpmRef) {
    let _u = OffloadUsage::get(ctx, sys, rpm, || {});
}

fn main() {}
