//! Waiting for a session's end (W_inuse) with qdev_mutex held: the disable that ends
//! it takes qdev_mutex before the wake-up.
use ksync::order::Locked;
use model::lock_order::{disconnect_wq, qdev_mutex};
use model::System;

fn disconnect(sys: &System) {
    let mut ctx = Locked::entry();
    let (_q, mut qctx) = qdev_mutex(sys).lock(&mut ctx);
    disconnect_wq(sys, 0).wait_event_interruptible_timeout(&mut qctx, || true, Some(10_000));
}

fn main() {}
