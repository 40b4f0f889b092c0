//! `Mutex<T>` (sleeping, non-recursive) and `SpinLock<T>` (non-sleeping), each with a
//! lock class. Under the checker every acquisition is a scheduling point; on OS
//! threads they are parking_lot locks.

use crate::class::{intern, LockClass};
use crate::rt::{self, ObjKind, Op, OpResult, Shared};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

pub(crate) const NO_OBJ: u32 = u32::MAX;

/// Registers an object with the current execution, if there is one.
pub(crate) fn register(kind: ObjKind, class: LockClass, label: Option<&str>) -> u32 {
    match rt::current() {
        Some(sh) => sh.register_obj(kind, intern(class), label.map(Rc::from)),
        None => NO_OBJ,
    }
}

/// The execution to schedule through, if the caller is a checker task and `obj`
/// belongs to the checker.
pub(crate) fn sched(obj: u32) -> Option<Rc<Shared>> {
    if obj == NO_OBJ {
        return None;
    }
    rt::current().filter(|s| s.in_task())
}

struct RawLock {
    obj: u32,
    class: LockClass,
    /// the instance label, for live-mode reports
    label: Option<Box<str>>,
}

/// Live mode: the calling thread is no checker's (its locks are tracked per thread
/// for `is_held` and the hung-task watchdog).
pub(crate) fn live_thread() -> bool {
    rt::current().is_none()
}

/// A class name as lockdep prints it (`name/subclass`).
pub(crate) fn class_label(c: LockClass) -> String {
    if c.subclass == 0 {
        c.name.to_string()
    } else {
        format!("{}/{}", c.name, c.subclass)
    }
}

impl RawLock {
    fn new(kind: ObjKind, class: LockClass, label: Option<&str>) -> Self {
        RawLock {
            obj: register(kind, class, label),
            class,
            label: label.map(Into::into),
        }
    }

    fn live_acquired(&self, addr: usize) {
        crate::live::acquired(
            addr,
            class_label(self.class),
            self.label.as_deref().map(String::from),
        );
    }

    fn acquire(&self) -> Option<Rc<Shared>> {
        let Some(sh) = sched(self.obj) else {
            rt::forbid_while_observing(self.obj, "takes a lock");
            return None;
        };
        sh.op(Op::Lock { obj: self.obj });
        Some(sh)
    }

    fn try_acquire(&self) -> Result<Option<Rc<Shared>>, ()> {
        match sched(self.obj) {
            None => {
                rt::forbid_while_observing(self.obj, "takes a lock");
                Ok(None)
            }
            Some(sh) => match sh.op(Op::TryLock { obj: self.obj }) {
                OpResult::Bool(true) => Ok(Some(sh)),
                _ => Err(()),
            },
        }
    }

    fn held_by_current(&self) -> Option<bool> {
        let sh = sched(self.obj)?;
        let st = sh.st.borrow();
        let t = st.running?;
        Some(st.tasks[t].held.iter().any(|h| h.obj == self.obj))
    }
}

fn release(sh: &Option<Rc<Shared>>, obj: u32, wrote: bool) {
    if let Some(sh) = sh {
        let broken = sh.st.borrow_mut().unlock(obj, wrote);
        if let Some(broken) = broken {
            if !std::thread::panicking() {
                panic!("{broken}");
            }
        }
    }
}

macro_rules! lock_type {
    ($(#[$m:meta])* $name:ident, $guard:ident, $kind:expr) => {
        $(#[$m])*
        pub struct $name<T> {
            raw: RawLock,
            data: parking_lot::Mutex<T>,
        }

        impl<T> $name<T> {
            /// A lock of `class` protecting `data`.
            pub fn new(class: LockClass, data: T) -> Self {
                Self { raw: RawLock::new($kind, class, None), data: parking_lot::Mutex::new(data) }
            }

            /// Like [`Self::new`], with an instance label for reports (`udevL(1-1)`).
            pub fn labeled(class: LockClass, label: &str, data: T) -> Self {
                Self { raw: RawLock::new($kind, class, Some(label)), data: parking_lot::Mutex::new(data) }
            }

            pub fn class(&self) -> LockClass {
                self.raw.class
            }

            /// Acquires the lock, sleeping (or spinning) until it is free.
            pub fn lock(&self) -> $guard<'_, T> {
                let sh = self.raw.acquire();
                let live = sh.is_none() && live_thread();
                let g = match sh {
                    Some(_) => self.data.try_lock().expect("checker granted a held lock"),
                    None if live => {
                        let g = match self.data.try_lock() {
                            Some(g) => g,
                            None => {
                                crate::live::blocking(crate::live::BlockedOn::Lock {
                                    addr: self.addr(),
                                    class: class_label(self.raw.class),
                                    label: self.raw.label.as_deref().map(String::from),
                                });
                                self.data.lock()
                            }
                        };
                        self.raw.live_acquired(self.addr());
                        g
                    }
                    None => self.data.lock(),
                };
                $guard { g: Some(g), sh, obj: self.raw.obj, live: live.then(|| self.addr()), wrote: false }
            }

            /// Takes the lock if it is free.
            pub fn try_lock(&self) -> Option<$guard<'_, T>> {
                match self.raw.try_acquire() {
                    Ok(Some(sh)) => {
                        let g = self.data.try_lock().expect("checker granted a held lock");
                        Some($guard { g: Some(g), sh: Some(sh), obj: self.raw.obj, live: None, wrote: false })
                    }
                    Ok(None) => self.data.try_lock().map(|g| {
                        let live = live_thread();
                        if live {
                            self.raw.live_acquired(self.addr());
                        }
                        $guard { g: Some(g), sh: None, obj: self.raw.obj, live: live.then(|| self.addr()), wrote: false }
                    }),
                    Err(()) => None,
                }
            }

            /// Whether the calling task (checker) or thread (live mode) holds this
            /// lock; outside both (checker set-up code), whether anyone holds it.
            pub fn is_held(&self) -> bool {
                self.raw.held_by_current().unwrap_or_else(|| {
                    if live_thread() {
                        crate::live::holds(self.addr())
                    } else {
                        self.data.is_locked()
                    }
                })
            }

            /// The identity of this lock in live-mode tracking.
            fn addr(&self) -> usize {
                &self.data as *const _ as usize
            }

            /// Access without locking, for code that runs when no task can (setup,
            /// end-of-execution checks).
            pub fn get_mut(&mut self) -> &mut T {
                self.data.get_mut()
            }

            /// Reads the data outside any task (end-of-execution checks). Under the
            /// checker no task runs concurrently, so this does not race.
            pub fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> R {
                f(&self.data.lock())
            }
        }

        /// Guard of a held lock; dropping it releases the lock.
        pub struct $guard<'a, T> {
            g: Option<parking_lot::MutexGuard<'a, T>>,
            sh: Option<Rc<Shared>>,
            obj: u32,
            /// live mode: the lock's identity, released from the thread's held set
            live: Option<usize>,
            /// The data was borrowed mutably (a leaf spinlock's section wrote it).
            wrote: bool,
        }

        impl<T> $guard<'_, T> {
            /// A proof that this lock is held, for functions whose contract is
            /// "caller holds the lock" (`__must_hold`): it cannot outlive the guard,
            /// and it names the protected type, so a token of another lock class
            /// does not fit.
            pub fn held(&self) -> Held<'_, T> {
                Held { _p: PhantomData }
            }
        }

        impl<T> Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                self.g.as_ref().expect("guard")
            }
        }

        impl<T> DerefMut for $guard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                self.wrote = true;
                self.g.as_mut().expect("guard")
            }
        }

        impl<T> Drop for $guard<'_, T> {
            fn drop(&mut self) {
                self.g = None;
                release(&self.sh, self.obj, self.wrote);
                if let Some(addr) = self.live {
                    crate::live::released(addr);
                }
            }
        }
    };
}

/// Proof that a lock protecting a `T` is held (see `MutexGuard::held`).
pub struct Held<'a, T> {
    _p: PhantomData<&'a T>,
}

impl<T> Clone for Held<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Held<'_, T> {}

lock_type!(
    /// A sleeping, non-recursive mutex (`struct mutex`, `device_lock`).
    Mutex, MutexGuard, ObjKind::Mutex
);
lock_type!(
    /// A spinlock: sleeping while holding it is reported.
    SpinLock, SpinGuard, ObjKind::Spin
);

impl<T> SpinLock<T> {
    /// The checker's object for this lock (`NO_OBJ` outside the checker).
    pub(crate) fn obj_id(&self) -> u32 {
        self.raw.obj
    }

    /// A leaf spinlock of `class` protecting `data` (label as in [`Self::labeled`]):
    /// nothing is acquired or waited for under it, and a section makes at most one
    /// access that other tasks can observe besides its own data and reads of the
    /// atomics it guards. The checker runs each section as one step, which it may
    /// because of that (see the runtime's `section` module); it checks the premise and
    /// panics on a section that breaks it.
    pub fn leaf(class: LockClass, label: &str, data: T) -> Self {
        let lock = Self::labeled(class, label, data);
        if lock.raw.obj != NO_OBJ {
            if let Some(sh) = rt::current() {
                sh.mark_leaf(lock.raw.obj);
            }
        }
        lock
    }
}
