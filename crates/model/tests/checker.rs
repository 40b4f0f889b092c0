//! The model under the real checker (DPOR): the baseline scenario is explored
//! exhaustively on every design, and the known v0 recursive device-lock acquisition of
//! the reset path is found.

use std::sync::Arc;

fn program(name: &str, d: model::Design) -> explore::Program {
    let sc = model::find_scenario(name).expect("scenario");
    let f = sc.run;
    explore::Program {
        name: format!("{d}/{name}"),
        main: Arc::new(move || f(d)),
    }
}

#[test]
fn enable_disable_exhaustive() {
    for d in model::Design::ALL {
        let r = explore::explore(&program("enable-disable", d), &explore::Config::default());
        assert!(r.exhausted && r.step_bound_hits == 0, "{d}: not exhausted");
        let props: Vec<&str> = r
            .findings
            .iter()
            .map(|f| f.finding.property.as_str())
            .collect();
        let allowed: &[&str] = match d {
            model::Design::V0CoreLocks => &["LK-3"],
            model::Design::V1CallerLocks => &["LK-3", "LK-4"],
            model::Design::V2OffloadSpinlock => &[],
        };
        assert!(props.iter().all(|p| allowed.contains(p)), "{d}: {props:?}");
    }
}

#[test]
fn v0_reset_recursive_udev_lock() {
    let r = explore::explore(
        &program("stream-vs-reset", model::Design::V0CoreLocks),
        &explore::Config::default(),
    );
    assert!(r.exhausted);
    assert!(
        r.findings.iter().any(|f| f.finding.property == "LK-1"),
        "no LK-1 found"
    );
}
