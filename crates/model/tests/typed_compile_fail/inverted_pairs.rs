//! Every inverted pair of the declared hierarchy, and every level after itself: none
//! is `LockBefore` the other way, so no code can acquire them in that order.
use ksync::order::LockBefore;
use model::lock_order::*;

fn before<A: LockBefore<B>, B>() {}

fn main() {
    before::<UdevLock, UdevLock>();
    before::<IntfLock, UdevLock>();
    before::<IntfLock, IntfLock>();
    before::<RpmWait, UdevLock>();
    before::<RpmWait, IntfLock>();
    before::<RpmWait, RpmWait>();
    before::<Address0Mutex, UdevLock>();
    before::<Address0Mutex, IntfLock>();
    before::<Address0Mutex, RpmWait>();
    before::<Address0Mutex, Address0Mutex>();
    before::<RegisterMutex, UdevLock>();
    before::<RegisterMutex, IntfLock>();
    before::<RegisterMutex, RpmWait>();
    before::<RegisterMutex, Address0Mutex>();
    before::<RegisterMutex, RegisterMutex>();
    before::<InUseWait, UdevLock>();
    before::<InUseWait, IntfLock>();
    before::<InUseWait, RpmWait>();
    before::<InUseWait, Address0Mutex>();
    before::<InUseWait, RegisterMutex>();
    before::<InUseWait, InUseWait>();
    before::<QdevMutex, UdevLock>();
    before::<QdevMutex, IntfLock>();
    before::<QdevMutex, RpmWait>();
    before::<QdevMutex, Address0Mutex>();
    before::<QdevMutex, RegisterMutex>();
    before::<QdevMutex, InUseWait>();
    before::<QdevMutex, QdevMutex>();
    before::<ChipMutex, UdevLock>();
    before::<ChipMutex, IntfLock>();
    before::<ChipMutex, RpmWait>();
    before::<ChipMutex, Address0Mutex>();
    before::<ChipMutex, RegisterMutex>();
    before::<ChipMutex, InUseWait>();
    before::<ChipMutex, QdevMutex>();
    before::<ChipMutex, ChipMutex>();
    before::<SbMutex, UdevLock>();
    before::<SbMutex, IntfLock>();
    before::<SbMutex, RpmWait>();
    before::<SbMutex, Address0Mutex>();
    before::<SbMutex, RegisterMutex>();
    before::<SbMutex, InUseWait>();
    before::<SbMutex, QdevMutex>();
    before::<SbMutex, ChipMutex>();
    before::<SbMutex, SbMutex>();
    before::<XhciLock, UdevLock>();
    before::<XhciLock, IntfLock>();
    before::<XhciLock, RpmWait>();
    before::<XhciLock, Address0Mutex>();
    before::<XhciLock, RegisterMutex>();
    before::<XhciLock, InUseWait>();
    before::<XhciLock, QdevMutex>();
    before::<XhciLock, ChipMutex>();
    before::<XhciLock, SbMutex>();
    before::<XhciLock, XhciLock>();
    before::<OffloadLock, UdevLock>();
    before::<OffloadLock, IntfLock>();
    before::<OffloadLock, RpmWait>();
    before::<OffloadLock, Address0Mutex>();
    before::<OffloadLock, RegisterMutex>();
    before::<OffloadLock, InUseWait>();
    before::<OffloadLock, QdevMutex>();
    before::<OffloadLock, ChipMutex>();
    before::<OffloadLock, SbMutex>();
    before::<OffloadLock, XhciLock>();
    before::<OffloadLock, OffloadLock>();
}
