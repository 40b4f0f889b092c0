//! Kernel pointer fields that are read and written without a lock (`intfdata`,
//! `uadev[].chip` as read by the remove path, `platform_ops`).
//!
//! Each access is a `ksync` scheduling point (through an atomic generation counter),
//! so races on the pointer are explored; the value itself lives in a plain cell
//! (not a kernel lock: it is never held across a scheduling point).

use std::sync::Arc;

/// A racy `T *` field.
pub struct Ptr<T> {
    gen: ksync::AtomicU32,
    val: parking_lot::Mutex<Option<Arc<T>>>,
}

impl<T> Ptr<T> {
    pub fn new(name: &'static str, v: Option<Arc<T>>) -> Self {
        Ptr {
            gen: ksync::AtomicU32::new(name, 0),
            val: parking_lot::Mutex::new(v),
        }
    }

    /// `READ_ONCE(p)`.
    pub fn load(&self) -> Option<Arc<T>> {
        self.gen.load();
        self.val.lock().clone()
    }

    /// `WRITE_ONCE(p, v)`.
    pub fn store(&self, v: Option<Arc<T>>) {
        self.gen.fetch_add(1);
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
