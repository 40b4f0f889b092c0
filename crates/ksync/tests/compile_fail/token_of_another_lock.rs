// A function that requires the device lock does not accept a token of another lock.
use ksync::{Held, LockClass, Mutex};

struct DevState;
struct ChipState;

fn needs_device_lock(_l: Held<'_, DevState>) {}

fn main() {
    let chip = Mutex::new(LockClass::new("&chip->mutex"), ChipState);
    let g = chip.lock();
    needs_device_lock(g.held());
}
