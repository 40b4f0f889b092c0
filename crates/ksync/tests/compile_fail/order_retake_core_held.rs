// A driver callback that the core runs under the device lock receives the device
// lock's context; taking the device lock again from it does not compile.
use ksync::order::{Locked, OrderedMutex, Unlocked};

ksync::lock_level!(Dev = "&udev->dev.mutex");
ksync::lock_hierarchy! {
    static ORDER;
    Unlocked => Dev;
}

fn disconnect_callback(dev: &OrderedMutex<Dev, ()>, core: &mut Locked<'_, Dev>) {
    let _again = dev.lock(core);
}

fn main() {
    let dev = OrderedMutex::<Dev, ()>::new(());
    let mut ctx = Locked::entry();
    let (_g, mut core) = dev.lock(&mut ctx);
    disconnect_callback(&dev, &mut core);
}
