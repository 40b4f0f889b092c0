//! Executable model of the Linux USB audio offload stack.
//!
//! The module tree mirrors the kernel tree (`usb::core::offload` is
//! `drivers/usb/core/offload.c`, `sound::usb::qcom::offload` is
//! `sound/usb/qcom/qc_audio_offload.c`, ...). Every shared field is a `ksync`
//! primitive so that the checker explores the interleavings of the kernel paths.
//! The three historical designs of the offload-usage API ([`Design`]) differ only in
//! their contract, `usb::core::offload::{v0_core_locks, v1_caller_locks,
//! v2_offload_spinlock}`: get/put/check, the PM bookkeeping, and the call sites the
//! contract names (sideband create/remove interrupter, qc event-ring setup/cleanup,
//! the v1 device-lock scopes). The fourth, `typed`, is this project's: its USB core
//! contract is `usb::core::offload::typed` and its class driver
//! `sound::usb::qcom::typed`.

pub mod dsp;
pub mod errno;
pub mod findings;
pub mod invariants;
pub mod kernel;
pub mod lock_order;
pub mod ptr;
pub mod scenarios;
pub mod soc;
pub mod sound;
pub mod system;
pub mod usb;

#[cfg(test)]
pub(crate) mod testutil;

pub use scenarios::check::{check, check_with, Checked};
pub use scenarios::{all as all_scenarios, find as find_scenario, kit, Expect, Scenario};
pub use system::{Config, System};

use std::fmt;
use std::str::FromStr;

/// The offload-usage design version being modelled (spec §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Design {
    /// v6.18-rc1 .. 7.0-rc7: get/put take the device lock themselves; the sideband calls them.
    V0CoreLocks,
    /// Posted Feb/Mar 2026, never merged: caller holds the device lock; the qc driver calls get/put.
    V1CallerLocks,
    /// Merged in 7.0-rc7: per-device `offload_lock` spinlock, `pm_runtime_get_if_active`.
    V2OffloadSpinlock,
    /// This project's contract: lock order in types, usage held as a token whose drop
    /// is the put (deferred while the PM core holds its bookkeeping), sessions that
    /// own their resources.
    Typed,
}

impl Design {
    pub const ALL: [Design; 4] = [
        Design::V0CoreLocks,
        Design::V1CallerLocks,
        Design::V2OffloadSpinlock,
        Design::Typed,
    ];

    /// The designs upstream Linux went through.
    pub const HISTORICAL: [Design; 3] = [
        Design::V0CoreLocks,
        Design::V1CallerLocks,
        Design::V2OffloadSpinlock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Design::V0CoreLocks => "v0-core-locks",
            Design::V1CallerLocks => "v1-caller-locks",
            Design::V2OffloadSpinlock => "v2-offload-spinlock",
            Design::Typed => "typed",
        }
    }

    /// The name of the bit-field word that holds the PM bits (and, in v0/v1/v2, the
    /// offload flag) for race reports.
    pub fn pm_word(self) -> &'static str {
        match self {
            Design::V0CoreLocks | Design::V1CallerLocks => {
                "udev->{do_remote_wakeup,reset_resume,port_is_suspended,offload_at_suspend}"
            }
            Design::V2OffloadSpinlock => {
                "udev->{do_remote_wakeup,reset_resume,port_is_suspended,offload_pm_locked}"
            }
            Design::Typed => "udev->{do_remote_wakeup,reset_resume,port_is_suspended}",
        }
    }
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`Design::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDesign(pub String);

impl fmt::Display for UnknownDesign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown design '{}' (expected v0-core-locks, v1-caller-locks, v2-offload-spinlock or typed)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDesign {}

impl FromStr for Design {
    type Err = UnknownDesign;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "v0-core-locks" | "v0" | "a" => Ok(Design::V0CoreLocks),
            "v1-caller-locks" | "v1" | "d2" => Ok(Design::V1CallerLocks),
            "v2-offload-spinlock" | "v2" | "b" => Ok(Design::V2OffloadSpinlock),
            "typed" => Ok(Design::Typed),
            _ => Err(UnknownDesign(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_round_trip() {
        for d in Design::ALL {
            assert_eq!(d.name().parse::<Design>().unwrap(), d);
            assert_eq!(d.to_string(), d.name());
        }
        assert_eq!("B".parse::<Design>().unwrap(), Design::V2OffloadSpinlock);
        assert_eq!("typed".parse::<Design>().unwrap(), Design::Typed);
        assert!("v3".parse::<Design>().is_err());
    }
}
