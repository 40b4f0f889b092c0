//! Vector clocks for happens-before over the steps of one execution.

/// A vector clock indexed by task id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VClock(pub Vec<u32>);

impl VClock {
    #[inline]
    pub fn get(&self, t: usize) -> u32 {
        self.0.get(t).copied().unwrap_or(0)
    }

    #[inline]
    pub fn set(&mut self, t: usize, v: u32) {
        if self.0.len() <= t {
            self.0.resize(t + 1, 0);
        }
        self.0[t] = v;
    }

    pub fn join(&mut self, o: &VClock) {
        if self.0.len() < o.0.len() {
            self.0.resize(o.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a = (*a).max(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_takes_pointwise_max() {
        let mut a = VClock(vec![1, 5]);
        a.join(&VClock(vec![3, 2, 7]));
        assert_eq!(a, VClock(vec![3, 5, 7]));
        assert_eq!(a.get(9), 0);
    }
}
