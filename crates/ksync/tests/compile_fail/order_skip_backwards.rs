// A context can be narrowed to a later level, never widened to an earlier one.
use ksync::order::{Locked, OrderedMutex, Unlocked};

ksync::lock_level!(Dev = "&udev->dev.mutex");
ksync::lock_level!(Qdev = "qdev_mutex");
ksync::lock_hierarchy! {
    static ORDER;
    Unlocked => Dev;
    Dev => Qdev;
}

fn main() {
    let qdev = OrderedMutex::<Qdev, ()>::new(());
    let mut ctx = Locked::entry();
    let (_q, mut under_qdev) = qdev.lock(&mut ctx);
    let _wider: Locked<'_, Dev> = under_qdev.skip();
}
