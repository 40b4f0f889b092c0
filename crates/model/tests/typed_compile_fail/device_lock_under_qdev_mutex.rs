//! v1's inversion: the qc driver took the device lock under qdev_mutex.
use ksync::order::Locked;
use model::lock_order::{qdev_mutex, udev_lock};
use model::System;

fn handle_uaudio_stream_req(sys: &System) {
    let mut ctx = Locked::entry();
    let (_q, mut qctx) = qdev_mutex(sys).lock(&mut ctx);
    let _u = udev_lock(&sys.devs[2]).lock(&mut qctx);
}

fn main() {}
