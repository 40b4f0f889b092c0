use super::*;

/// Mechanisms `check` printed for the three designs (one row per distinct design ×
/// signature, plus the summaries the rules read), with the cause each was given when
/// the rules were written: design, scenario, kind, property, summary, signature, cause.
/// The rows are static inputs, so a model change does not touch them; a deliberate change
/// of a rule updates the last column (`usb-offload findings --from RUN.jsonl --tsv` prints
/// the cause of every finding of a run).
const FIXTURE: &str = include_str!("fixture.tsv");

fn rows() -> Vec<(Facts<'static>, &'static str)> {
    FIXTURE
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 7, "bad fixture row: {l}");
            let f = Facts {
                design: c[0],
                scenario: c[1],
                kind: c[2],
                property: c[3],
                summary: c[4],
                signature: c[5],
            };
            (f, c[6])
        })
        .collect()
}

fn facts(kind: &'static str, property: &'static str, signature: &'static str) -> Facts<'static> {
    Facts {
        design: "v2-offload-spinlock",
        scenario: "stream-vs-system-suspend",
        kind,
        property,
        summary: "",
        signature,
    }
}

#[test]
fn parses_task_site_and_tags_of_an_invariant() {
    let f = facts(
        "invariant",
        "ACC-2",
        "invariant ACC-2 T_usr@usb_offload_put holding &chip->mutex(card0),qdev_mutex after W_inuse wait interrupted",
    );
    assert_eq!(f.task_site(), Some(("T_usr", "usb_offload_put")));
    assert_eq!(f.tags(), vec!["W_inuse wait interrupted"]);
    assert_eq!(f.body(), "");
}

#[test]
fn parses_several_tags_of_a_leak_without_site() {
    let f = facts(
        "leak",
        "ACC-5",
        "leak ACC-5 after W_inuse wait timed out, usb_offload_put -EAGAIN",
    );
    assert_eq!(f.site(), None);
    assert_eq!(
        f.tags(),
        vec!["W_inuse wait timed out", "usb_offload_put -EAGAIN"]
    );
    assert!(f.tag(PUT_ERROR));
}

#[test]
fn parses_body_and_tags_of_a_deadlock() {
    let f = facts(
        "deadlock",
        "LK-2",
        "deadlock LK-2 [T_sys waits for qdev_mutex held by qmi_wq in uaudio_send_disconnect_ind; qmi_wq waits for &udev->dev.mutex/2(1-1.1) held by T_sys in usb_offload_put] after W_inuse wait timed out",
    );
    assert!(f.body().starts_with("T_sys waits for qdev_mutex"));
    assert!(f.body().ends_with("in usb_offload_put"));
    assert_eq!(f.tags(), vec![TIMED_OUT]);
    assert_eq!(f.task_site(), None);
}

#[test]
fn lock_order_has_no_tags() {
    let f = facts(
        "lock-order",
        "LK-3",
        "lock-order LK-3 [qdev_mutex --> W_rpm --> qdev_mutex]",
    );
    assert_eq!(f.body(), "qdev_mutex --> W_rpm --> qdev_mutex");
    assert!(f.tags().is_empty());
}

#[test]
fn an_unknown_mechanism_is_unclassified() {
    let f = facts(
        "sleep-in-atomic",
        "LK-5",
        "sleep-in-atomic LK-5 qmi_wq@usb_offload_get holding &udev->offload_lock(1-1.1)",
    );
    assert!(matches!(classify(&f), Verdict::Unclassified));
    // A v2 cycle through the device lock has no rule: v2 has no such edge, and a model
    // change that creates one must be looked at, not filed under v0's or v1's cause.
    let f = facts(
        "lock-order",
        "LK-3",
        "lock-order LK-3 [qdev_mutex --> &udev->dev.mutex/2 --> qdev_mutex]",
    );
    assert!(matches!(classify(&f), Verdict::Unclassified));
}

#[test]
fn the_same_cycle_goes_to_the_cause_of_its_design() {
    let mut f = facts(
        "lock-order",
        "LK-3",
        "lock-order LK-3 [qdev_mutex --> &udev->dev.mutex/2 --> qdev_mutex]",
    );
    f.design = "v0-core-locks";
    assert_eq!(key(&f), "v0-offload-takes-device-lock");
    f.design = "v1-caller-locks";
    assert_eq!(key(&f), "v1-guard-inverts-device-lock");
}

#[test]
fn a_put_error_outranks_the_timeout_for_the_count_leak() {
    let f = facts(
        "leak",
        "ACC-7",
        "leak ACC-7 after W_inuse wait timed out, usb_offload_put -EBUSY",
    );
    assert_eq!(key(&f), "offload-put-ebusy-ignored");
    let f = facts("leak", "ACC-7", "leak ACC-7 after W_inuse wait timed out");
    assert_eq!(key(&f), "dsp-silent-suspend-keeps-session");
}

fn key(f: &Facts) -> &'static str {
    match classify(f) {
        Verdict::Cause(c) => c.key,
        Verdict::Unclassified => "unclassified",
        Verdict::Ambiguous(_) => "ambiguous",
    }
}

#[test]
fn every_recorded_mechanism_keeps_its_cause() {
    let mut wrong = Vec::new();
    for (f, want) in rows() {
        let got = key(&f);
        if got != want {
            wrong.push(format!(
                "{} {}: {got}, recorded {want}",
                f.design, f.signature
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_rule_is_used_and_keys_are_unique() {
    let rows = rows();
    let mut keys: Vec<&str> = causes().iter().map(|c| c.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), causes().len(), "duplicate cause key");
    for c in causes() {
        assert!(
            rows.iter().any(|(_, k)| *k == c.key),
            "{} matches no recorded mechanism",
            c.key
        );
        assert!(cause(c.key).is_some());
    }
}

#[test]
fn a_failed_port_suspend_is_not_an_enable_path_fault() {
    // The leak after a timed-out runtime suspend whose port suspend then failed is the
    // timed-out session's, not an error label of prepare_qmi_response().
    let f = facts(
        "leak",
        "RES-4",
        "leak RES-4 after W_inuse wait timed out, injected: port suspend fails",
    );
    assert_eq!(key(&f), "dsp-silent-suspend-keeps-session");
    let f = facts(
        "leak",
        "RES-4",
        "leak RES-4 after injected: info allocation fails",
    );
    assert_eq!(key(&f), "prepare-qmi-response-unwind");
}

#[test]
fn the_suspend_decision_goes_to_what_left_the_count() {
    let sig = |tail: &'static str| -> &'static str {
        match tail {
            "" => "invariant PM-4 T_sys@usb_suspend_both holding &udev->dev.mutex/2(1-1.1)",
            "t" => "invariant PM-4 T_sys@usb_suspend_both holding &udev->dev.mutex(usb1) after W_inuse wait timed out",
            _ => "invariant PM-4 T_sys@usb_suspend_both holding &udev->dev.mutex(usb1) after W_inuse wait timed out, usb_offload_put -EAGAIN",
        }
    };
    // With no mark, the summary says why the decision and the live sessions differ.
    let unmarked = |summary: &'static str| Facts {
        summary,
        ..facts("invariant", "PM-4", sig(""))
    };
    assert_eq!(
        key(&unmarked(
            "1-1.1: system-suspend offload decision true but live offload activity in its subtree false: no live session in the subtree while an offload_usage is still counted"
        )),
        "suspend-decides-on-ending-session"
    );
    assert_eq!(
        key(&unmarked(
            "1-1.1: system-suspend offload decision false but live offload activity in its subtree true: a live session whose offload_usage is not counted"
        )),
        "suspend-decides-on-ending-session"
    );
    assert_eq!(
        key(&facts("invariant", "PM-4", sig("t"))),
        "dsp-silent-suspend-keeps-session"
    );
    assert_eq!(
        key(&facts("invariant", "PM-4", sig("p"))),
        "offload-put-eagain-ignored"
    );
}

#[test]
fn a_recursive_qdev_mutex_is_not_the_device_lock_recursion() {
    let mut f = facts(
        "recursive-lock",
        "LK-1",
        "recursive-lock LK-1 qmi_wq@qc_usb_audio_offload_suspend holding qdev_mutex",
    );
    f.design = "v0-core-locks";
    assert_eq!(key(&f), "v0v1-put-suspends-in-caller");
    f.design = "v1-caller-locks";
    assert_eq!(key(&f), "v0v1-put-suspends-in-caller");
    // v2's put resumes nothing synchronously: such a cycle there must be looked at.
    f.design = "v2-offload-spinlock";
    assert_eq!(key(&f), "unclassified");
}
