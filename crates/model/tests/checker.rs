//! The model under the real checker (DPOR) through the kit's entry points: the
//! baseline scenario is explored exhaustively on every design and exhibits exactly
//! its expected properties, and a scenario body written inline is checked the same
//! way.

use model::kit::{self, Path};
use model::{Config, Design};

#[test]
fn enable_disable_exhaustive() {
    let sc = model::find_scenario("enable-disable").expect("scenario");
    for d in Design::ALL {
        let r = sc.check(d);
        assert!(r.exhaustive(), "{d}: not exhausted");
        assert_eq!(r.properties(), sc.expected(d), "{d}");
    }
}

#[test]
fn v0_reset_recursive_udev_lock() {
    let sc = model::find_scenario("stream-vs-reset").expect("scenario");
    let r = sc.check(Design::V0CoreLocks);
    assert!(r.exhaustive());
    assert!(r.properties().contains("LK-1"), "no LK-1 found");
    assert!(sc.expected(Design::V0CoreLocks).contains("LK-1"));
}

/// `model::check` of a body equals the search of the scenario with that body.
#[test]
fn check_of_a_body_is_the_scenario_search() {
    let d = Design::V2OffloadSpinlock;
    let sc = model::find_scenario("usbfs-vs-remove").expect("scenario");
    let mut cfg = Config::new(d);
    cfg.dsp_reactions = vec![kit::Reaction::Never];
    let never = model::check(cfg, |sys| {
        kit::start_stream(sys, 0);
        kit::race(sys, &[Path::UsbfsDisconnect, Path::Remove]);
    });
    assert!(never.exhaustive());
    assert_eq!(never.properties(), sc.expected(d));
    assert_eq!(never.report.executions, sc.check(d).report.executions);
}
