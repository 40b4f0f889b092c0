//! `struct kref`: a reference count whose last put runs a release function.

use crate::AtomicU32;

pub struct Kref {
    count: AtomicU32,
}

impl Kref {
    /// A kref at 0 (not yet initialised, as in a zeroed struct).
    pub fn new(name: &'static str) -> Self {
        Kref {
            count: AtomicU32::new(name, 0),
        }
    }

    /// `kref_init`: count = 1.
    pub fn init(&self) {
        self.count.store(1);
    }

    /// `kref_get`.
    pub fn get(&self) {
        self.count.fetch_add(1);
    }

    /// `kref_put`: returns true if this put released the object (ran `release`).
    pub fn put(&self, release: impl FnOnce()) -> bool {
        if self.count.fetch_sub(1) == 1 {
            release();
            true
        } else {
            false
        }
    }

    /// `kref_read`.
    pub fn read(&self) -> u32 {
        self.count.load()
    }

    pub fn peek(&self) -> u32 {
        self.count.peek()
    }
}
