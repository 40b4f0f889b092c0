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

mod ordered {
    //! The same hierarchies as the compile-fail cases, used in the declared order: they
    //! compile outside ksync, so those cases fail for the reason they name.
    use ksync::order::{Locked, OrderedMutex, OrderedWaitQueue, Unlocked};

    ksync::lock_level!(WRpm = "W_rpm");
    ksync::lock_level!(Dev = "&udev->dev.mutex");
    ksync::lock_level!(Qdev = "qdev_mutex");
    ksync::lock_hierarchy! {
        static ORDER;
        Unlocked => WRpm;
        WRpm => Dev;
        Dev => Qdev;
    }

    fn disconnect_callback(qdev: &OrderedMutex<Qdev, u32>, core: &mut Locked<'_, Dev>) -> u32 {
        let (g, _) = qdev.lock(core);
        *g
    }

    #[test]
    fn acquisitions_and_waits_in_the_declared_order_compile() {
        let rpm = OrderedWaitQueue::<WRpm>::new();
        let dev = OrderedMutex::<Dev, u32>::new(1);
        let qdev = OrderedMutex::<Qdev, u32>::new(2);
        let mut ctx = Locked::entry();
        rpm.wait_event_timeout(&mut ctx, || true, None);
        let (d, mut core) = dev.lock(&mut ctx);
        assert_eq!(*d + disconnect_callback(&qdev, &mut core), 3);
        assert_eq!(ORDER.len(), 3);
    }
}
