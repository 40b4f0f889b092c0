// A "caller must hold the device lock" function cannot be called without a token.
use ksync::Held;

struct DevState;

fn needs_device_lock(_l: Held<'_, DevState>) {}

fn main() {
    needs_device_lock();
}
