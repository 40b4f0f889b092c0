//! The lock-order graph over lock classes, accumulated over all executions of a search
//! (lockdep's dependency graph). A new edge that closes a cycle is a potential deadlock
//! even if no explored schedule deadlocked.

use crate::class::{class_name, ClassId};
use std::collections::{HashMap, HashSet, VecDeque};

/// "A task held `from` while acquiring (or waiting for) `to`", first seen with this stack.
#[derive(Clone, Debug)]
pub struct OrderEdge {
    pub from: ClassId,
    pub to: ClassId,
    pub task: String,
    /// Function that took `from`.
    pub from_site: &'static str,
    /// Call stack (outermost first) at the acquisition of `to`.
    pub stack: Vec<&'static str>,
}

impl OrderEdge {
    pub fn from_name(&self) -> String {
        class_name(self.from)
    }
    pub fn to_name(&self) -> String {
        class_name(self.to)
    }
}

/// A cycle: `edges[0]` is the edge that closed it (held `edges[0].from`, acquiring
/// `edges[0].to`), then the existing chain from `edges[0].to` back to `edges[0].from`.
#[derive(Clone, Debug)]
pub struct LockOrderCycle {
    pub edges: Vec<OrderEdge>,
}

impl LockOrderCycle {
    pub fn classes(&self) -> Vec<String> {
        self.edges.iter().map(|e| e.from_name()).collect()
    }
}

/// Persistent dependency graph.
const DENSE: usize = 1024;

#[derive(Default)]
pub struct LockDep {
    /// Bit matrix of known edges between the first `DENSE` classes (the hot check).
    dense: Vec<u64>,
    edges: HashMap<(ClassId, ClassId), OrderEdge>,
    adj: HashMap<ClassId, Vec<ClassId>>,
    reported: HashSet<Vec<ClassId>>,
    order: Vec<(ClassId, ClassId)>,
}

impl LockDep {
    #[inline]
    pub fn has_edge(&self, from: ClassId, to: ClassId) -> bool {
        let (f, t) = (from as usize, to as usize);
        if f < DENSE && t < DENSE {
            let i = f * DENSE + t;
            return self
                .dense
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0);
        }
        self.edges.contains_key(&(from, to))
    }

    /// Adds an edge; returns a cycle it closes that was not reported before.
    pub fn add(&mut self, e: OrderEdge) -> Option<LockOrderCycle> {
        let key = (e.from, e.to);
        if e.from == e.to || self.edges.contains_key(&key) {
            return None;
        }
        let (from, to) = key;
        self.edges.insert(key, e.clone());
        let (f, t) = (from as usize, to as usize);
        if f < DENSE && t < DENSE {
            if self.dense.is_empty() {
                self.dense = vec![0; DENSE * DENSE / 64];
            }
            let i = f * DENSE + t;
            self.dense[i / 64] |= 1 << (i % 64);
        }
        self.adj.entry(from).or_default().push(to);
        self.order.push(key);
        let path = self.path(to, from)?;
        let mut edges = vec![e];
        for w in path.windows(2) {
            edges.push(self.edges[&(w[0], w[1])].clone());
        }
        let mut set: Vec<ClassId> = edges.iter().map(|e| e.from).collect();
        set.sort_unstable();
        if !self.reported.insert(set) {
            return None;
        }
        Some(LockOrderCycle { edges })
    }

    /// Shortest path `a → … → b` over recorded edges.
    fn path(&self, a: ClassId, b: ClassId) -> Option<Vec<ClassId>> {
        let mut prev: HashMap<ClassId, ClassId> = HashMap::new();
        let mut q = VecDeque::from([a]);
        let mut seen = HashSet::from([a]);
        while let Some(n) = q.pop_front() {
            if n == b {
                let mut p = vec![b];
                let mut c = b;
                while c != a {
                    c = prev[&c];
                    p.push(c);
                }
                p.reverse();
                return Some(p);
            }
            for &m in self.adj.get(&n).into_iter().flatten() {
                if seen.insert(m) {
                    prev.insert(m, n);
                    q.push_back(m);
                }
            }
        }
        None
    }

    /// All edges in the order they were first seen.
    pub fn edges(&self) -> impl Iterator<Item = &OrderEdge> {
        self.order.iter().map(|k| &self.edges[k])
    }

    /// Merges another graph (from a parallel worker) into this one; returns newly
    /// closed cycles.
    pub fn merge(&mut self, other: &LockDep) -> Vec<LockOrderCycle> {
        other.edges().filter_map(|e| self.add(e.clone())).collect()
    }

    pub fn len(&self) -> usize {
        self.edges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }
}
