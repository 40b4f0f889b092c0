//! The example of README section "Writing a scenario", run as a test; the README
//! quotes the part between the two marker lines verbatim, and
//! `readme_quotes_this_example` keeps them in step.

// README example begin
use model::kit::{self, Path, Reaction};
use model::{Config, Design};

/// An active stream; a physical unplug races usbfs DISCONNECT of the control
/// interface, and a task of our own reads the card state once both are done.
#[test]
fn unplug_races_usbfs_disconnect() {
    let design = Design::V2OffloadSpinlock;
    // the DSP does not answer the disconnect indication
    let cfg = kit::reacting(Config::new(design), &[Reaction::Never]);
    let report = model::check(cfg, |sys| {
        kit::start_stream(sys, 0);
        kit::race(sys, &[Path::Unplug, Path::UsbfsDisconnect]);
        let s = sys.clone();
        ksync::spawn("T_check", move || {
            let in_use = s.qc.uadev[0].in_use.load();
            ksync::check(in_use == 0, "RES-7", || format!("in_use {in_use}"));
        })
        .join();
    });
    assert!(report.exhaustive());
    report.assert_properties(&[]);
}
// README example end

#[test]
fn readme_quotes_this_example() {
    let me = include_str!("writing_a_scenario.rs");
    let begin = "// README example begin\n";
    let end = "// README example end";
    let a = me.find(begin).expect("begin marker") + begin.len();
    let b = me.find(end).expect("end marker");
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&me[a..b]),
        "README.md must quote crates/model/tests/writing_a_scenario.rs between its markers verbatim"
    );
}
