//! Golden behaviour of the model: for every scenario whose exhaustive DPOR space is
//! small, the properties the checker reports per design (a regression net: a change
//! that makes the model stop exhibiting a documented kernel behaviour fails here).
//! The check is "expected ⊆ found"; designs/scenarios expected to pass must stay clean.

use std::sync::Arc;

/// (scenario, design, properties reported), from an exhaustive DPOR run.
const GOLDEN: &[(&str, &str, &[&str])] = &[
    ("enable-disable", "v0-core-locks", &["LK-3"]),
    ("enable-disable", "v1-caller-locks", &["LK-3", "LK-4"]),
    ("enable-disable", "v2-offload-spinlock", &[]),
    (
        "enable-vs-unplug",
        "v0-core-locks",
        &["ACC-10", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "enable-vs-unplug",
        "v1-caller-locks",
        &["LK-2", "LK-3", "LK-9"],
    ),
    (
        "stream-vs-reset",
        "v0-core-locks",
        &["LK-1", "LK-2", "LK-3", "LK-4"],
    ),
    ("stream-vs-reset", "v1-caller-locks", &["LK-2", "LK-3"]),
    ("stream-vs-reset", "v2-offload-spinlock", &["ACC-2"]),
    (
        "stream-vs-usbfs-disconnect",
        "v0-core-locks",
        &["LK-1", "LK-2", "LK-3", "LK-4"],
    ),
    (
        "stream-vs-usbfs-disconnect",
        "v1-caller-locks",
        &["LK-2", "LK-3"],
    ),
    (
        "stream-vs-usbfs-disconnect",
        "v2-offload-spinlock",
        &["ACC-2"],
    ),
    (
        "stream-vs-system-suspend",
        "v0-core-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7",
            "SB-8",
        ],
    ),
    (
        "stream-vs-system-suspend",
        "v1-caller-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7",
            "SB-8",
        ],
    ),
    (
        "stream-vs-system-suspend",
        "v2-offload-spinlock",
        &[
            "ACC-11", "ACC-5", "ACC-7", "ACC-8", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7", "SB-8",
        ],
    ),
    (
        "disable-vs-bye",
        "v0-core-locks",
        &["ACC-10", "ACC-11", "LK-3"],
    ),
    (
        "disable-vs-bye",
        "v1-caller-locks",
        &["ACC-10", "ACC-11", "LK-3", "LK-4"],
    ),
    (
        "disable-vs-bye",
        "v2-offload-spinlock",
        &["ACC-10", "ACC-11"],
    ),
    (
        "driver-remove-vs-stream",
        "v0-core-locks",
        &["ACC-11", "ACC-8", "LK-3", "RES-7"],
    ),
    (
        "driver-remove-vs-stream",
        "v1-caller-locks",
        &["ACC-11", "ACC-2", "ACC-8", "LK-3", "LK-4", "RES-7"],
    ),
    (
        "driver-remove-vs-stream",
        "v2-offload-spinlock",
        &["ACC-11", "ACC-2", "ACC-8", "RES-7"],
    ),
    (
        "ring-free-notify",
        "v0-core-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-6",
            "SB-7", "SB-8",
        ],
    ),
    (
        "ring-free-notify",
        "v1-caller-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-6",
            "SB-7", "SB-8",
        ],
    ),
    (
        "ring-free-notify",
        "v2-offload-spinlock",
        &[
            "ACC-11", "ACC-7", "ACC-8", "RES-1", "RES-3", "RES-4", "RES-7", "SB-6", "SB-7", "SB-8",
        ],
    ),
    ("connect", "v0-core-locks", &["LK-3"]),
    ("connect", "v1-caller-locks", &["LK-3", "LK-4"]),
    ("connect", "v2-offload-spinlock", &[]),
    (
        "enable-error-paths",
        "v0-core-locks",
        &[
            "ACC-10", "ACC-8", "LK-3", "RES-2", "RES-3", "RES-4", "RES-5", "RES-6", "RES-7",
        ],
    ),
    (
        "enable-error-paths",
        "v1-caller-locks",
        &[
            "ACC-10", "ACC-8", "LK-3", "LK-4", "RES-2", "RES-3", "RES-4", "RES-5", "RES-6", "RES-7",
        ],
    ),
    (
        "enable-error-paths",
        "v2-offload-spinlock",
        &[
            "ACC-10", "ACC-8", "RES-2", "RES-3", "RES-4", "RES-5", "RES-6", "RES-7",
        ],
    ),
    // the 5 s QMI client timeout lets the device autosuspend first: the enable then
    // resumes it under qdev_mutex (the LK-3 of enable-vs-runtime-suspend)
    ("malformed-request", "v0-core-locks", &["LK-3"]),
    ("malformed-request", "v1-caller-locks", &["LK-3", "LK-4"]),
    ("malformed-request", "v2-offload-spinlock", &["LK-3"]),
    ("del-client", "v0-core-locks", &["ACC-10", "ACC-11", "LK-3"]),
    (
        "del-client",
        "v1-caller-locks",
        &["ACC-10", "ACC-11", "LK-3"],
    ),
    ("del-client", "v2-offload-spinlock", &["ACC-10", "ACC-11"]),
    (
        "enable-vs-usbfs-disconnect",
        "v0-core-locks",
        &["LK-1", "LK-2", "LK-3", "LK-4"],
    ),
    (
        "enable-vs-system-suspend",
        "v0-core-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7",
            "SB-8",
        ],
    ),
    (
        "enable-vs-driver-remove",
        "v0-core-locks",
        &["ACC-11", "ACC-8", "LK-3", "RES-7"],
    ),
    (
        "remove-vs-unplug",
        "v0-core-locks",
        &["LK-3", "RES-8", "SB-8"],
    ),
    (
        "bye-vs-reset",
        "v0-core-locks",
        &["ACC-10", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "enable-vs-usbfs-disconnect",
        "v1-caller-locks",
        &["LK-2", "LK-3"],
    ),
    (
        "enable-vs-system-suspend",
        "v1-caller-locks",
        &[
            "ACC-11", "ACC-7", "ACC-8", "LK-2", "LK-3", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7",
            "SB-8",
        ],
    ),
    (
        "enable-vs-driver-remove",
        "v1-caller-locks",
        &["ACC-11", "ACC-8", "LK-3", "LK-4", "RES-7"],
    ),
    (
        "remove-vs-unplug",
        "v1-caller-locks",
        &["LK-3", "LK-4", "RES-8", "SB-8"],
    ),
    (
        "bye-vs-reset",
        "v1-caller-locks",
        &["ACC-10", "LK-2", "LK-3", "LK-9"],
    ),
    ("enable-vs-usbfs-disconnect", "v2-offload-spinlock", &[]),
    (
        "enable-vs-system-suspend",
        "v2-offload-spinlock",
        &[
            "ACC-11", "ACC-7", "ACC-8", "RES-1", "RES-3", "RES-4", "RES-7", "SB-7", "SB-8",
        ],
    ),
    (
        "enable-vs-driver-remove",
        "v2-offload-spinlock",
        &["ACC-11", "ACC-8", "RES-7"],
    ),
    (
        "remove-vs-unplug",
        "v2-offload-spinlock",
        &["RES-8", "SB-8"],
    ),
    (
        "bye-vs-reset",
        "v2-offload-spinlock",
        &["ACC-10", "LK-9", "RES-10"],
    ),
    (
        "bye-vs-usbfs",
        "v0-core-locks",
        &["ACC-10", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "bye-vs-suspend",
        "v0-core-locks",
        &["ACC-10", "ACC-11", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "bye-vs-remove",
        "v0-core-locks",
        &["ACC-10", "ACC-11", "LK-3", "LK-9", "RES-10"],
    ),
    ("unplug-vs-reset", "v0-core-locks", &["LK-3"]),
    ("unplug-vs-usbfs", "v0-core-locks", &["LK-3"]),
    ("unplug-vs-suspend", "v0-core-locks", &["LK-3"]),
    ("reset-vs-usbfs", "v0-core-locks", &["LK-1", "LK-3", "LK-4"]),
    (
        "reset-vs-suspend",
        "v0-core-locks",
        &["LK-1", "LK-3", "LK-4"],
    ),
    (
        "reset-vs-remove",
        "v0-core-locks",
        &["LK-1", "LK-3", "LK-4"],
    ),
    (
        "usbfs-vs-suspend",
        "v0-core-locks",
        &["LK-1", "LK-3", "LK-4"],
    ),
    (
        "usbfs-vs-remove",
        "v0-core-locks",
        &["LK-1", "LK-3", "LK-4"],
    ),
    (
        "suspend-vs-remove",
        "v0-core-locks",
        &["ACC-11", "ACC-8", "LK-3", "RES-7"],
    ),
    (
        "bye-vs-usbfs",
        "v1-caller-locks",
        &["ACC-10", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "bye-vs-suspend",
        "v1-caller-locks",
        &["ACC-10", "ACC-11", "LK-2", "LK-3", "LK-9"],
    ),
    (
        "bye-vs-remove",
        "v1-caller-locks",
        &["ACC-10", "ACC-11", "LK-3", "LK-9", "RES-10"],
    ),
    ("unplug-vs-reset", "v1-caller-locks", &["LK-3"]),
    ("unplug-vs-usbfs", "v1-caller-locks", &["LK-3"]),
    ("unplug-vs-suspend", "v1-caller-locks", &["LK-3"]),
    ("reset-vs-usbfs", "v1-caller-locks", &["LK-3"]),
    ("reset-vs-suspend", "v1-caller-locks", &["LK-3"]),
    ("reset-vs-remove", "v1-caller-locks", &["LK-3"]),
    ("usbfs-vs-suspend", "v1-caller-locks", &["LK-3"]),
    ("usbfs-vs-remove", "v1-caller-locks", &["LK-3"]),
    (
        "suspend-vs-remove",
        "v1-caller-locks",
        &["ACC-11", "ACC-8", "LK-3", "LK-4", "RES-7"],
    ),
    (
        "bye-vs-usbfs",
        "v2-offload-spinlock",
        &["ACC-10", "LK-9", "RES-10"],
    ),
    (
        "bye-vs-suspend",
        "v2-offload-spinlock",
        &["ACC-10", "ACC-11", "ACC-5", "ACC-7", "LK-9", "RES-10"],
    ),
    (
        "bye-vs-remove",
        "v2-offload-spinlock",
        &["ACC-10", "ACC-11", "LK-9", "RES-10"],
    ),
    ("unplug-vs-reset", "v2-offload-spinlock", &[]),
    ("unplug-vs-usbfs", "v2-offload-spinlock", &[]),
    ("unplug-vs-suspend", "v2-offload-spinlock", &[]),
    ("reset-vs-usbfs", "v2-offload-spinlock", &[]),
    ("reset-vs-suspend", "v2-offload-spinlock", &[]),
    ("reset-vs-remove", "v2-offload-spinlock", &[]),
    ("usbfs-vs-suspend", "v2-offload-spinlock", &[]),
    ("usbfs-vs-remove", "v2-offload-spinlock", &[]),
    (
        "suspend-vs-remove",
        "v2-offload-spinlock",
        &["ACC-11", "ACC-8", "RES-7"],
    ),
];

#[test]
fn golden_findings() {
    let mut failures = Vec::new();
    for &(sc, d, expected) in GOLDEN {
        let design: model::Design = d.parse().unwrap();
        let s = model::find_scenario(sc).expect("scenario");
        let f = s.run;
        let prog = explore::Program {
            name: format!("{d}/{sc}"),
            main: Arc::new(move || f(design)),
        };
        let r = explore::explore(&prog, &explore::Config::default());
        let mut found: Vec<&str> = r
            .findings
            .iter()
            .map(|x| x.finding.property.as_str())
            .collect();
        found.sort();
        found.dedup();
        if !r.exhausted {
            failures.push(format!("{d}/{sc}: not exhausted"));
        }
        let missing: Vec<_> = expected.iter().filter(|p| !found.contains(p)).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{d}/{sc}: expected {missing:?} not found (found {found:?})"
            ));
        }
        if expected.is_empty() && !found.is_empty() {
            failures.push(format!("{d}/{sc}: expected a pass, found {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
