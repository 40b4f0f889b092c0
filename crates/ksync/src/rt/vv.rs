//! Version vectors (vector clocks): per task, how many of its events are known to
//! have happened. The race detector's grow with the tasks of an execution
//! (`Vec<u32>`); the DPOR search keeps one per step in a fixed slice, since a reduced
//! search has a bounded number of tasks. Both order events with these operations.

/// A version vector: slot `t` counts the events of task `t` that are known.
pub trait VersionVector {
    /// The known events of task `t`.
    fn count(&self, t: usize) -> u32;

    /// Takes in what `other` knows (the element-wise maximum).
    fn join(&mut self, other: &[u32]);

    /// One more event of task `t`.
    fn tick(&mut self, t: usize);

    /// Whether event `n` (1-based) of task `t` is known: it happens before whatever
    /// this vector is the clock of.
    #[inline]
    fn knows(&self, t: usize, n: u32) -> bool {
        self.count(t) >= n
    }
}

impl VersionVector for Vec<u32> {
    #[inline]
    fn count(&self, t: usize) -> u32 {
        self.get(t).copied().unwrap_or(0)
    }

    fn join(&mut self, other: &[u32]) {
        if self.len() < other.len() {
            self.resize(other.len(), 0);
        }
        join_slots(self, other);
    }

    fn tick(&mut self, t: usize) {
        if self.len() <= t {
            self.resize(t + 1, 0);
        }
        self[t] += 1;
    }
}

/// A fixed vector (an array, or a slot range of a larger buffer): `join` and `tick`
/// stay within its slots.
impl VersionVector for [u32] {
    #[inline]
    fn count(&self, t: usize) -> u32 {
        self.get(t).copied().unwrap_or(0)
    }

    #[inline]
    fn join(&mut self, other: &[u32]) {
        join_slots(self, other);
    }

    #[inline]
    fn tick(&mut self, t: usize) {
        self[t] += 1;
    }
}

#[inline]
fn join_slots(into: &mut [u32], from: &[u32]) {
    for (x, y) in into.iter_mut().zip(from) {
        *x = (*x).max(*y);
    }
}

#[cfg(test)]
mod tests {
    use super::VersionVector;

    #[test]
    fn growable_and_fixed_vectors_order_alike() {
        let mut grow: Vec<u32> = Vec::new();
        let mut fixed = [0u32; 4];
        grow.tick(2);
        fixed.tick(2);
        grow.join(&[1, 0, 0, 3]);
        fixed.join(&[1, 0, 0, 3]);
        assert_eq!(grow, fixed.to_vec());
        for (t, n) in [(0, 1), (0, 2), (1, 1), (2, 1), (3, 3), (3, 4)] {
            assert_eq!(grow.knows(t, n), fixed.knows(t, n), "event {n} of task {t}");
        }
        assert!(grow.knows(3, 3) && !grow.knows(3, 4) && !grow.knows(7, 1));
    }
}
