//! Kernel threads: checker tasks under the checker, OS threads otherwise.

use crate::rt::{self, Op, TaskId};

/// Handle to join a spawned thread.
pub enum JoinHandle {
    Task(TaskId),
    Os(std::thread::JoinHandle<()>),
}

impl JoinHandle {
    /// Waits for the thread to exit.
    pub fn join(self) {
        match self {
            JoinHandle::Task(task) => {
                if let Some(sh) = rt::current().filter(|s| s.in_task()) {
                    sh.op(Op::Join { task });
                }
            }
            JoinHandle::Os(h) => {
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        }
    }
}

fn spawn_inner(name: &str, daemon: bool, f: impl FnOnce() + Send + 'static) -> JoinHandle {
    match rt::current() {
        Some(sh) => JoinHandle::Task(sh.spawn(name.to_string(), daemon, Box::new(f))),
        None => JoinHandle::Os(
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || oops_on_panic(f))
                .expect("spawn thread"),
        ),
    }
}

/// On an OS thread, a panic is the kernel's oops: reported as a finding (the
/// threads waiting on this one then hang, and the watchdog names the panic as the
/// cause), and the thread ends.
fn oops_on_panic(f: impl FnOnce()) {
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        crate::report(
            crate::FindingKind::Panic,
            "panic",
            format!("task panicked: {msg}"),
        );
    }
}

/// Starts a thread (`kthread_run`); under the checker a task named `name`.
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle {
    spawn_inner(name, false, f)
}

/// Starts a daemon: a worker that may stay blocked waiting for work at the end of an
/// execution without that being a deadlock.
pub fn spawn_daemon(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle {
    spawn_inner(name, true, f)
}
