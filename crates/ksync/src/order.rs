//! Lock order in the types, after Fuchsia netstack3's `lock_order` crate.
//!
//! A lock *level* is a zero-sized type ([`lock_level!`]). The hierarchy is declared once
//! ([`lock_hierarchy!`]) as edges `A => B`: "B may be acquired while A is the innermost
//! level held". Each level has one parent, so the declaration is a tree rooted at
//! [`Unlocked`], and [`LockBefore`] is its transitive closure, computed by the trait
//! solver.
//!
//! Code runs with a context token [`Locked<L>`]: "no level ordered after `L` is held".
//! Acquiring a lock of level `M` takes `&mut Locked<L>` with `L: LockBefore<M>` and yields
//! the guard and a `Locked<M>` that borrows the old token, so the old token cannot be
//! used while the lock is held. An inverted pair, re-taking a level already held, or
//! waiting on a queue ordered before a held lock is a type error. Waiting counts as
//! acquiring: a wait queue has a level, placed before every lock its waker takes before
//! the wake-up, so a wait under such a lock does not compile.
//!
//! What the types cannot see — a fresh [`Locked::<Unlocked>::entry`] minted below a held
//! lock — the checker still sees: every ordered lock is a plain [`crate::Mutex`] of a lock
//! class, and `usb-offload locks` compares the observed graph with the declaration
//! ([`Hierarchy::violations`]).

use crate::lock::{Mutex, MutexGuard, SpinGuard, SpinLock};
use crate::wait::{HoldGuard, WaitQueue, WaitResult};
use crate::LockClass;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// A lock level: a marker type with the lock class name reports use.
pub trait Level: 'static {
    /// The lock class of the locks of this level (`qdev_mutex`, `&udev->dev.mutex`).
    const NAME: &'static str;
}

/// `Self` may be acquired while `A` is the innermost level held (declared).
pub trait LockAfter<A> {}

/// `Self` is ordered before `B` (derived from [`LockAfter`]).
pub trait LockBefore<B> {}

impl<A, B: LockAfter<A>> LockBefore<B> for A {}

/// The root level: no lock held.
pub enum Unlocked {}

impl Level for Unlocked {
    const NAME: &'static str = "unlocked";
}

/// Declares a level: `lock_level!(pub QdevMutex = "qdev_mutex");`.
#[macro_export]
macro_rules! lock_level {
    ($(#[$m:meta])* $vis:vis $name:ident = $class:literal) => {
        $(#[$m])*
        $vis enum $name {}
        impl $crate::order::Level for $name {
            const NAME: &'static str = $class;
        }
    };
}

/// Declares the hierarchy, once, as edges `parent => child;`, each child with one
/// parent, and a static listing the edges by class name (for tables and for checking an
/// observed lock graph against the declaration).
///
/// ```
/// use ksync::order::Unlocked;
/// ksync::lock_level!(pub Outer = "outer");
/// ksync::lock_level!(pub Inner = "inner");
/// ksync::lock_hierarchy! {
///     pub static ORDER;
///     Unlocked => Outer;
///     Outer => Inner;
/// }
/// fn needs_before<A: ksync::order::LockBefore<B>, B>() {}
/// needs_before::<Unlocked, Inner>();
/// assert_eq!(ORDER.len(), 2);
/// ```
#[macro_export]
macro_rules! lock_hierarchy {
    ($vis:vis static $name:ident; $($a:ident => $b:ident;)*) => {
        $($crate::__lock_after!($a => $b);)*
        $vis static $name: &[(&str, &str)] = &[
            $((<$a as $crate::order::Level>::NAME, <$b as $crate::order::Level>::NAME)),*
        ];
    };
}

/// One edge of [`lock_hierarchy!`]. A child of the root gets only the direct impl: the
/// transitive one would overlap with it (coherence cannot rule out `Unlocked` being
/// after itself outside this crate), and nothing is before the root anyway.
#[doc(hidden)]
#[macro_export]
macro_rules! __lock_after {
    (Unlocked => $b:ident) => {
        impl $crate::order::LockAfter<$crate::order::Unlocked> for $b {}
    };
    ($a:ident => $b:ident) => {
        impl $crate::order::LockAfter<$a> for $b {}
        impl<X: $crate::order::LockBefore<$a>> $crate::order::LockAfter<X> for $b {}
    };
}

/// The context token: no level ordered after `L` is held by this task.
pub struct Locked<'a, L> {
    _borrow: PhantomData<&'a mut ()>,
    _level: PhantomData<fn() -> L>,
}

impl<L> Locked<'_, L> {
    fn new() -> Self {
        Locked {
            _borrow: PhantomData,
            _level: PhantomData,
        }
    }

    /// Narrows the context to a later level without acquiring anything, for calling a
    /// function whose contract names that level: it may then take only what follows it.
    pub fn skip<M>(&mut self) -> Locked<'_, M>
    where
        L: LockBefore<M>,
    {
        Locked::new()
    }
}

impl Locked<'static, Unlocked> {
    /// The context of a task's entry point, where it holds nothing (a work item, a
    /// syscall, a notifier). Minting one below a held lock defeats the types; the
    /// checker's comparison with the declared hierarchy reports what that leads to.
    pub fn entry() -> Self {
        Locked::new()
    }
}

/// A [`Mutex`] at level `L`.
pub struct OrderedMutex<L: Level, T> {
    inner: Mutex<T>,
    _level: PhantomData<fn() -> L>,
}

/// A [`SpinLock`] at level `L`.
pub struct OrderedSpinLock<L: Level, T> {
    inner: SpinLock<T>,
    _level: PhantomData<fn() -> L>,
}

macro_rules! ordered_lock {
    ($name:ident, $lock:ident, $guard:ident) => {
        impl<L: Level, T> $name<L, T> {
            /// A lock of `L`'s class.
            pub fn new(data: T) -> Self {
                Self {
                    inner: $lock::new(LockClass::new(L::NAME), data),
                    _level: PhantomData,
                }
            }

            /// With an instance label for reports (`udevL(1-1)`).
            pub fn labeled(label: &str, data: T) -> Self {
                Self {
                    inner: $lock::labeled(LockClass::new(L::NAME), label, data),
                    _level: PhantomData,
                }
            }

            /// Acquires the lock from a context ordered before `L`; the returned context
            /// is `L`'s, and the caller's is unusable until both are dropped.
            pub fn lock<'a, P: LockBefore<L>>(
                &'a self,
                _ctx: &'a mut Locked<'_, P>,
            ) -> ($guard<'a, T>, Locked<'a, L>) {
                (self.inner.lock(), Locked::new())
            }

            /// End-of-execution and set-up access, outside any task.
            pub fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> R {
                self.inner.peek(f)
            }

            /// Whether the calling task holds the lock (see [`Mutex::is_held`]).
            pub fn is_held(&self) -> bool {
                self.inner.is_held()
            }
        }
    };
}

ordered_lock!(OrderedMutex, Mutex, MutexGuard);
ordered_lock!(OrderedSpinLock, SpinLock, SpinGuard);

/// A [`WaitQueue`] at level `L`: waiting on it counts as acquiring `L`.
pub struct OrderedWaitQueue<L: Level> {
    inner: WaitQueue,
    _level: PhantomData<fn() -> L>,
}

impl<L: Level> OrderedWaitQueue<L> {
    pub fn new() -> Self {
        OrderedWaitQueue {
            inner: WaitQueue::new(LockClass::new(L::NAME)),
            _level: PhantomData,
        }
    }

    /// `wait_event_timeout`, from a context ordered before the queue.
    pub fn wait_event_timeout<P: LockBefore<L>>(
        &self,
        _ctx: &mut Locked<'_, P>,
        cond: impl FnMut() -> bool,
        timeout_ms: Option<u64>,
    ) -> WaitResult {
        self.inner.wait_event_timeout(cond, timeout_ms)
    }

    /// `wait_event_interruptible_timeout`, from a context ordered before the queue.
    pub fn wait_event_interruptible_timeout<P: LockBefore<L>>(
        &self,
        ctx: &mut Locked<'_, P>,
        cond: impl FnMut() -> bool,
        timeout_ms: Option<u64>,
    ) -> WaitResult {
        WaitAt::<L>::bind(&self.inner).wait_event_interruptible_timeout(ctx, cond, timeout_ms)
    }

    /// Declares the calling task the one that will make the condition true (see
    /// [`WaitQueue::hold`]): what it acquires until it drops the guard is ordered after
    /// the queue, so waiting on the queue under any of those locks does not compile.
    pub fn hold<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut Locked<'_, P>,
    ) -> (HoldGuard, Locked<'a, L>) {
        (self.inner.hold(), Locked::new())
    }

    /// `wake_up`: needs no context (it takes only the queue's own spinlock).
    pub fn wake_up(&self) {
        self.inner.wake_up();
    }
}

impl<L: Level> Default for OrderedWaitQueue<L> {
    fn default() -> Self {
        Self::new()
    }
}

/// A lock that a shared structure owns, acquired at level `L`: how code written against
/// the hierarchy takes the kernel's locks without owning them. The binding of a lock to
/// its level is made once, where the hierarchy is declared.
pub struct MutexAt<'m, L: Level, T> {
    inner: &'m Mutex<T>,
    _level: PhantomData<fn() -> L>,
}

impl<L: Level, T> Clone for MutexAt<'_, L, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Level, T> Copy for MutexAt<'_, L, T> {}

impl<'m, L: Level, T> MutexAt<'m, L, T> {
    /// Binds `m` to level `L`.
    pub fn bind(m: &'m Mutex<T>) -> Self {
        MutexAt {
            inner: m,
            _level: PhantomData,
        }
    }

    /// Acquires the lock from a context ordered before `L` (see [`OrderedMutex::lock`]):
    /// the guard borrows the caller's context, which stays unusable while it lives.
    pub fn lock<'a, P: LockBefore<L>>(
        self,
        _ctx: &'a mut Locked<'_, P>,
    ) -> (MutexGuard<'a, T>, Locked<'a, L>)
    where
        'm: 'a,
    {
        (self.inner.lock(), Locked::new())
    }
}

/// A wait queue that a shared structure owns, waited on at level `L`.
pub struct WaitAt<'q, L: Level> {
    inner: &'q WaitQueue,
    _level: PhantomData<fn() -> L>,
}

impl<L: Level> Clone for WaitAt<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Level> Copy for WaitAt<'_, L> {}

impl<'q, L: Level> WaitAt<'q, L> {
    /// Binds `q` to level `L`.
    pub fn bind(q: &'q WaitQueue) -> Self {
        WaitAt {
            inner: q,
            _level: PhantomData,
        }
    }

    /// `wait_event_interruptible_timeout`, from a context ordered before the queue.
    pub fn wait_event_interruptible_timeout<P: LockBefore<L>>(
        &self,
        _ctx: &mut Locked<'_, P>,
        cond: impl FnMut() -> bool,
        timeout_ms: Option<u64>,
    ) -> WaitResult {
        self.inner
            .wait_event_interruptible_timeout(cond, timeout_ms)
    }

    /// Proof of a context from which waiting on the queue is allowed, for a function
    /// that may wait on it by calls the types cannot follow (the runtime-PM core's
    /// `rpm_resume`): it costs nothing and borrows the context for the call.
    pub fn may_wait<P: LockBefore<L>>(&self, _ctx: &mut Locked<'_, P>) {}

    /// `wake_up`.
    pub fn wake_up(&self) {
        self.inner.wake_up();
    }
}

/// A declared hierarchy (the static of [`lock_hierarchy!`]) by class name.
pub struct Hierarchy {
    parent: BTreeMap<&'static str, &'static str>,
}

/// An observed edge the declaration does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub held: String,
    pub acquired: String,
    pub why: &'static str,
}

impl Hierarchy {
    pub fn new(edges: &[(&'static str, &'static str)]) -> Self {
        Hierarchy {
            parent: edges.iter().map(|&(a, b)| (b, a)).collect(),
        }
    }

    /// Whether `a` is a proper ancestor of `b` (`a` before `b`).
    pub fn before(&self, a: &str, b: &str) -> bool {
        let mut cur = b;
        while let Some(&p) = self.parent.get(cur) {
            if p == a {
                return true;
            }
            cur = p;
        }
        false
    }

    pub fn declares(&self, class: &str) -> bool {
        self.parent.contains_key(class)
    }

    /// Edges `held → acquired` of an observed lock graph that go against the
    /// declaration or name undeclared classes.
    pub fn violations<'e>(
        &self,
        observed: impl IntoIterator<Item = (&'e str, &'e str)>,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        for (held, acquired) in observed {
            let why = if !self.declares(held) || !self.declares(acquired) {
                "undeclared lock class"
            } else if self.before(acquired, held) {
                "inverts the declared order"
            } else if !self.before(held, acquired) {
                "not ordered by the declaration"
            } else {
                continue;
            };
            out.push(Violation {
                held: held.to_string(),
                acquired: acquired.to_string(),
                why,
            });
        }
        out
    }

    /// The declaration as a Markdown table, one row a level, with its chain from the root.
    pub fn markdown(&self) -> String {
        let mut s = String::from("| level | acquired after |\n|---|---|\n");
        for &child in self.parent.keys() {
            let mut chain = Vec::new();
            let mut cur = child;
            while let Some(&p) = self.parent.get(cur) {
                chain.push(format!("`{p}`"));
                cur = p;
            }
            s.push_str(&format!("| `{child}` | {} |\n", chain.join(" → ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::lock_level!(Dev = "&udev->dev.mutex");
    crate::lock_level!(Qdev = "qdev_mutex");
    crate::lock_level!(Sb = "&sb->mutex");
    crate::lock_level!(Chip = "&chip->mutex");
    crate::lock_hierarchy! {
        static ORDER;
        Unlocked => Dev;
        Dev => Qdev;
        Qdev => Sb;
        Dev => Chip;
    }

    #[test]
    fn nested_acquisition_follows_the_declared_order() {
        let dev = OrderedMutex::<Dev, u32>::new(1);
        let qdev = OrderedMutex::<Qdev, u32>::new(2);
        let sb = OrderedMutex::<Sb, u32>::new(3);
        let mut ctx = Locked::entry();
        let (d, mut c1) = dev.lock(&mut ctx);
        let (q, mut c2) = qdev.lock(&mut c1);
        let (s, _c3) = sb.lock(&mut c2);
        assert_eq!(*d + *q + *s, 6);
    }

    #[test]
    fn a_level_may_be_skipped() {
        let sb = OrderedMutex::<Sb, u32>::new(3);
        let mut ctx = Locked::entry();
        let (s, _) = sb.lock(&mut ctx);
        assert_eq!(*s, 3);
    }

    #[test]
    fn the_hierarchy_allows_exactly_its_ancestors() {
        let h = Hierarchy::new(ORDER);
        assert!(h.before("&udev->dev.mutex", "&sb->mutex"));
        assert!(!h.before("&sb->mutex", "&udev->dev.mutex"));
        assert!(!h.before("qdev_mutex", "&chip->mutex"));
        let v = h.violations([
            ("&udev->dev.mutex", "qdev_mutex"),
            ("qdev_mutex", "&udev->dev.mutex"),
            ("qdev_mutex", "&chip->mutex"),
            ("qdev_mutex", "W_inuse"),
        ]);
        let why: Vec<_> = v.iter().map(|v| v.why).collect();
        assert_eq!(
            why,
            [
                "inverts the declared order",
                "not ordered by the declaration",
                "undeclared lock class"
            ]
        );
    }

    #[test]
    fn the_table_lists_every_level_with_its_chain() {
        let t = Hierarchy::new(ORDER).markdown();
        assert!(t.contains("| `&sb->mutex` | `qdev_mutex` → `&udev->dev.mutex` → `unlocked` |"));
        assert_eq!(t.lines().count(), 2 + 4);
    }
}
