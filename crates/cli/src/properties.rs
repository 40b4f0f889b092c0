//! Short names of the property ids of `docs/spec/invariants.md`, for the legend of
//! `check` and the HTML report: a reader sees `LK-3 lock-order cycle`, not a bare id.

/// (id, short name). Kept in the order of the specification.
const NAMES: &[(&str, &str)] = &[
    ("ACC-1", "offload_usage never negative"),
    ("ACC-2", "no put on a zero offload_usage"),
    ("ACC-3", "offload_usage balances gets and puts"),
    ("ACC-4", "offload_usage matches live activity"),
    ("ACC-5", "every get matched by one effective put"),
    ("ACC-6", "offload_usage frozen during suspend bookkeeping"),
    ("ACC-7", "offload_usage 0 when idle"),
    ("ACC-8", "chip->active balanced"),
    ("ACC-9", "runtime-PM usage_count balanced"),
    ("ACC-10", "in_use agrees with the kref"),
    ("ACC-11", "subs->opened agrees with the stream"),
    ("ACC-12", "disable of an inactive stream is a no-op"),
    ("PM-1", "suspend/resume symmetry"),
    ("PM-2", "USB state agrees with runtime status"),
    ("PM-3", "offload decision closed over ancestors"),
    ("PM-4", "suspend decision reflects live offload"),
    ("PM-5", "offload_pm_locked spans the transition"),
    ("PM-6", "offload_at_suspend only across a skipped suspend"),
    ("PM-7", "live offload keeps the device runtime-active"),
    ("PM-8", "usb_offload_check preconditions"),
    ("PM-9", "skipped suspend keeps the controller powered"),
    ("LK-1", "recursive acquisition of a mutex"),
    ("LK-2", "deadlock"),
    ("LK-3", "lock-order cycle"),
    ("LK-4", "documented lock precondition"),
    ("LK-5", "sleep while holding a spinlock"),
    ("LK-6", "conditional waits"),
    ("LK-7", "bounded completion"),
    ("LK-8", "data race on a protected field"),
    ("LK-9", "lost wake-up"),
    ("SB-1", "one sideband per device"),
    ("SB-2", "one interrupter per sideband"),
    ("SB-3", "sideband and endpoint agree"),
    ("SB-4", "no use of a freed sideband"),
    ("SB-5", "ring-free notification reaches the owner"),
    ("SB-6", "ring-free notification hits the right stream"),
    ("SB-7", "interrupter iff a live event-ring session"),
    ("SB-8", "endpoint released when its stream ends"),
    ("SB-9", "nothing released that the sideband does not hold"),
    ("RES-1", "card_slot bit iff a live session"),
    ("RES-2", "event ring mapped iff an interrupter lives"),
    ("RES-3", "every IOVA returned once"),
    ("RES-4", "every IOMMU map unmapped once"),
    ("RES-5", "every buffer freed once"),
    ("RES-6", "failed enable restores everything"),
    ("RES-7", "stream teardown releases everything"),
    ("RES-8", "nothing left after remove or disconnect"),
    ("RES-9", "use after free"),
    ("RES-10", "one response per QMI request"),
    ("RES-11", "session pointers live or cleared"),
    ("RES-12", "a session is torn down once"),
    ("RES-13", "no read past a buffer's end"),
    // The checker's self-test programs.
    ("ABBA-1", "self-test assertion"),
    ("TLC-1", "self-test assertion"),
    ("panic", "panic in model code"),
];

/// The short name of property `id`, if it is one of the specification's.
pub fn name(id: &str) -> Option<&'static str> {
    NAMES.iter().find(|(k, _)| *k == id).map(|(_, v)| *v)
}

/// `id` followed by its name: `LK-3 lock-order cycle (potential deadlock)`.
pub fn labelled(id: &str) -> String {
    match name(id) {
        Some(n) => format!("{id} {n}"),
        None => id.to_string(),
    }
}

/// Sorts property ids by family then number (ACC-2 before ACC-10).
pub fn sort_ids(ids: &mut [String]) {
    ids.sort_by_key(|id| {
        let (fam, num) = id.rsplit_once('-').unwrap_or((id, "0"));
        let fam_rank = ["ACC", "PM", "LK", "SB", "RES"]
            .iter()
            .position(|f| *f == fam)
            .unwrap_or(9);
        (fam_rank, fam.to_string(), num.parse::<u32>().unwrap_or(0))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id the specification defines has a name here, so the legend never
    /// shows a bare id for a property of the model.
    #[test]
    fn every_specified_property_has_a_name() {
        let spec = include_str!("../../../docs/spec/invariants.md");
        let mut n = 0;
        for line in spec.lines() {
            let Some(rest) = line.strip_prefix("* **") else {
                continue;
            };
            let Some((id, _)) = rest.split_once("**") else {
                continue;
            };
            // Property ids are FAMILY-N; other bold lead words are definitions.
            let is_id = id
                .rsplit_once('-')
                .is_some_and(|(_, n)| n.parse::<u32>().is_ok());
            if !is_id {
                continue;
            }
            assert!(name(id).is_some(), "{id} has no name");
            n += 1;
        }
        assert!(n >= 50, "read only {n} ids from the specification");
    }

    #[test]
    fn ids_sort_by_family_and_number() {
        let mut v: Vec<String> = ["RES-1", "LK-10", "ACC-10", "LK-2", "ACC-2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sort_ids(&mut v);
        assert_eq!(v, ["ACC-2", "ACC-10", "LK-2", "LK-10", "RES-1"]);
        assert_eq!(labelled("LK-2"), "LK-2 deadlock");
        assert_eq!(labelled("XYZ-1"), "XYZ-1");
    }
}
