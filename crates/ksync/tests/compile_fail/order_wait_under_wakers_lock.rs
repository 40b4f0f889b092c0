// Waiting counts as acquiring: the runtime-resume wait is ordered before qdev_mutex
// (the resumer takes qdev_mutex before it wakes the waiters), so waiting for it while
// holding qdev_mutex does not compile.
use ksync::order::{Locked, OrderedMutex, OrderedWaitQueue, Unlocked};

ksync::lock_level!(WRpm = "W_rpm");
ksync::lock_level!(Qdev = "qdev_mutex");
ksync::lock_hierarchy! {
    static ORDER;
    Unlocked => WRpm;
    WRpm => Qdev;
}

fn main() {
    let rpm = OrderedWaitQueue::<WRpm>::new();
    let qdev = OrderedMutex::<Qdev, ()>::new(());
    let mut ctx = Locked::entry();
    let (_q, mut under_qdev) = qdev.lock(&mut ctx);
    rpm.wait_event_timeout(&mut under_qdev, || true, None);
}
