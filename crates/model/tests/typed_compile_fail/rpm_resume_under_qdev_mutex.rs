//! The enable's deadlock of every historical design: a runtime resume (a wait for
//! W_rpm) under qdev_mutex, which the runtime suspend's suspend_cb needs.
use ksync::order::Locked;
use model::lock_order::qdev_mutex;
use model::sound::usb::card::Chip;
use model::sound::usb::qcom::typed::ChipPm;
use model::system::Sys;
use std::sync::Arc;

fn enable(sys: &Sys, chip: &Arc<Chip>) {
    let mut ctx = Locked::entry();
    let (_q, mut qctx) = qdev_mutex(sys).lock(&mut ctx);
    let _pm = ChipPm::get(&mut qctx, sys, chip);
}

fn main() {}
