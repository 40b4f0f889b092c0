//! Classification of checker findings into explained causes.
//!
//! `check` names a finding by its *mechanism* (its signature: kind, property, task and
//! kernel function, locks or wait cycle, and the mechanism marks of the execution). One
//! kernel bug usually shows up as several mechanisms (one per racing thread, per design,
//! per resource left behind), so the rules below map every mechanism to one *cause*: a
//! short title, a class and an explanation in terms of the kernel C.
//!
//! The rules are data, matched against what a finding carries (the same fields `check
//! --json` prints), so `docs/findings.md` and `docs/upstream-report.md` can be
//! regenerated after every model change. A mechanism no rule matches is
//! *unclassified*; one that two rules match is *ambiguous*. Both are shown as such, never
//! hidden: a model change that creates a new mechanism must be read and given a rule.

use std::fmt;

/// What a cause is, for a reader deciding what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// The kernel code does it: the explanation names the C function and its lines.
    KernelDefect,
    /// The finding needs this behaviour of the environment, and the kernel does what
    /// it documents for that case; the report is about the consequence.
    Environment(&'static str),
    /// The model differs from the C here; to be fixed in the model.
    ModelArtefact,
}

impl Class {
    /// Short label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Class::KernelDefect => "kernel defect",
            Class::Environment(_) => "environment assumption",
            Class::ModelArtefact => "model artefact",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Class::Environment(which) => write!(f, "environment assumption: {which}"),
            c => f.write_str(c.label()),
        }
    }
}

/// The fields of one finding that the rules look at, as `check --json` prints them.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub design: &'a str,
    pub scenario: &'a str,
    pub kind: &'a str,
    pub property: &'a str,
    pub summary: &'a str,
    /// [`ksync::Finding::signature`]; task, site, locks and tags are parsed from it.
    pub signature: &'a str,
}

/// Kinds whose signature carries a bracketed body (cycle, waits, race sides) instead
/// of `task@site holding locks`.
fn bracketed(kind: &str) -> bool {
    matches!(kind, "deadlock" | "lock-order" | "data-race")
}

impl<'a> Facts<'a> {
    /// The signature after `kind PROPERTY `.
    fn rest(&self) -> &'a str {
        let head = format!("{} {}", self.kind, self.property);
        self.signature
            .strip_prefix(head.as_str())
            .map_or(self.signature, str::trim_start)
    }

    /// The bracketed body: the wait cycle, the lock-order cycle, or the race's sides.
    pub fn body(&self) -> &'a str {
        if !bracketed(self.kind) {
            return "";
        }
        let r = self.rest();
        match (r.find('['), r.rfind(']')) {
            (Some(a), Some(b)) if a < b => &r[a + 1..b],
            _ => "",
        }
    }

    /// `(task, site)` of an invariant, leak, recursive-lock … finding, if it has one.
    pub fn task_site(&self) -> Option<(&'a str, &'a str)> {
        if bracketed(self.kind) {
            return None;
        }
        let first = self.rest().split(' ').next()?;
        first.split_once('@')
    }

    /// The kernel function the finding fired in, if one is named.
    pub fn site(&self) -> Option<&'a str> {
        self.task_site().map(|(_, s)| s)
    }

    /// The mechanism marks of the execution (error returns, timeouts, injected faults).
    pub fn tags(&self) -> Vec<&'a str> {
        if self.kind == "lock-order" {
            return Vec::new();
        }
        let tail = if bracketed(self.kind) {
            self.signature
                .rfind(']')
                .map_or("", |i| &self.signature[i + 1..])
        } else {
            self.rest()
        };
        // A leak without a site has nothing before its marks: `leak ACC-7 after …`.
        let marks = match tail.rsplit_once(" after ") {
            Some((_, t)) => Some(t),
            None => tail.trim_start().strip_prefix("after "),
        };
        marks.map_or_else(Vec::new, |t| t.split(", ").collect())
    }

    /// The field a data race is on (`uadev->udev`, `platform_ops`, …).
    pub fn race_field(&self) -> &'a str {
        if self.kind != "data-race" {
            return "";
        }
        let r = self.rest();
        r.find('[').map_or(r, |i| r[..i].trim_end())
    }

    fn tag(&self, prefix: &str) -> bool {
        self.tags().iter().any(|t| t.starts_with(prefix))
    }

    fn prop(&self, props: &[&str]) -> bool {
        props.contains(&self.property)
    }

    fn design(&self, v: &str) -> bool {
        self.design.starts_with(v)
    }

    /// A wait cycle or lock-order cycle.
    fn cycle(&self) -> bool {
        matches!(self.kind, "deadlock" | "lock-order")
    }
}

/// Mark of a `W_inuse` wait ended by its 10 s timeout.
const TIMED_OUT: &str = "W_inuse wait timed out";
/// Mark of a fault injected by the scenario.
const INJECTED: &str = "injected:";
/// Mark of a `W_inuse` wait ended by a signal.
const INTERRUPTED: &str = "W_inuse wait interrupted";
/// Mark of the injected failure of a port suspend (a runtime or system suspend that
/// `usb_suspend_both()` then rolls back); unlike the enable path's injected allocation and
/// mapping failures it runs no error label of the qc driver.
const PORT_SUSPEND_FAILS: &str = "injected: port suspend fails";
/// Mark of a `usb_offload_put` that returned an error.
const PUT_ERROR: &str = "usb_offload_put -";
/// The audio device's device lock, in cycles.
const UDEV_LOCK: &str = "&udev->dev.mutex";

/// The DSP's side of the disconnect handshake, as the environment assumption of the
/// timeout causes.
const DSP_NEVER_ANSWERS: &str = "the DSP never answers the disconnect indication";

/// One explained cause.
pub struct Cause {
    /// Stable key (used by the report templates).
    pub key: &'static str,
    pub class: Class,
    pub title: &'static str,
    /// Kernel functions involved.
    pub functions: &'static [&'static str],
    /// Markdown: what the C does, line by line where it matters, and what follows.
    pub explanation: &'static str,
    matches: fn(&Facts) -> bool,
}

impl Cause {
    pub fn matches(&self, f: &Facts) -> bool {
        (self.matches)(f)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)
    }
}

/// The result of classifying one finding.
#[derive(Debug)]
pub enum Verdict {
    Cause(&'static Cause),
    /// No rule matches: a mechanism nobody has explained yet.
    Unclassified,
    /// More than one rule matches: the rules overlap and need fixing.
    Ambiguous(Vec<&'static Cause>),
}

/// Classify one finding.
pub fn classify(f: &Facts) -> Verdict {
    let hits: Vec<&'static Cause> = CAUSES.iter().filter(|c| c.matches(f)).collect();
    match hits.len() {
        0 => Verdict::Unclassified,
        1 => Verdict::Cause(hits[0]),
        _ => Verdict::Ambiguous(hits),
    }
}

/// All causes, in the order the documents present them.
pub fn causes() -> &'static [Cause] {
    CAUSES
}

/// Look a cause up by key.
pub fn cause(key: &str) -> Option<&'static Cause> {
    CAUSES.iter().find(|c| c.key == key)
}

static CAUSES: &[Cause] = &[
    // ---- lock order and deadlocks ------------------------------------------------
    Cause {
        key: "rpm-resume-under-qdev-mutex",
        class: Class::KernelDefect,
        title: "A QMI request sleeps in rpm_resume() holding qdev_mutex while the runtime suspend it waits for needs qdev_mutex in suspend_cb",
        functions: &["handle_uaudio_stream_req", "enable_audio_stream", "snd_usb_autoresume", "rpm_resume", "usb_runtime_suspend", "usb_audio_suspend", "qc_usb_audio_offload_suspend"],
        explanation: "`handle_uaudio_stream_req()` takes `qdev_mutex` and holds it across `enable_audio_stream()`, whose \
`snd_usb_autoresume(chip)` ends in `rpm_resume()`. If the runtime-PM worker has just set the device `RPM_SUSPENDING`, \
`rpm_resume()` sleeps until that transition ends. The transition is `usb_runtime_suspend()` → `usb_suspend_both()` → \
`usb_audio_suspend()`, which calls `platform_ops->suspend_cb` for every message, auto-suspend included; \
`qc_usb_audio_offload_suspend()` starts with `guard(mutex)(&qdev_mutex)`. Neither wait has a timeout: the QMI worker and \
the PM worker block each other for good and the DSP never gets its response. In v0 and v1 `usb_offload_get/put` also \
resume the device synchronously (`usb_autoresume_device()`) under `qdev_mutex`, `&chip->mutex` and (v0) `&sb->mutex` or \
(v1) the device lock, which adds the other `W_rpm` cycles.",
        matches: |f| f.cycle() && f.body().contains("W_rpm"),
    },
    Cause {
        key: "v0-offload-takes-device-lock",
        class: Class::KernelDefect,
        title: "v0: usb_offload_get/put take the device lock while the sideband and the qc driver hold their own locks",
        functions: &["usb_offload_get", "usb_offload_put", "xhci_sideband_create_interrupter", "__xhci_sideband_remove_interrupter", "qc_usb_audio_offload_disconnect"],
        explanation: "In v0 (v6.18-rc1 … 7.0-rc7) `usb_offload_get()`/`usb_offload_put()` begin with \
`usb_lock_device(udev)`, and they are called by `xhci_sideband_create_interrupter()` and \
`__xhci_sideband_remove_interrupter()` with `&sb->mutex` held, inside the qc driver's `qdev_mutex` (and `&chip->mutex` \
on the disable path). The USB core takes the same device lock first and then calls into the audio driver: probe, \
`usb_disconnect()` → `usb_unbind_interface()` → `qc_usb_audio_offload_disconnect()` (which takes `qdev_mutex`), \
`usb_reset_device()`'s forced unbind, usbfs `USBDEVFS_DISCONNECT`, and the PM core's `device_suspend()`. So every \
lock the qc path holds at the get/put is ordered both before and after the device lock: a potential deadlock per \
lock (LK-3), and a real one (LK-2) when the device-lock holder is waiting for `qdev_mutex` (disconnect callback, or \
after the `W_inuse` wait in `uaudio_send_disconnect_ind()`). Lockdep does not see these: device mutexes are in its \
novalidate class.",
        matches: |f| f.design("v0") && f.cycle() && f.body().contains(UDEV_LOCK) && !f.body().contains("W_rpm"),
    },
    Cause {
        key: "v0-recursive-device-lock",
        class: Class::KernelDefect,
        title: "v0: the forced-unbind cleanup calls usb_offload_put with the device lock held, and put takes it again",
        functions: &["usb_reset_device", "usb_forced_unbind_intf", "qc_usb_audio_offload_disconnect", "uaudio_event_ring_cleanup_free", "usb_offload_put"],
        explanation: "`usb_reset_device()` (queued reset, usbfs `USBDEVFS_RESET`), usbfs disconnect and the hub's \
warm reset hold the device lock while they unbind the audio interface. `qc_usb_audio_offload_disconnect()` → \
`uaudio_send_disconnect_ind()` waits up to 10 s for the DSP, then `uaudio_dev_cleanup()` → \
`uaudio_event_ring_cleanup_free()` → `xhci_sideband_remove_interrupter()` → `__xhci_sideband_remove_interrupter()` \
calls the v0 `usb_offload_put()`, whose `usb_lock_device()` is a recursive acquisition of a lock the same task holds: \
the task hangs with `qdev_mutex`, `&chip->mutex`, `&sb->mutex`, `register_mutex` and the interface and device locks \
held. This is the call stack that led to the v1/v2 rework.",
        matches: |f| {
            f.design("v0")
                && ((f.property == "LK-1" && f.site() != Some("qc_usb_audio_offload_suspend"))
                    || (f.property == "LK-4" && f.summary.contains("(v0)")))
        },
    },
    Cause {
        key: "v1-guard-inverts-device-lock",
        class: Class::KernelDefect,
        title: "v1: the qc driver takes the device lock under qdev_mutex, the reverse of the USB core's order",
        functions: &["handle_uaudio_stream_req", "qmi_stop_session", "qc_usb_audio_offload_disconnect", "qc_usb_audio_offload_suspend"],
        explanation: "The v1 patch (posted, not merged) made the caller hold the device lock for \
`usb_offload_get/put`; the qc driver takes it with a scoped guard inside `handle_uaudio_stream_req()` and in \
`qmi_stop_session()`, both *after* `qdev_mutex`. The USB core holds the device lock when it calls the audio \
driver's disconnect and suspend (`qc_usb_audio_offload_disconnect()`/`_suspend()` take `qdev_mutex`), so the order is \
inverted: LK-3 in every scenario, and LK-2 whenever a QMI request or a BYE races an unplug, reset, usbfs \
disconnect or system suspend.",
        matches: |f| f.design("v1") && f.cycle() && f.body().contains(UDEV_LOCK) && !f.body().contains("W_rpm"),
    },
    Cause {
        key: "v1-put-without-device-lock",
        class: Class::KernelDefect,
        title: "v1: usb_offload_put is called without the device lock its contract requires",
        functions: &["handle_uaudio_stream_req", "uaudio_dev_release", "uaudio_event_ring_cleanup_free", "qc_usb_audio_remove", "usb_offload_put"],
        explanation: "v1's `usb_offload_put()` starts with `device_lock_assert(&udev->dev)`. The disable request \
drops its device-lock guard before the response label's `kref_put(…, uaudio_dev_release)`, and \
`uaudio_dev_release()` → `uaudio_event_ring_cleanup_free()` → `usb_offload_put()` then runs with only \
`qdev_mutex` and `&chip->mutex`; the qc driver's remove (`qc_usb_audio_remove()`) puts without any device lock. \
In the kernel this is a lockdep warning per disable and the count is changed unprotected (LK-8 on \
`offload_usage`). The system-sleep path reads it under the device lock: `usb_suspend_both()` → \
`usb_offload_check()` for the audio device, then again for each ancestor hub and in \
`xhci_sideband_check()` for the controller. A disable that decrements in between makes the audio device skip \
its suspend for offload while its hub and the controller suspend under it (PM-3, PM-9): the DSP is left \
streaming to a device behind a suspended link.",
        matches: |f| {
            f.design("v1")
                && ((f.property == "LK-4" && f.summary.contains("device_lock_assert"))
                    || f.race_field().starts_with("udev->offload_usage")
                    || (f.prop(&["PM-3", "PM-9"]) && f.site() == Some("dpm_suspend_resume")))
        },
    },
    // ---- qc driver teardown -------------------------------------------------------
    Cause {
        key: "event-ring-cleanup-twice",
        class: Class::KernelDefect,
        title: "A session is torn down twice: the disable's kref release and the later disconnect both run uaudio_event_ring_cleanup_free",
        functions: &["uaudio_dev_release", "uaudio_dev_cleanup", "uaudio_event_ring_cleanup_free", "qc_usb_audio_offload_disconnect"],
        explanation: "A disable request's response label does `kref_put(&uadev[card].kref, uaudio_dev_release)`; \
`uaudio_dev_release()` calls `uaudio_event_ring_cleanup_free()`, clears `in_use` and wakes `disconnect_wq`, but \
leaves `dev->udev` set (only `uaudio_dev_cleanup()` clears it). When the disconnect callback then runs \
(`qc_usb_audio_offload_disconnect()`: `if (!dev->udev) goto done;` does not skip), `uaudio_dev_cleanup()` calls \
`uaudio_event_ring_cleanup_free()` again: `clear_bit()` of a bit that is already clear, and because \
`card_slot` is 0 it unmaps the event ring again (skipped only because `er_mapped` is false), calls \
`xhci_sideband_remove_interrupter()` on a sideband without interrupter, and calls `usb_offload_put()` a second \
time (ACC-2). The second pass is absorbed today only because `uaudio_iommu_unmap()` tests `er_mapped`, \
`xhci_sideband_remove_interrupter()` returns when `sb->ir` is NULL and `usb_offload_put()` clamps at 0; the put \
matches no get.",
        matches: |f| {
            f.prop(&["RES-12", "SB-9", "ACC-2"])
                || (f.property == "RES-4" && f.site() == Some("uaudio_event_ring_cleanup_free"))
        },
    },
    Cause {
        key: "in-use-cleared-without-wakeup",
        class: Class::KernelDefect,
        title: "in_use is cleared without wake_up(disconnect_wq): the disconnect/suspend waiter sleeps its full 10 s",
        functions: &["qmi_stop_session", "uaudio_send_disconnect_ind"],
        explanation: "`uaudio_send_disconnect_ind()` sleeps in `wait_event_interruptible_timeout(dev->disconnect_wq, \
!atomic_read(&dev->in_use), 10 s)`. Only `uaudio_dev_release()` wakes that queue. `qmi_stop_session()` (QMI BYE or \
DEL_CLIENT, i.e. the DSP's QMI client went away) does `atomic_set(&uadev[idx].in_use, 0)` without a wake-up, and so \
does the timeout branch of another `uaudio_send_disconnect_ind()` (two waiters on one card, e.g. system suspend and \
driver remove). The sleeping thread (hub_event, the reset worker, a usbfs ioctl, or the PM core with the device \
lock held) learns of it only from its 10 s timeout.",
        matches: |f| f.property == "LK-9" && f.summary.contains("W_inuse"),
    },
    Cause {
        key: "stop-session-leaves-stream-state",
        class: Class::KernelDefect,
        title: "qmi_stop_session ends the session but leaves subs->opened = 1 and the kref at 1",
        functions: &["qmi_stop_session", "qmi_bye_cb", "qmi_svc_disconnect_cb", "handle_uaudio_stream_req"],
        explanation: "`qmi_stop_session()` (from `qmi_bye_cb()`/`qmi_svc_disconnect_cb()`) removes the endpoints, \
calls `disable_audio_stream()`, clears `in_use` and runs `uaudio_dev_cleanup()`, but never clears `subs->opened` \
(the enable path set it under `&chip->mutex`; only a disable request resets it) and never drops the kref. \
`handle_uaudio_stream_req()` refuses an enable with `-EBUSY` while `subs->opened` is set, so after the DSP's QMI \
client restarts (BYE/DEL_CLIENT, e.g. a DSP subsystem restart) that PCM cannot be offloaded again until the device \
is re-enumerated. A disable racing the BYE fails with `-EINVAL` (`info_idx < 0`) and does not reset it either.",
        matches: |f| f.prop(&["ACC-10", "ACC-11"]) && !f.tag(TIMED_OUT) && !f.tag(INJECTED),
    },
    Cause {
        key: "disconnect-ind-reads-after-unlock",
        class: Class::KernelDefect,
        title: "uaudio_send_disconnect_ind reads dev->udev and the client address after dropping qdev_mutex (NULL dereference)",
        functions: &["uaudio_send_disconnect_ind", "qmi_stop_session", "uaudio_dev_cleanup", "qmi_bye_cb"],
        explanation: "`uaudio_send_disconnect_ind()` checks `in_use`, then `mutex_unlock(&chip->mutex); \
mutex_unlock(&qdev_mutex);` and only afterwards builds the indication: `disconnect_ind.slot_id = \
dev->udev->slot_id;` and `qmi_send_indication(…, &svc->client_sq, …)`. A BYE or DEL_CLIENT handled in that window \
runs `qmi_stop_session()` → `uaudio_dev_cleanup()`, which sets `dev->udev = NULL`, and `qmi_bye_cb()` then zeroes \
`client_sq`. The disconnect path (hub_event, reset, usbfs, system suspend, driver remove) then dereferences NULL \
(RES-9: an oops with the device lock held) or sends to node 0, port 0 (RES-10). LK-8 reports the unsynchronised \
`uadev->udev` access itself.",
        matches: |f| {
            (f.prop(&["RES-9", "RES-10"]) && f.site() == Some("uaudio_send_disconnect_ind"))
                || f.race_field().starts_with("uadev->udev")
        },
    },
    Cause {
        key: "offload-put-eagain-ignored",
        class: Class::KernelDefect,
        title: "usb_offload_put returns -EAGAIN inside a system-sleep transition and the qc driver ignores it: offload_usage stays high",
        functions: &["usb_offload_put", "usb_offload_set_pm_locked", "usb_suspend_both", "uaudio_event_ring_cleanup_free"],
        explanation: "v2's `usb_offload_put()` returns `-EAGAIN` without decrementing while \
`udev->offload_pm_locked` is set, i.e. from `usb_suspend_both()`'s `usb_offload_set_pm_locked(udev, true)` until \
`usb_resume_both()` clears it. System suspend calls `qc_usb_audio_offload_suspend()` inside that window, and it \
waits up to 10 s with the locks dropped; a disable request, a BYE (`qmi_stop_session()`) or the driver remove that \
ends the session in that window reaches `uaudio_event_ring_cleanup_free()` → `usb_offload_put(dev->udev)`, whose \
result is ignored, and nothing retries it. `offload_usage` stays 1 with no session: every later system suspend \
finds `usb_offload_check()` true, skips suspending the device and keeps the xHCI controller powered \
(PM-4: the decision says offload while nothing streams; in a second sleep, or in the same one for the hubs \
above the device).",
        matches: |f| put_leak(f) && f.tag("usb_offload_put -EAGAIN"),
    },
    Cause {
        key: "offload-put-ebusy-ignored",
        class: Class::KernelDefect,
        title: "usb_offload_put returns -EBUSY for a device that is not runtime-active and the qc driver ignores it: offload_usage stays high",
        functions: &["usb_offload_put", "pm_runtime_get_if_active", "disable_audio_stream", "uaudio_event_ring_cleanup_free"],
        explanation: "v2's `usb_offload_put()` starts with `if (pm_runtime_get_if_active(&udev->dev) != 1) return \
-EBUSY;` without decrementing. A disable request drops the stream's runtime-PM reference in \
`disable_audio_stream()` → `snd_usb_autosuspend()` *before* its `kref_put()` → `uaudio_dev_release()` → \
`uaudio_event_ring_cleanup_free()` → `usb_offload_put()`; with autosuspend delay 0 the device is already \
`RPM_SUSPENDING`/`RPM_SUSPENDED` when the put runs. The same happens when the qc driver's remove puts after the \
device autosuspended (an unbind or reset had dropped the stream's interface PM reference first). The return value is ignored, so `offload_usage` stays 1 with no session, with the consequence \
of the -EAGAIN case (every later system suspend keeps the device and the controller powered: PM-4, the suspend decision says \
offload while nothing streams).",
        matches: |f| put_leak(f) && f.tag("usb_offload_put -EBUSY"),
    },
    Cause {
        key: "remove-races-disconnect",
        class: Class::KernelDefect,
        title: "qc driver remove clears platform_ops before tearing down, so a concurrent unbind skips the disconnect callback and nobody unregisters the sideband",
        functions: &["qc_usb_audio_remove", "snd_usb_unregister_platform_ops", "__usb_audio_disconnect", "qc_usb_audio_offload_disconnect", "xhci_sideband_unregister"],
        explanation: "`qc_usb_audio_remove()` first calls `snd_usb_unregister_platform_ops()` and only then \
`qc_usb_audio_offload_disconnect(uadev[idx].chip)` for each card. An unplug, reset or usbfs unbind that runs \
`__usb_audio_disconnect()` in between finds `platform_ops == NULL`, skips `disconnect_cb` and decrements \
`chip->num_interfaces`. Remove's own disconnect then sees `chip->num_interfaces != 1` and skips \
`xhci_sideband_unregister(dev->sb)` (and `snd_soc_usb_disconnect()`), so the sideband stays registered (and its \
endpoints owned) for a device that is gone or re-probed; `uadev[].chip` keeps pointing at the old chip.",
        matches: |f| {
            (f.property == "RES-8" && f.summary.contains("sideband"))
                || (f.property == "SB-8" && f.scenario.contains("remove"))
        },
    },
    // ---- enable request error paths ----------------------------------------------
    Cause {
        key: "failed-enable-keeps-stream-open",
        class: Class::KernelDefect,
        title: "A failed enable request leaves the stream's hw_params and runtime-PM reference behind",
        functions: &["handle_uaudio_stream_req", "enable_audio_stream", "prepare_qmi_response"],
        explanation: "`handle_uaudio_stream_req()` calls `enable_audio_stream()` (which does `snd_usb_autoresume()`, \
`snd_usb_hw_params()` and prepares the endpoints) and then `prepare_qmi_response()`. When the second fails \
(`usb_offload_get()` refused during a PM transition, no free interrupter on a second card, any allocation or \
mapping failure) the handler only does `subs->opened = 0`: nothing calls `disable_audio_stream()`, so \
`chip->active` stays incremented (the device can no longer runtime-suspend) and the endpoints stay opened with \
their hw_params.",
        matches: |f| {
            f.property == "RES-6"
                || (f.prop(&["ACC-8", "RES-7"]) && !f.tag(TIMED_OUT) && !unmatched_autosuspend(f))
        },
    },
    Cause {
        key: "prepare-qmi-response-unwind",
        class: Class::KernelDefect,
        title: "prepare_qmi_response's error labels leak the event-ring mapping or the transfer buffer",
        functions: &["prepare_qmi_response", "uaudio_transfer_buffer_setup", "uaudio_iommu_unmap"],
        explanation: "After `uaudio_event_ring_setup()` succeeds, `prepare_qmi_response()` sets \
`uaudio_qdev->er_mapped = true`. If `uaudio_transfer_buffer_setup()` then fails it jumps to `free_sec_ring`, which \
removes the interrupter and puts the offload count but skips `unmap_er`: the event ring stays mapped at \
`IOVA_BASE` with `er_mapped` set and no interrupter (RES-2, RES-4). If the `info[]` allocation fails it jumps to \
`unmap_er`, but the transfer buffer just set up (coherent buffer, its IOVA and IOMMU mapping) is freed by no label \
(RES-3/4/5), and `kref_init()` already ran with `in_use` still 0 (ACC-10).",
        matches: |f| f.prop(&["RES-2", "RES-3", "RES-4", "RES-5", "ACC-10"]) && enable_fault(f),
    },
    Cause {
        key: "info-array-overwritten",
        class: Class::KernelDefect,
        title: "Every enable after a completed disable leaks the previous info[] array",
        functions: &["prepare_qmi_response", "uaudio_dev_release"],
        explanation: "The disable's `uaudio_dev_release()` clears `in_use` but does not free `dev->info` (only \
`uaudio_dev_cleanup()` does). The next enable finds `!atomic_read(&uadev[card].in_use)` in \
`prepare_qmi_response()` and does `uadev[card].info = kzalloc_objs(struct intf_info, num_intf)` over the old \
pointer: one `intf_info` array leaked per stream start/stop cycle. `dev->udev` is left too, so the new \
session is built on fields that describe the ended one (RES-11) until `prepare_qmi_response()` overwrites them.",
        matches: |f| {
            (f.property == "RES-5" && f.summary.contains("overwritten"))
                || (f.property == "RES-11" && f.site() == Some("prepare_qmi_response"))
        },
    },
    // ---- sideband notification, PM bookkeeping, unlocked pointers -------------------
    Cause {
        key: "ring-free-notifier-wrong-index",
        class: Class::KernelDefect,
        title: "uaudio_sideband_notifier compares endpoint numbers with an endpoint-context index",
        functions: &["uaudio_sideband_notifier", "xhci_sideband_notify_ep_ring_free", "prepare_qmi_response"],
        explanation: "`xhci_sideband_notify_ep_ring_free()` passes the xHCI endpoint-context index of the ring being \
freed. `uaudio_sideband_notifier()` compares it with `info->data_ep_idx`/`sync_ep_idx`, which \
`prepare_qmi_response()` filled with `subs->data_endpoint->ep_num`, the USB endpoint number. The two agree only by \
accident, so for the stream's own ring no disconnect indication is sent and the DSP keeps using a transfer ring the \
xHCI driver frees (SB-6).",
        matches: |f| f.property == "SB-6",
    },
    Cause {
        key: "platform-ops-unlocked-read",
        class: Class::KernelDefect,
        title: "usb_audio_suspend reads platform_ops without register_mutex while the qc driver is removed",
        functions: &["usb_audio_suspend", "snd_usb_unregister_platform_ops", "qc_usb_audio_remove"],
        explanation: "`snd_usb_unregister_platform_ops()` sets `platform_ops = NULL` under `register_mutex`, but \
`usb_audio_suspend()` tests `platform_ops && platform_ops->suspend_cb` and calls it without that lock (runtime and \
system suspend), and `qc_usb_audio_remove()` does not wait for a `suspend_cb` in progress. The callback can run \
against a `uaudio_qdev`/`uaudio_svc` the remove is freeing, or in a module being unloaded.",
        matches: |f| f.race_field().starts_with("platform_ops"),
    },
    Cause {
        key: "offload-flag-shares-pm-bitfield",
        class: Class::KernelDefect,
        title: "The offload flag is a bit-field sharing a word with PM bits written under other locks",
        functions: &["usb_offload_get", "usb_offload_put", "choose_wakeup", "autosuspend_check", "usb_port_resume", "usb_resume_both"],
        explanation: "`offload_pm_locked` (v2) / `offload_at_suspend` (v0, v1) is a one-bit field of `struct usb_device` in \
the same word as `do_remote_wakeup`, `reset_resume` and `port_is_suspended`. The PM paths write those bits under \
the device lock (`choose_wakeup()`, `autosuspend_check()`, `usb_port_resume()`, `usb_resume_both()`), the offload \
get/put read the word under locks the writers do not hold (v2: `offload_lock`; v0/v1: the device lock or nothing, \
while the runtime-PM writer in `autosuspend_check()` holds neither): a data race by the kernel memory model (KCSAN \
would report it), and a lost update if two writers ever use different locks.",
        matches: |f| f.race_field().starts_with("udev->{"),
    },
    Cause {
        key: "v0v1-put-suspends-in-caller",
        class: Class::KernelDefect,
        title: "v0/v1: usb_offload_put's usb_autosuspend_device() runs the runtime suspend, and with it suspend_cb, in the caller's context under qdev_mutex",
        functions: &["usb_offload_put", "usb_autosuspend_device", "rpm_suspend", "usb_runtime_suspend", "usb_audio_suspend", "qc_usb_audio_offload_suspend"],
        explanation: "In v0 and v1 `usb_offload_put()` brackets the decrement with `usb_autoresume_device()` and \
`usb_autosuspend_device()`. The latter is `pm_runtime_put_sync_autosuspend()`: when it drops the last \
reference and the autosuspend delay has expired (0 for the audio device, or a disable long after the last \
use), `rpm_suspend()` calls `usb_runtime_suspend()` synchronously in the calling task. The caller is the \
disable request (`handle_uaudio_stream_req()` → `uaudio_dev_release()` → `uaudio_event_ring_cleanup_free()`), \
which holds `qdev_mutex` and `&chip->mutex`; `usb_suspend_both()` → `usb_audio_suspend()` → \
`qc_usb_audio_offload_suspend()` then takes `qdev_mutex` again: the QMI worker deadlocks on itself, the DSP \
gets no response and every later QMI request and USB audio disconnect hangs on `qdev_mutex`.",
        matches: |f| {
            (f.design("v0") || f.design("v1"))
                && f.property == "LK-1"
                && f.site() == Some("qc_usb_audio_offload_suspend")
        },
    },
    Cause {
        key: "failed-info-alloc-leaves-num-intf",
        class: Class::KernelDefect,
        title: "prepare_qmi_response sets num_intf before the info[] allocation; after a failed allocation a disable request dereferences info == NULL",
        functions: &["prepare_qmi_response", "handle_uaudio_stream_req", "info_idx_from_ifnum"],
        explanation: "On the first enable of a card `prepare_qmi_response()` does `uadev[card_num].num_intf = \
subs->dev->config->desc.bNumInterfaces;` and only then `uadev[card_num].info = kcalloc(num_intf, …)`; when \
the allocation fails it jumps to `unmap_er` and leaves `num_intf` set with `info == NULL`. The DSP answers the \
failed enable with a disable request (or sends one for that PCM later): `handle_uaudio_stream_req()` calls \
`info_idx_from_ifnum(card, iface, false)`, whose `!enable` branch loops `for (i = 0; i < \
uadev[card_num].num_intf; i++)` reading `uadev[card_num].info[i].intf_num`: a NULL pointer dereference in the \
QMI worker with `qdev_mutex` held (RES-9). The trigger is a failed `GFP_KERNEL` allocation (injected in the \
model), the defect is the order of the two assignments and the missing reset of `num_intf` on the error path.",
        matches: |f| {
            f.property == "RES-9"
                && f.site() == Some("handle_uaudio_stream_req")
                && f.tag("injected: info allocation fails")
        },
    },
    Cause {
        key: "sideband-outlives-interface",
        class: Class::KernelDefect,
        title: "A sideband left registered after its interface was unbound: the reset's ring-free notification dereferences NULL intfdata, and xhci_free_dev frees lent rings without any notification",
        functions: &["qc_usb_audio_remove", "__usb_audio_disconnect", "uaudio_sideband_notifier", "xhci_sideband_notify_ep_ring_free", "xhci_discover_or_reset_device", "xhci_free_dev", "xhci_free_virt_device"],
        explanation: "When the qc driver's remove has cleared `platform_ops` and an unplug, reset or unbind runs \
`__usb_audio_disconnect()` in that window, `disconnect_cb` is skipped and remove's own \
`qc_usb_audio_offload_disconnect()` sees `chip->num_interfaces != 1`, so `xhci_sideband_unregister()` never \
runs: the sideband keeps `sb->intf`, `notify_client` and the endpoints (`ep->sideband` set) of an interface \
that is no longer bound. Two xHCI paths then act on it. A reset: `usb_reset_device()` unbinds the interface \
(`usb_unbind_interface()` → `usb_set_intfdata(intf, NULL)`), then `hub_port_init()` → \
`xhci_discover_or_reset_device()` calls `xhci_sideband_notify_ep_ring_free()` for each lent endpoint, and \
`uaudio_sideband_notifier()` does `chip = usb_get_intfdata(intf)` and `uadev[chip->card->number]` with no \
NULL check: a NULL pointer dereference in the reset worker with the port's `status_lock`, the device lock \
and `address0_mutex` held (RES-9). An unplug: `usb_disconnect()` → `xhci_free_dev()` → \
`xhci_free_virt_device()` frees every transfer ring with `xhci_ring_free()` and never calls \
`xhci_sideband_notify_ep_ring_free()`, though `ep->sideband` is set (SB-5): the only notification is in the \
reset path, so a DSP still using the ring would DMA into freed memory.",
        matches: |f| {
            (f.property == "RES-9" && f.site() == Some("uaudio_sideband_notifier"))
                || (f.property == "SB-5" && f.site() == Some("xhci_free_dev"))
        },
    },
    Cause {
        key: "autosuspend-without-reference",
        class: Class::KernelDefect,
        title: "The qc driver calls snd_usb_autosuspend() for a reference it does not hold: enable_audio_stream() ignores snd_usb_autoresume()'s result, and a second disable runs disable_audio_stream() again",
        functions: &["enable_audio_stream", "snd_usb_autoresume", "handle_uaudio_stream_req", "info_idx_from_ifnum", "disable_audio_stream", "snd_usb_autosuspend"],
        explanation: "Two paths of `qc_audio_offload.c` drop a `chip->active` reference that no successful \
`snd_usb_autoresume()` took (ACC-8). (1) `enable_audio_stream()` calls `snd_usb_autoresume(chip);` without \
looking at the result. When the device's runtime resume fails (it was unplugged while runtime-suspended: \
`usb_resume_both()` on a NOTATTACHED device), `snd_usb_autoresume()` rolls `chip->active` back and returns \
the error, but the enable goes on, and its error path (`put_suspend:`, `snd_usb_lock_shutdown()` failing on \
the same device) or the later disable calls `snd_usb_autosuspend()`. (2) `handle_uaudio_stream_req()` checks \
`subs->opened` only for an enable; for a disable `info_idx_from_ifnum(card, iface, false)` matches any \
`info[]` entry with that `intf_num`, in use or not, and the array survives a completed disable \
(`uaudio_dev_release()` does not free it). A second disable of the same PCM (a DSP retry, a stop after a \
stop) skips the endpoint removal (`data_ep_pipe` is 0) but calls `disable_audio_stream()`: \
`snd_usb_hw_free()` again and `snd_usb_autosuspend(chip)`, so the disable is not idempotent (ACC-12). In \
both cases `atomic_dec_and_test(&chip->active)` takes `chip->active` to -1. The next `snd_usb_autoresume()` \
then brings it to 0 without calling `usb_autopm_get_interface()`, and its matching autosuspend puts an \
interface reference nobody took: the runtime-PM usage count underflows (the PM core warns) and the device can \
autosuspend under an active stream.",
        matches: unmatched_autosuspend,
    },
    Cause {
        key: "dsp-silent-stream-stays-open",
        class: Class::Environment(DSP_NEVER_ANSWERS),
        title: "After the 10 s timeout the stream stays opened: chip->active, hw_params and subs->opened are not undone",
        functions: &["uaudio_send_disconnect_ind", "qc_usb_audio_offload_suspend", "qc_usb_audio_offload_disconnect", "uaudio_dev_cleanup"],
        explanation: "Only the DSP's disable request runs `disable_audio_stream()` and clears `subs->opened`. When the \
DSP does not answer the disconnect indication, `uaudio_send_disconnect_ind()` times out after 10 s and forces \
`in_use = 0`; `qc_usb_audio_offload_suspend()` then returns, and `qc_usb_audio_offload_disconnect()` (unplug, \
reset, usbfs, driver remove) runs `uaudio_dev_cleanup()`, which frees the rings and buffers but not the stream: \
`chip->active` keeps its `snd_usb_autoresume()` reference and the endpoints stay opened. Once the chip is \
shut down `snd_usb_autosuspend()` returns early, and `usb_unbind_interface()` no longer undoes residual \
`usb_autopm_get_interface()` references (that loop went with `intf->pm_usage_cnt`): the interface's runtime \
usage count stays 1 (ACC-9), and after a rebind it keeps the device from ever autosuspending.",
        matches: |f| f.prop(&["ACC-8", "RES-7", "ACC-11", "ACC-9"]) && f.tag(TIMED_OUT),
    },
    Cause {
        key: "dsp-silent-suspend-keeps-session",
        class: Class::Environment(DSP_NEVER_ANSWERS),
        title: "After the 10 s timeout in suspend_cb (or the ring-free notifier) the session's xHCI and IOMMU resources and offload count stay, with in_use = 0",
        functions: &["qc_usb_audio_offload_suspend", "uaudio_send_disconnect_ind"],
        explanation: "`qc_usb_audio_offload_suspend()` is `uaudio_send_disconnect_ind()` and nothing else: it relies on \
the DSP's disable request to tear the session down, and so does `uaudio_sideband_notifier()`. If the DSP does not answer, the wait times out, `in_use` is \
forced to 0 and the suspend continues with the `card_slot` bit, the interrupter, the sideband endpoints, the IOVA \
ranges and mappings and `offload_usage` still held for a session the driver now considers gone. The same \
holds when the suspend is a runtime suspend that then fails (an injected port-suspend failure: \
`usb_suspend_both()` resumes the interfaces, but nothing re-establishes the session). Because \
`offload_usage` is still 1, the next `usb_suspend_both()` finds `usb_offload_check()` true for the device and \
its hubs and skips their suspend for a session that no longer streams (PM-4); a later \
`qc_usb_audio_offload_disconnect()` finds `dev->udev` set with `in_use = 0` and frees the leftovers \
(RES-11: it acts on an ended session, here the only path that releases them).",
        matches: |f| {
            let leak = f.prop(&["RES-1", "SB-7", "RES-3", "RES-4", "ACC-7", "SB-8"])
                && f.site().is_none()
                && !(f.property == "SB-8" && f.scenario.contains("remove"));
            // The count the timed-out session still holds decides the next system suspend,
            // and the disconnect that follows cleans up a session with in_use = 0.
            let later = (f.property == "PM-4" && f.site() == Some("usb_suspend_both"))
                || (f.property == "RES-11" && f.site() == Some("qc_usb_audio_offload_disconnect"));
            (leak || later) && f.tag(TIMED_OUT) && !f.tag(PUT_ERROR) && !enable_fault(f)
        },
    },
    Cause {
        key: "signal-stream-stays-open",
        class: Class::Environment("a signal ends the disconnect's W_inuse wait (also the freezer's, when a system suspend starts)"),
        title: "After a signal ends the disconnect's wait the stream stays opened and its interface runtime-PM reference outlives the unbind",
        functions: &["uaudio_send_disconnect_ind", "qc_usb_audio_offload_disconnect", "snd_usb_autosuspend", "usb_unbind_interface"],
        explanation: "`uaudio_send_disconnect_ind()` waits with `wait_event_interruptible_timeout()`; a signal \
to the task doing the disconnect (a usbfs `USBDEVFS_DISCONNECT` caller, for instance) ends the wait at once \
and the code forces `in_use = 0` as after a timeout. A system suspend sends one by itself: `freeze_processes()` \
calls `freeze_task()`, whose `fake_signal_wake_up()` wakes the user task out of its interruptible wait so that \
it can reach the refrigerator on its way back to user space (`usbfs-vs-suspend`). The DSP's disable has not run, so as in the timeout case \
nothing calls `disable_audio_stream()`: `chip->active` keeps the stream's `snd_usb_autoresume()` reference, \
`snd_usb_autosuspend()` returns early once the chip is shut down, and `usb_unbind_interface()` does not undo \
residual interface references, so the interface's runtime usage count stays 1 (ACC-9) and pins the device \
awake after a rebind.",
        matches: |f| f.property == "ACC-9" && f.tag(INTERRUPTED) && !f.tag(TIMED_OUT),
    },
    Cause {
        key: "suspend-decides-on-ending-session",
        class: Class::KernelDefect,
        title: "System suspend decides from offload_usage while a session's state and its count disagree (ended but not yet put, or begun but not yet counted)",
        functions: &["usb_suspend_both", "usb_offload_check", "qmi_stop_session", "uaudio_dev_cleanup", "uaudio_event_ring_cleanup_free", "usb_offload_put"],
        explanation: "The qc driver ends a session in two steps: `qmi_stop_session()` (BYE / DEL_CLIENT), the disable \
request or the disconnect clears `uadev[card].in_use` first, and only later does \
`uaudio_event_ring_cleanup_free()` call `usb_offload_put()`. `usb_suspend_both()` decides from \
`usb_offload_check()`, i.e. from `offload_usage`; when the decision lands between the two steps it skips the \
suspend of a device, and of its hubs, that no longer carries a stream (PM-4). The put that follows lands in \
the window the PM core holds (v2: `offload_pm_locked`, -EAGAIN, see the -EAGAIN cause; v0/v1: it waits for \
the device lock the PM core holds), so the device stays powered through the sleep with no stream. The \
state and the count are never changed under one lock, so the mirror case exists too: a decision that sees \
`in_use` set with the count already dropped (or not yet taken) suspends a device whose session is still live \
(decision false, live session: PM-4 in `stop-during-sleep`). Updating the session state and the count \
together (under `offload_lock`), or deciding from the session state, closes both windows.",
        matches: |f| {
            f.property == "PM-4"
                && f.site() == Some("usb_suspend_both")
                && f.tags().is_empty()
                && (f.summary.contains("still counted") || f.summary.contains("not counted"))
        },
    },
];

/// A leak of the offload count behind a failed put.
fn put_leak(f: &Facts) -> bool {
    f.prop(&["ACC-5", "ACC-7"])
        || (f.property == "RES-8" && f.summary.contains("offload_usage"))
        || (f.property == "PM-4" && f.site() == Some("usb_suspend_both"))
}

/// `chip->active` dropped without a reference: the put itself (ACC-8 fires in
/// `snd_usb_autosuspend`), a negative count at quiescence, or a disable that changed state.
fn unmatched_autosuspend(f: &Facts) -> bool {
    f.property == "ACC-12"
        || (f.property == "ACC-8"
            && (f.site() == Some("snd_usb_autosuspend") || f.summary.contains("chip->active = -")))
}

/// A fault injected into the enable path (allocation or mapping), whose error labels
/// `prepare_qmi_response()` runs; a failed port suspend is not one.
fn enable_fault(f: &Facts) -> bool {
    f.tags()
        .iter()
        .any(|t| t.starts_with(INJECTED) && *t != PORT_SUSPEND_FAILS)
}

#[cfg(test)]
mod tests;
