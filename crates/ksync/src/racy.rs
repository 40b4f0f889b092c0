//! Plain (unmarked) shared fields whose accesses the checker schedules and checks
//! for data races: two accesses, one a write, that no lock, wake-up, spawn or
//! join orders. Use it for kernel fields written without the lock that protects
//! their neighbours, e.g. bit-fields sharing one word.

use crate::class::LockClass;
use crate::lock::{register, sched, NO_OBJ};
use crate::rt::{ObjKind, Op};

/// A plain field (or a whole memory word of bit-fields).
pub struct Racy<T> {
    obj: u32,
    v: parking_lot::Mutex<T>,
}

impl<T: Copy> Racy<T> {
    pub fn new(name: &'static str, v: T) -> Self {
        Self::register(name, None, v)
    }

    /// Like [`Self::new`], with an instance label for reports (`word(1-1.1)`).
    pub fn labeled(name: &'static str, label: &str, v: T) -> Self {
        Self::register(name, Some(label), v)
    }

    fn register(name: &'static str, label: Option<&str>, v: T) -> Self {
        let obj = register(ObjKind::Atomic, LockClass::new(name), label);
        if let Some(sh) = crate::rt::current() {
            sh.st.borrow_mut().race_on = true;
        }
        Racy {
            obj,
            v: parking_lot::Mutex::new(v),
        }
    }

    fn access(&self, write: bool) {
        if let Some(sh) = sched(self.obj) {
            sh.op(Op::Atomic {
                obj: self.obj,
                write,
            });
            sh.st.borrow_mut().race_access(self.obj, write);
        }
    }

    /// A plain load.
    pub fn read(&self) -> T {
        self.access(false);
        *self.v.lock()
    }

    /// A plain store.
    pub fn write(&self, v: T) {
        self.access(true);
        *self.v.lock() = v;
    }

    /// A read-modify-write of the word (e.g. setting one bit of a bit-field): one
    /// write access, as the compiler emits it.
    pub fn update(&self, f: impl FnOnce(T) -> T) -> T {
        self.access(true);
        let mut g = self.v.lock();
        *g = f(*g);
        *g
    }

    /// Value without a scheduling point (end checks, reports).
    pub fn peek(&self) -> T {
        *self.v.lock()
    }

    /// Value for a check made while a task runs (not a kernel access: no scheduling
    /// point, no race check), read in the task's step so that the search explores the
    /// check against both orders of a write it depends on. Outside a task, `peek`.
    pub fn observe(&self) -> T {
        if self.obj != NO_OBJ {
            if let Some(sh) = crate::rt::current() {
                sh.step_read(self.obj);
            }
        }
        *self.v.lock()
    }
}
