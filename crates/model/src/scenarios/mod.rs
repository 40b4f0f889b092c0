//! Scenarios: small concurrent situations composed from the spec's paths (a)–(k),
//! one module per family, built with the [`kit`]. Each scenario is a `const`
//! [`Scenario`] next to its body, carrying the properties it is expected to exhibit
//! per design ([`Expect`], checked by `tests/suite.rs`); [`all`] lists them in
//! priority order. `Scenario::run(design)` is the main function of one execution.

pub mod check;
pub mod expect;
pub mod kit;
pub mod smoke;

mod enable;
mod lifecycle;
mod pairs;
mod qmi;
mod runtime_pm;
mod session;
mod sleep;
mod stream;

pub use expect::Expect;
pub use qmi::{malformed_datagrams, D2, D5, S5};

use crate::Design;

/// One scenario.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// The bound the scenario declares, in words; `None` = explored exhaustively.
    pub bound: Option<&'static str>,
    /// Executions `check` explores when the user gives no bound (`None`: all).
    pub max_executions: Option<u64>,
    /// Spec paths exercised.
    pub paths: &'static str,
    pub run: fn(Design),
    /// The properties the search reports per design (within the declared bound).
    pub expect: Expect,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .finish()
    }
}

/// All scenarios, in priority order.
pub fn all() -> Vec<Scenario> {
    vec![
        session::ENABLE_DISABLE,
        session::ENABLE_DISABLE_TWICE,
        enable::ENABLE_VS_UNPLUG,
        stream::STREAM_VS_RESET,
        stream::STREAM_VS_USBFS_DISCONNECT,
        enable::ENABLE_VS_RUNTIME_SUSPEND,
        stream::STREAM_VS_SYSTEM_SUSPEND,
        stream::BYE_VS_UNPLUG,
        qmi::DISABLE_VS_BYE,
        stream::DRIVER_REMOVE_VS_STREAM,
        stream::RING_FREE_NOTIFY,
        session::CONNECT,
        session::ENABLE_ERROR_PATHS,
        qmi::MALFORMED_REQUEST,
        qmi::DEL_CLIENT,
        enable::ENABLE_VS_USBFS_DISCONNECT,
        enable::ENABLE_VS_SYSTEM_SUSPEND,
        enable::ENABLE_VS_DRIVER_REMOVE,
        stream::REMOVE_VS_UNPLUG,
        stream::BYE_VS_RESET,
        stream::DISABLE_VS_RUNTIME_SUSPEND,
        pairs::BYE_VS_USBFS,
        pairs::BYE_VS_SUSPEND,
        pairs::BYE_VS_REMOVE,
        pairs::UNPLUG_VS_RESET,
        pairs::UNPLUG_VS_USBFS,
        pairs::UNPLUG_VS_SUSPEND,
        pairs::RESET_VS_USBFS,
        pairs::RESET_VS_SUSPEND,
        pairs::RESET_VS_REMOVE,
        pairs::USBFS_VS_SUSPEND,
        pairs::USBFS_VS_REMOVE,
        pairs::SUSPEND_VS_REMOVE,
        session::TWO_CARDS,
        runtime_pm::RUNTIME_SUSPEND_VS_BYE,
        runtime_pm::RUNTIME_SUSPEND_VS_UNPLUG,
        runtime_pm::RUNTIME_SUSPEND_VS_RESET,
        runtime_pm::RUNTIME_SUSPEND_VS_USBFS,
        runtime_pm::RUNTIME_SUSPEND_VS_REMOVE,
        lifecycle::CONNECT_VS_ENABLE,
        lifecycle::CONNECT_VS_REMOVE,
        sleep::SYSTEM_SLEEP_TWICE,
        sleep::STOP_DURING_SLEEP,
        runtime_pm::AUTOSUSPEND_AFTER_SESSION,
        runtime_pm::RUNTIME_SUSPEND_FAILS,
        runtime_pm::PORT_SUSPEND_FAILS_VS_ENABLE,
        sleep::SYSTEM_SUSPEND_FAILS,
        runtime_pm::RESUME_AFTER_UNPLUG,
        lifecycle::DISABLE_TWICE,
        lifecycle::DISABLE_VS_STOP_SESSION,
        lifecycle::UNBIND_TWICE,
        lifecycle::PCM_USER_VS_UNPLUG,
        lifecycle::WARM_RESET_VS_UNPLUG,
    ]
}

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::smoke::run_random;
    use super::*;

    fn print(name: &str, d: Design, s: &smoke::Summary) {
        eprintln!(
            "== {name} [{d}] ends {:?} max_steps {}",
            s.ends, s.max_steps
        );
        for (f, n) in s.findings.values() {
            eprintln!(
                "   {:>5}x {} {} [{}] {}",
                n,
                f.kind.as_str(),
                f.property,
                f.task.clone().unwrap_or_default(),
                f.summary
            );
        }
    }

    #[test]
    fn expectations_name_known_properties() {
        for sc in all() {
            for d in Design::ALL {
                for p in sc.expect.of(d) {
                    let ok = p
                        .split_once('-')
                        .is_some_and(|(a, n)| !a.is_empty() && n.parse::<u32>().is_ok());
                    assert!(ok, "{} [{d}]: `{p}` is not a property id", sc.name);
                }
            }
        }
    }

    #[test]
    fn scenario_names_unique_and_findable() {
        let v = all();
        for s in &v {
            assert_eq!(find(s.name).unwrap().name, s.name);
        }
        let mut n: Vec<_> = v.iter().map(|s| s.name).collect();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), v.len());
    }

    #[test]
    fn enable_disable_baseline() {
        let sc = find("enable-disable").unwrap();
        for d in Design::ALL {
            let s = run_random(&sc, d, 100, 1);
            print(sc.name, d, &s);
            assert!(!s.ends.contains_key("Panic"), "panic in {d}");
            assert!(!s.ends.contains_key("Deadlock"), "deadlock in {d}");
            assert!(!s.ends.contains_key("StepBound"), "step bound in {d}");
            // a random walk finds no property the exhaustive search does not expect
            let want = sc.expected(d);
            for p in s.properties() {
                assert!(
                    want.contains(&p),
                    "{d}: unexpected finding {p}: {:?}",
                    s.findings
                );
            }
        }
    }

    #[test]
    fn all_scenarios_run_without_panics() {
        for sc in all() {
            for d in Design::ALL {
                let s = run_random(&sc, d, 60, 7);
                print(sc.name, d, &s);
                assert!(
                    !s.ends.contains_key("Panic"),
                    "{} [{d}] panicked: {:?}",
                    sc.name,
                    s.findings
                );
                assert!(
                    !s.ends.contains_key("StepBound"),
                    "{} [{d}] hit the step bound",
                    sc.name
                );
            }
        }
    }
}
