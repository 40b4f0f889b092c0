//! The historical double teardown (the disable's kref release and the disconnect both
//! ran uaudio_event_ring_cleanup_free): a session is ended by moving it.
use ksync::order::Locked;
use model::lock_order::QdevMutex;
use model::sound::usb::qcom::offload::QdevState;
use model::sound::usb::qcom::typed::{teardown, Session};
use model::system::Sys;

fn twice(sys: &Sys, q: &mut QdevState, qctx: &mut Locked<'_, QdevMutex>, s: Session) {
    teardown(sys, q, qctx, s);
    teardown(sys, q, qctx, s);
}

fn main() {}
