//! Kernel pointer fields that are read and written without a lock (`intfdata`,
//! `uadev[].chip` as read by the remove path, `ep->sideband`).
//!
//! Each access is a `ksync` scheduling point (through a generation counter), so races
//! on the pointer are explored; the value itself lives in a plain cell (not a kernel
//! lock: it is never held across a scheduling point). A pointer the kernel guards
//! with a lock on some paths and reads without it on others is [`Ptr::racy`]: its
//! generation is a `ksync::Racy` word, so unordered conflicting accesses are data
//! races (LK-8).

use std::sync::Arc;

enum Gen {
    /// `READ_ONCE`/`WRITE_ONCE`-like: explored, not race-checked.
    Marked(ksync::AtomicU32),
    /// A plain pointer: explored and race-checked.
    Plain(ksync::Racy<u32>),
}

/// A racy `T *` field.
pub struct Ptr<T> {
    gen: Gen,
    val: parking_lot::Mutex<Option<Arc<T>>>,
}

impl<T> Ptr<T> {
    pub fn new(name: &'static str, v: Option<Arc<T>>) -> Self {
        Ptr {
            gen: Gen::Marked(ksync::AtomicU32::new(name, 0)),
            val: parking_lot::Mutex::new(v),
        }
    }

    /// A plain pointer field whose accesses are checked for data races (LK-8);
    /// `label` names the instance in reports.
    pub fn racy(name: &'static str, label: &str, v: Option<Arc<T>>) -> Self {
        Ptr {
            gen: Gen::Plain(ksync::Racy::labeled(name, label, 0)),
            val: parking_lot::Mutex::new(v),
        }
    }

    /// `READ_ONCE(p)` (or a plain load).
    pub fn load(&self) -> Option<Arc<T>> {
        match &self.gen {
            Gen::Marked(g) => {
                g.load();
            }
            Gen::Plain(g) => {
                g.read();
            }
        }
        self.val.lock().clone()
    }

    /// `WRITE_ONCE(p, v)` (or a plain store).
    pub fn store(&self, v: Option<Arc<T>>) {
        match &self.gen {
            Gen::Marked(g) => {
                g.fetch_add(1);
            }
            Gen::Plain(g) => {
                g.update(|x| x.wrapping_add(1));
            }
        }
        *self.val.lock() = v;
    }

    /// Value without a scheduling point (end checks).
    pub fn peek(&self) -> Option<Arc<T>> {
        self.val.lock().clone()
    }
}

/// Ghost state: bookkeeping of the checker, not kernel state. Accesses are not
/// scheduling points (the checker runs one task at a time on one OS thread).
#[derive(Default)]
pub struct Ghost(pub std::sync::atomic::AtomicI64);

impl Ghost {
    pub fn get(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn set(&self, v: i64) {
        self.0.store(v, std::sync::atomic::Ordering::Relaxed)
    }
    pub fn add(&self, d: i64) -> i64 {
        self.0.fetch_add(d, std::sync::atomic::Ordering::Relaxed) + d
    }
}
