// A lock token cannot outlive the guard it came from.
use ksync::{Held, LockClass, Mutex};

struct DevState;

fn needs_device_lock(_l: Held<'_, DevState>) {}

fn main() {
    let m = Mutex::new(LockClass::new("&udev->dev.mutex"), DevState);
    let token = {
        let g = m.lock();
        g.held()
    };
    needs_device_lock(token);
}
