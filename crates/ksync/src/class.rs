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

/// Multiplicative hasher for the per-thread intern cache (keys are small integers).
#[derive(Default)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }
}

type Fast = std::hash::BuildHasherDefault<FastHasher>;

thread_local! {
    /// Keyed by the name's address: objects are created every execution, so the
    /// global registry is consulted once per class and thread.
    static CACHE: std::cell::RefCell<HashMap<(usize, usize, u8), ClassId, Fast>> =
        std::cell::RefCell::new(HashMap::default());
}

/// Interns a class and returns its id (stable for the life of the process).
pub fn intern(c: LockClass) -> ClassId {
    let key = (c.name.as_ptr() as usize, c.name.len(), c.subclass);
    if let Some(id) = CACHE.with(|m| m.borrow().get(&key).copied()) {
        return id;
    }
    let id = intern_slow(c);
    CACHE.with(|m| m.borrow_mut().insert(key, id));
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
