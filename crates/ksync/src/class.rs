//! Lock classes: the names reports use (`qdev_mutex`, `&udev->dev.mutex`), like lockdep's keys.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Dense index of an interned lock class.
pub type ClassId = u16;

/// A lock class: a name and a subclass (lockdep's nesting level; device locks use
/// the depth in the USB tree so that parent-before-child is a documented order, not a
/// cycle).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LockClass {
    pub name: &'static str,
    pub subclass: u8,
}

impl LockClass {
    pub const fn new(name: &'static str) -> Self {
        LockClass { name, subclass: 0 }
    }
    pub const fn with_subclass(name: &'static str, subclass: u8) -> Self {
        LockClass { name, subclass }
    }
}

#[derive(Default)]
struct Registry {
    ids: HashMap<LockClass, ClassId>,
    classes: Vec<LockClass>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Slots of the per-thread intern cache (a power of two).
const CACHE_SLOTS: usize = 256;

/// One cached class: the name's address and length, the subclass, the id.
#[derive(Clone, Copy)]
struct Cached {
    name: usize,
    len: usize,
    subclass: u8,
    id: ClassId,
}

const EMPTY: Cached = Cached {
    name: 0,
    len: 0,
    subclass: 0,
    id: 0,
};

thread_local! {
    /// Direct-mapped, keyed by the name's address: objects are created every
    /// execution, a few hundred of them, so the global registry is consulted once per
    /// class and thread (again only when two classes share a slot), and a lookup is
    /// one comparison.
    static CACHE: std::cell::Cell<[Cached; CACHE_SLOTS]> =
        const { std::cell::Cell::new([EMPTY; CACHE_SLOTS]) };
}

/// Interns a class and returns its id (stable for the life of the process).
pub fn intern(c: LockClass) -> ClassId {
    let name = c.name.as_ptr() as usize;
    let slot = ((name >> 3) ^ (name >> 11) ^ c.subclass as usize) & (CACHE_SLOTS - 1);
    let hit = CACHE.with(|m| {
        let cells = m.as_array_of_cells();
        let e = cells[slot].get();
        (e.name == name && e.len == c.name.len() && e.subclass == c.subclass).then_some(e.id)
    });
    if let Some(id) = hit {
        return id;
    }
    let id = intern_slow(c);
    CACHE.with(|m| {
        m.as_array_of_cells()[slot].set(Cached {
            name,
            len: c.name.len(),
            subclass: c.subclass,
            id,
        })
    });
    id
}

fn intern_slow(c: LockClass) -> ClassId {
    let mut r = registry().lock();
    if let Some(&id) = r.ids.get(&c) {
        return id;
    }
    let id = r.classes.len() as ClassId;
    r.classes.push(c);
    r.ids.insert(c, id);
    id
}

/// The class behind an id.
pub fn class(id: ClassId) -> LockClass {
    registry().lock().classes[id as usize]
}

/// Display name as lockdep prints it: `name` or `name/subclass`.
pub fn class_name(id: ClassId) -> String {
    let c = class(id);
    if c.subclass == 0 {
        c.name.to_string()
    } else {
        format!("{}/{}", c.name, c.subclass)
    }
}
