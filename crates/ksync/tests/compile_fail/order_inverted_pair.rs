// Acquiring a level ordered before one already held does not compile.
use ksync::order::{Locked, OrderedMutex, Unlocked};

ksync::lock_level!(Dev = "&udev->dev.mutex");
ksync::lock_level!(Qdev = "qdev_mutex");
ksync::lock_hierarchy! {
    static ORDER;
    Unlocked => Dev;
    Dev => Qdev;
}

fn main() {
    let dev = OrderedMutex::<Dev, ()>::new(());
    let qdev = OrderedMutex::<Qdev, ()>::new(());
    let mut ctx = Locked::entry();
    let (_q, mut under_qdev) = qdev.lock(&mut ctx);
    let _d = dev.lock(&mut under_qdev);
}
