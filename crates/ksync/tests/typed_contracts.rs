//! Lock contracts in types: what must not compile does not.

use ksync::{Held, LockClass, Mutex};

struct DevState(u32);

fn needs_device_lock(_l: Held<'_, DevState>) -> u32 {
    1
}

#[test]
fn a_token_from_the_right_guard_compiles() {
    let m = Mutex::new(LockClass::new("&udev->dev.mutex"), DevState(0));
    let g = m.lock();
    assert_eq!(needs_device_lock(g.held()) + g.0, 1);
}

#[test]
fn contract_violations_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
