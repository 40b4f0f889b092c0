//! Atomics whose every access is a scheduling point under the checker.

use crate::class::LockClass;
use crate::lock::{register, sched, NO_OBJ};
use crate::rt::{Access, ObjKind, Op};
use std::sync::atomic::Ordering::SeqCst;

macro_rules! atomic_int {
    ($name:ident, $std:ty, $t:ty) => {
        /// A named atomic; under the checker loads are reads and stores/RMWs writes.
        pub struct $name {
            obj: u32,
            v: $std,
        }

        impl $name {
            /// `name` appears in traces (`in_use`, `chip->active`).
            pub fn new(name: &'static str, v: $t) -> Self {
                Self {
                    obj: register(ObjKind::Atomic, LockClass::new(name), None),
                    v: <$std>::new(v),
                }
            }

            /// An atomic of OS threads only, not an object of the checker (the
            /// live side of a primitive the checker models as a whole).
            #[allow(dead_code)] // not every width has such a primitive
            pub(crate) fn unchecked(v: $t) -> Self {
                Self {
                    obj: NO_OBJ,
                    v: <$std>::new(v),
                }
            }

            /// An atomic standing for state the kernel keeps under a lock (a
            /// completion's `done`, a work queue's pending count): for data-race
            /// detection its writes release and its accesses acquire, as
            /// that lock would. Exploration is the same as for [`Self::new`].
            pub fn ordered(name: &'static str, v: $t) -> Self {
                Self {
                    obj: register(ObjKind::SyncAtomic, LockClass::new(name), None),
                    v: <$std>::new(v),
                }
            }

            #[inline]
            fn point(&self, write: bool) {
                if let Some(sh) = sched(self.obj) {
                    sh.op(Op::Atomic {
                        obj: self.obj,
                        write,
                    });
                } else if self.obj != NO_OBJ {
                    // A timer callback: part of the clock step's footprint.
                    if let Some(sh) = crate::rt::current() {
                        sh.clock_access(if write {
                            Access::Write(self.obj)
                        } else {
                            Access::Read(self.obj)
                        });
                    }
                }
            }

            pub fn load(&self) -> $t {
                self.point(false);
                self.v.load(SeqCst)
            }
            pub fn store(&self, v: $t) {
                self.point(true);
                self.v.store(v, SeqCst)
            }
            pub fn swap(&self, v: $t) -> $t {
                self.point(true);
                self.v.swap(v, SeqCst)
            }
            pub fn compare_exchange(&self, cur: $t, new: $t) -> Result<$t, $t> {
                self.point(true);
                self.v.compare_exchange(cur, new, SeqCst, SeqCst)
            }
            /// Like [`Self::ordered`], for state written only under the leaf spinlock
            /// `lock` (read without it too): a read under `lock` is then invisible to
            /// other tasks, which lets the checker run the lock's sections as one step.
            /// A write without `lock` panics under the checker.
            pub fn guarded_by<L>(name: &'static str, v: $t, lock: &crate::SpinLock<L>) -> Self {
                let a = Self::ordered(name, v);
                if a.obj != NO_OBJ && lock.obj_id() != NO_OBJ {
                    if let Some(sh) = crate::rt::current() {
                        sh.set_guard(a.obj, lock.obj_id());
                    }
                }
                a
            }

            /// Value without a scheduling point (end-of-execution checks, reports).
            pub fn peek(&self) -> $t {
                self.v.load(SeqCst)
            }
            /// Value for a check made while a task runs: no scheduling point, but the
            /// read is part of the task's step, so the search explores the check
            /// against both orders of a write it depends on. Outside a task, `peek`.
            pub fn observe(&self) -> $t {
                if self.obj != NO_OBJ {
                    if let Some(sh) = crate::rt::current() {
                        sh.step_read(self.obj);
                    }
                }
                self.v.load(SeqCst)
            }
        }
    };
}

macro_rules! atomic_arith {
    ($name:ident, $t:ty) => {
        impl $name {
            pub fn fetch_add(&self, d: $t) -> $t {
                self.point(true);
                self.v.fetch_add(d, SeqCst)
            }
            pub fn fetch_sub(&self, d: $t) -> $t {
                self.point(true);
                self.v.fetch_sub(d, SeqCst)
            }
        }
    };
}

atomic_int!(AtomicI32, std::sync::atomic::AtomicI32, i32);
atomic_int!(AtomicU32, std::sync::atomic::AtomicU32, u32);
atomic_int!(AtomicI64, std::sync::atomic::AtomicI64, i64);
atomic_int!(AtomicU64, std::sync::atomic::AtomicU64, u64);
atomic_int!(AtomicUsize, std::sync::atomic::AtomicUsize, usize);
atomic_int!(AtomicBool, std::sync::atomic::AtomicBool, bool);
atomic_arith!(AtomicI32, i32);
atomic_arith!(AtomicU32, u32);
atomic_arith!(AtomicI64, i64);
atomic_arith!(AtomicU64, u64);
atomic_arith!(AtomicUsize, usize);
