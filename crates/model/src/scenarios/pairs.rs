//! Every pair of the teardown and PM paths that can overlap with a live stream. The
//! DSP never answers a disconnect indication, so each W_inuse wait ends by its
//! timeout: the race is between the two kernel paths themselves (the DSP's answers
//! are explored in the `stream` family).

use super::kit::{reacting, stream_then, Path, Reaction};
use super::{Expect, Scenario};
use crate::system::Config;
use crate::Design;

/// Two paths at once with an active stream; the DSP does not answer indications.
pub fn stream_vs_pair(design: Design, a: Path, b: Path) {
    stream_then(reacting(Config::new(design), &[Reaction::Never]), &[a, b]);
}

pub const BYE_VS_USBFS: Scenario = Scenario {
    name: "bye-vs-usbfs",
    description:
        "active stream; QMI client bye races usbfs DISCONNECT; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(c) (f)",
    run: |d| stream_vs_pair(d, Path::Bye, Path::UsbfsDisconnect),
    expect: Expect {
        v0: "ACC-10 LK-2 LK-3 LK-9",
        v1: "ACC-10 LK-2 LK-3 LK-9",
        v2: "ACC-10 LK-8 LK-9 RES-10 RES-9",
    },
};

pub const BYE_VS_SUSPEND: Scenario = Scenario {
    name: "bye-vs-suspend",
    description: "active stream; QMI client bye races system suspend/resume; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(c) (g)",
    run: |d| stream_vs_pair(d, Path::Bye, Path::SystemSleep),
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-2 LK-3 LK-9 PM-4",
        v1: "ACC-10 ACC-11 LK-2 LK-3 LK-9 PM-4",
        v2: "ACC-10 ACC-11 ACC-5 ACC-7 LK-8 LK-9 PM-4 RES-10 RES-9",
    },
};

pub const BYE_VS_REMOVE: Scenario = Scenario {
    name: "bye-vs-remove",
    description:
        "active stream; QMI client bye races qc driver remove; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(c) (j)",
    run: |d| stream_vs_pair(d, Path::Bye, Path::Remove),
    expect: Expect {
        v0: "ACC-10 ACC-11 LK-3 LK-8 LK-9 RES-10 RES-9",
        v1: "ACC-10 ACC-11 LK-3 LK-8 LK-9 RES-10 RES-9",
        v2: "ACC-10 ACC-11 LK-8 LK-9 RES-10 RES-9",
    },
};

pub const UNPLUG_VS_RESET: Scenario = Scenario {
    name: "unplug-vs-reset",
    description:
        "active stream; physical unplug races queued reset; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(d) (e)",
    run: |d| stream_vs_pair(d, Path::Unplug, Path::Reset),
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3",
        v2: "",
    },
};

pub const UNPLUG_VS_USBFS: Scenario = Scenario {
    name: "unplug-vs-usbfs",
    description:
        "active stream; physical unplug races usbfs DISCONNECT; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(d) (f)",
    run: |d| stream_vs_pair(d, Path::Unplug, Path::UsbfsDisconnect),
    expect: Expect {
        v0: "LK-3",
        v1: "LK-3",
        v2: "",
    },
};

pub const UNPLUG_VS_SUSPEND: Scenario = Scenario {
    name: "unplug-vs-suspend",
    description: "active stream; physical unplug races system suspend/resume; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(d) (g)",
    run: |d| stream_vs_pair(d, Path::Unplug, Path::SystemSleep),
    expect: Expect {
        v0: "LK-3 PM-4 PM-6 RES-11",
        v1: "LK-3 PM-4 PM-6 RES-11",
        v2: "PM-4 RES-11",
    },
};

pub const RESET_VS_USBFS: Scenario = Scenario {
    name: "reset-vs-usbfs",
    description:
        "active stream; queued reset races usbfs DISCONNECT; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(e) (f)",
    run: |d| stream_vs_pair(d, Path::Reset, Path::UsbfsDisconnect),
    expect: Expect {
        v0: "LK-1 LK-3 LK-4",
        v1: "ACC-9 LK-3",
        v2: "ACC-9",
    },
};

pub const RESET_VS_SUSPEND: Scenario = Scenario {
    name: "reset-vs-suspend",
    description: "active stream; queued reset races system suspend/resume; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(e) (g)",
    run: |d| stream_vs_pair(d, Path::Reset, Path::SystemSleep),
    expect: Expect {
        v0: "ACC-11 ACC-7 ACC-8 LK-1 LK-3 LK-4 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v1: "ACC-11 ACC-7 ACC-8 ACC-9 LK-3 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
        v2: "ACC-11 ACC-7 ACC-8 ACC-9 PM-4 RES-1 RES-3 RES-4 RES-7 SB-7 SB-8",
    },
};

pub const RESET_VS_REMOVE: Scenario = Scenario {
    name: "reset-vs-remove",
    description:
        "active stream; queued reset races qc driver remove; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(e) (j)",
    run: |d| stream_vs_pair(d, Path::Reset, Path::Remove),
    expect: Expect {
        v0: "ACC-9 LK-1 LK-3 LK-4 RES-8 RES-9 SB-8",
        v1: "ACC-9 LK-3 LK-4 RES-8 RES-9 SB-8",
        v2: "ACC-9 RES-8 RES-9 SB-8",
    },
};

pub const USBFS_VS_SUSPEND: Scenario = Scenario {
    name: "usbfs-vs-suspend",
    description: "active stream; usbfs DISCONNECT races system suspend/resume; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(f) (g)",
    run: |d| stream_vs_pair(d, Path::UsbfsDisconnect, Path::SystemSleep),
    expect: Expect {
        v0: "LK-1 LK-3 LK-4 PM-4 RES-11",
        v1: "ACC-5 ACC-7 ACC-9 LK-3 PM-4 RES-11",
        v2: "ACC-5 ACC-7 ACC-9 PM-4 RES-11",
    },
};

pub const USBFS_VS_REMOVE: Scenario = Scenario {
    name: "usbfs-vs-remove",
    description: "active stream; usbfs DISCONNECT races qc driver remove; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(f) (j)",
    run: |d| stream_vs_pair(d, Path::UsbfsDisconnect, Path::Remove),
    expect: Expect {
        v0: "ACC-5 ACC-7 ACC-9 LK-1 LK-3 LK-4 RES-8 SB-8",
        v1: "ACC-5 ACC-7 ACC-9 LK-3 LK-4 RES-8 SB-8",
        v2: "ACC-5 ACC-7 ACC-9 RES-8 SB-8",
    },
};

pub const SUSPEND_VS_REMOVE: Scenario = Scenario {
    name: "suspend-vs-remove",
    description: "active stream; system suspend/resume races qc driver remove; the DSP does not answer indications",
    bound: None,
    max_executions: None,
    paths: "(g) (j)",
    run: |d| stream_vs_pair(d, Path::SystemSleep, Path::Remove),
    expect: Expect {
        v0: "ACC-11 ACC-8 LK-2 LK-3 LK-8 LK-9 PM-4 RES-7",
        v1: "ACC-11 ACC-5 ACC-7 ACC-8 LK-3 LK-4 LK-8 LK-9 PM-4 RES-7 RES-8",
        v2: "ACC-11 ACC-5 ACC-7 ACC-8 LK-8 LK-9 PM-4 RES-7 RES-8",
    },
};
