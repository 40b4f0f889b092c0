// While a lock is held, the context it was taken from cannot be used: a second
// acquisition from the outer context (which would hide the held lock) does not compile.
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
    let (_q, _under_qdev) = qdev.lock(&mut ctx);
    let _d = dev.lock(&mut ctx);
    drop(_under_qdev);
}
