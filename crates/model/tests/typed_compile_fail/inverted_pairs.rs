//! Every adjacent pair of the declared chain, inverted, and a level after itself:
//! none is `LockBefore` that way. `LockBefore` is derived only from the chain's edges
//! (`lock_hierarchy!`), so an inverted pair of distant levels would need an inverted
//! adjacent pair on the way (`lock_order`'s unit test checks the chain has no other edge).
use ksync::order::LockBefore;
use model::lock_order::*;

fn before<A: LockBefore<B>, B>() {}

fn main() {
    before::<HubLock, RootHubLock>();
    before::<UdevLock, HubLock>();
    before::<IntfLock, UdevLock>();
    before::<PortStatusLock, IntfLock>();
    before::<RpmWait, PortStatusLock>();
    before::<Address0Mutex, RpmWait>();
    before::<BandwidthMutex, Address0Mutex>();
    before::<RegisterMutex, BandwidthMutex>();
    before::<ShutdownWait, RegisterMutex>();
    before::<InUseWait, ShutdownWait>();
    before::<QdevMutex, InUseWait>();
    before::<ChipMutex, QdevMutex>();
    before::<SbMutex, ChipMutex>();
    before::<XhciLock, SbMutex>();
    before::<OffloadLock, XhciLock>();
    before::<PowerLock, OffloadLock>();
    before::<DeviceStateLock, PowerLock>();
    before::<UdevLock, UdevLock>();
    before::<QdevMutex, QdevMutex>();
    before::<OffloadLock, OffloadLock>();
}
