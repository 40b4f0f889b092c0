//! The qc driver's IOVA allocators (`uaudio_get_iova` / `uaudio_put_iova`, spec §1.8):
//! a list of `{start, size, in_use}` entries, a bump pointer and the remaining size.
//! Pure data structure, modelled after the kernel code including its quirks (an
//! exact-size free entry is reused; otherwise consecutive free entries whose sizes add
//! up exactly are merged into one allocation; a put of an IOVA not in use is ignored).
//! [`IovaAlloc::put`] says what a put released, so that callers can report a put of
//! something that was not allocated (RES-3) where the kernel ignores it.

pub const PAGE_SIZE: u64 = 4096;
pub const SNDRV_CARDS: u64 = 32;
pub const IOVA_BASE: u64 = 0x1000;
pub const IOVA_XFER_RING_BASE: u64 = IOVA_BASE + PAGE_SIZE * (SNDRV_CARDS + 1);
pub const IOVA_XFER_BUF_BASE: u64 = IOVA_XFER_RING_BASE + PAGE_SIZE * SNDRV_CARDS * 32;
pub const IOVA_XFER_RING_MAX: u64 = IOVA_XFER_BUF_BASE - PAGE_SIZE;
pub const IOVA_XFER_BUF_MAX: u64 = 0xfffff000 - PAGE_SIZE;
pub const MAX_XFER_BUFF_LEN: u64 = 24 * PAGE_SIZE;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IovaInfo {
    pub start: u64,
    pub size: u64,
    pub in_use: bool,
}

/// What `uaudio_put_iova` did with a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The range was allocated and is free again.
    Freed,
    /// No allocation starts at this IOVA: ignored.
    NotAllocated,
    /// The allocation that starts here is already free (a double put): ignored.
    AlreadyFree,
    /// The allocations from this IOVA do not add up to the size: they are marked
    /// free up to the end of the list, and the whole size is credited anyway.
    SizeMismatch,
}

/// One allocator (`xfer_ring_list` + `curr_xfer_ring_iova` + `xfer_ring_iova_size`).
#[derive(Clone, Debug)]
pub struct IovaAlloc {
    pub list: Vec<IovaInfo>,
    pub curr_iova: u64,
    pub remaining: u64,
    pub initial: u64,
}

impl IovaAlloc {
    pub fn new(base: u64, max: u64) -> Self {
        IovaAlloc {
            list: Vec::new(),
            curr_iova: base,
            remaining: max - base,
            initial: max - base,
        }
    }

    pub fn xfer_ring() -> Self {
        Self::new(IOVA_XFER_RING_BASE, IOVA_XFER_RING_MAX)
    }

    pub fn xfer_buf() -> Self {
        Self::new(IOVA_XFER_BUF_BASE, IOVA_XFER_BUF_MAX)
    }

    /// `uaudio_get_iova`: 0 on failure.
    #[allow(clippy::manual_is_multiple_of)] // rust-version 1.80
    pub fn get(&mut self, size: u64) -> u64 {
        if size % PAGE_SIZE != 0 || size > self.remaining || self.remaining == 0 || size == 0 {
            return 0;
        }
        let mut new_info: Option<usize> = None;
        let mut tmp = size;
        for i in 0..self.list.len() {
            let info = &self.list[i];
            if !info.in_use && info.size == size {
                self.list[i].in_use = true;
                self.remaining -= size;
                return self.list[i].start;
            } else if !info.in_use && tmp >= info.size {
                let first = *new_info.get_or_insert(i);
                tmp -= info.size;
                if tmp != 0 {
                    continue;
                }
                for e in &mut self.list[first..=i] {
                    e.in_use = true;
                }
                self.remaining -= size;
                return self.list[first].start;
            } else {
                new_info = None;
                tmp = size;
            }
        }
        let va = self.curr_iova;
        self.curr_iova += size;
        self.list.push(IovaInfo {
            start: va,
            size,
            in_use: true,
        });
        self.remaining -= size;
        va
    }

    /// `uaudio_put_iova`.
    pub fn put(&mut self, va: u64, size: u64) -> PutOutcome {
        let mut tmp = size;
        let mut found = false;
        for info in self.list.iter_mut() {
            if info.start == va {
                if !info.in_use {
                    return PutOutcome::AlreadyFree;
                }
                found = true;
                info.in_use = false;
                if info.size == size {
                    self.remaining += size;
                    return PutOutcome::Freed;
                }
            }
            if found && tmp >= info.size {
                info.in_use = false;
                tmp -= info.size;
                if tmp == 0 {
                    self.remaining += size;
                    return PutOutcome::Freed;
                }
            }
        }
        if found {
            self.remaining += size;
            return PutOutcome::SizeMismatch;
        }
        PutOutcome::NotAllocated
    }

    /// Bytes currently handed out.
    pub fn in_use_bytes(&self) -> u64 {
        self.list.iter().filter(|e| e.in_use).map(|e| e.size).sum()
    }

    pub fn at_initial(&self) -> bool {
        self.remaining == self.initial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alloc_reuse_exact() {
        let mut a = IovaAlloc::xfer_ring();
        let x = a.get(PAGE_SIZE);
        let y = a.get(PAGE_SIZE);
        assert_eq!(x, IOVA_XFER_RING_BASE);
        assert_eq!(y, x + PAGE_SIZE);
        assert_eq!(a.put(x, PAGE_SIZE), PutOutcome::Freed);
        assert_eq!(a.get(PAGE_SIZE), x);
        assert_eq!(a.put(x, PAGE_SIZE), PutOutcome::Freed);
        assert_eq!(a.put(y, PAGE_SIZE), PutOutcome::Freed);
        assert!(a.at_initial());
    }

    #[test]
    fn merge_adjacent_free() {
        let mut a = IovaAlloc::xfer_buf();
        let x = a.get(PAGE_SIZE);
        let y = a.get(PAGE_SIZE);
        a.put(x, PAGE_SIZE);
        a.put(y, PAGE_SIZE);
        let z = a.get(2 * PAGE_SIZE);
        assert_eq!(z, x);
        assert_eq!(a.put(z, 2 * PAGE_SIZE), PutOutcome::Freed);
        assert!(a.at_initial());
    }

    #[test]
    fn double_put_ignored_and_bad_sizes() {
        let mut a = IovaAlloc::xfer_ring();
        assert_eq!(a.get(100), 0);
        assert_eq!(a.get(0), 0);
        let x = a.get(PAGE_SIZE);
        assert_eq!(a.put(x, PAGE_SIZE), PutOutcome::Freed);
        assert_eq!(a.put(x, PAGE_SIZE), PutOutcome::AlreadyFree);
        assert!(a.at_initial());
        assert_eq!(a.put(0xdead000, PAGE_SIZE), PutOutcome::NotAllocated);
        assert!(a.at_initial());
        // a size that does not match the allocation is credited in full
        let y = a.get(PAGE_SIZE);
        assert_eq!(a.put(y, 2 * PAGE_SIZE), PutOutcome::SizeMismatch);
        assert!(!a.at_initial());
    }

    proptest! {
        /// Any sequence of page-multiple allocations and frees of live allocations keeps
        /// the allocations disjoint, accounts `remaining` exactly and returns to the
        /// initial size once everything is freed.
        #[test]
        fn alloc_free_accounting(ops in proptest::collection::vec((any::<bool>(), 1u64..4, any::<prop::sample::Index>()), 1..60)) {
            let mut a = IovaAlloc::xfer_buf();
            let mut live: Vec<(u64, u64)> = Vec::new();
            for (alloc, pages, idx) in ops {
                if alloc || live.is_empty() {
                    let size = pages * PAGE_SIZE;
                    let va = a.get(size);
                    prop_assert!(va != 0);
                    for &(s, l) in &live {
                        prop_assert!(va + size <= s || s + l <= va, "overlap {va:#x}+{size} with {s:#x}+{l}");
                    }
                    live.push((va, size));
                } else {
                    let (va, size) = live.swap_remove(idx.index(live.len()));
                    prop_assert_eq!(a.put(va, size), PutOutcome::Freed);
                }
                let used: u64 = live.iter().map(|x| x.1).sum();
                prop_assert_eq!(a.initial - a.remaining, used);
            }
            for (va, size) in live.drain(..) {
                prop_assert_eq!(a.put(va, size), PutOutcome::Freed);
            }
            prop_assert!(a.at_initial());
        }
    }
}
