//! Work stealing inside one search: a worker with unexplored alternatives near the
//! root of its stack hands them, with the path to them, to an idle worker.
//!
//! Every worker keeps a whole stack of its own. The nodes above a donated
//! alternative are then on two stacks, and races found below either may add the same
//! alternative to both copies; [`Claims`] makes sure that only one worker explores
//! it. A node is known by the decisions that lead to it, which are the same on every
//! stack that holds it. Nodes below the deepest shared one are private and need no
//! claim, so the cost is paid only near the root, where stacks meet.
//!
//! Sleep sets stay sound on every copy: an entry is a task whose branch from that
//! node some worker explores whole. A copy may know fewer such entries than a serial
//! search would (a sibling explored by another worker is not asleep here), which costs
//! executions, never coverage. A footprint that could still grow (a step that makes a
//! `choose`, whose other values the donor has not run yet) is sent as dependent with
//! everything.

use super::{bit, Bits, Dfs, Node};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The alternatives that some worker of a parallel search explores, by node.
#[derive(Debug, Default)]
pub struct Claims {
    taken: Mutex<HashSet<(Box<[u32]>, u32)>>,
}

/// The claim key of value `v` at a `choose` (task ids stay below it).
pub(super) fn choice_alt(v: usize) -> u32 {
    (1 << 31) | v as u32
}

impl Claims {
    /// Claims alternative `alt` of the node at `path`; false if another worker has.
    pub(super) fn claim(&self, path: &[u32], alt: u32) -> bool {
        self.taken
            .lock()
            .expect("claims")
            .insert((path.into(), alt))
    }
}

impl Dfs {
    /// The root of a parallel search whose workers share `claims`.
    pub fn shared(reduce: bool, claims: Arc<Claims>) -> Self {
        let mut d = Dfs::new(reduce);
        d.claims = Some(claims);
        d
    }

    /// Hands the unexplored alternatives of the shallowest node that has some (other
    /// than the one being explored) to a new search over them, the thief's; this
    /// search no longer explores them. Call between two executions. None if there
    /// is nothing to give but the deepest node's alternatives, which are about to be
    /// tried anyway.
    pub fn donate(&mut self) -> Option<Dfs> {
        self.donate_up_to(Bits::BITS)
    }

    /// As [`Dfs::donate`], handing over at most `max` alternatives of the node.
    pub fn donate_up_to(&mut self, max: u32) -> Option<Dfs> {
        let claims = self.claims.clone()?;
        let last = self.nodes.len().checked_sub(1)?;
        for n in 0..last {
            let open = self.nodes[n].open();
            if open == 0 {
                continue;
            }
            self.share_down_to(n, &claims);
            let path = self.path_to(n);
            let Node::Sched { claimed, lost, .. } = &mut self.nodes[n] else {
                unreachable!("a scheduling node")
            };
            let mut given: Bits = 0;
            let mut looked: Bits = 0;
            for t in (0..Bits::BITS as usize).filter(|&t| open & bit(t) != 0) {
                if given.count_ones() == max {
                    break;
                }
                looked |= bit(t);
                if *claimed & bit(t) != 0 || claims.claim(&path, t as u32) {
                    given |= bit(t);
                }
            }
            *lost |= looked;
            *claimed &= !given;
            if given == 0 {
                continue;
            }
            return Some(self.thief(n, given, claims));
        }
        None
    }

    /// How many alternatives wait on this search's stack above its deepest node.
    pub fn open_alternatives(&self) -> u32 {
        let last = self.nodes.len().saturating_sub(1);
        self.nodes[..last]
            .iter()
            .map(|n| n.open().count_ones())
            .sum()
    }

    /// How deep this search's path is shared with others: a piece handed out from a
    /// shallow node usually holds more of the tree than one from a deep node.
    pub fn split_depth(&self) -> usize {
        self.shared_upto
    }

    /// Nodes `shared_upto..=n` are about to be on a second stack: claim what this
    /// search explores at each (the step it took, the values up to the current one).
    fn share_down_to(&mut self, n: usize, claims: &Claims) {
        for m in self.shared_upto..=n {
            let path = self.path_to(m);
            match &mut self.nodes[m] {
                Node::Sched {
                    chosen, claimed, ..
                } => {
                    if *claimed & bit(*chosen) == 0 {
                        claims.claim(&path, *chosen as u32);
                        *claimed |= bit(*chosen);
                    }
                }
                Node::Choice { value, .. } => {
                    for v in 0..=*value {
                        claims.claim(&path, choice_alt(v));
                    }
                }
            }
        }
        self.shared_upto = self.shared_upto.max(n + 1);
    }

    /// The search over alternatives `given` of node `n`, with this search's path.
    fn thief(&self, n: usize, given: Bits, claims: Arc<Claims>) -> Dfs {
        let mut nodes: Vec<Node> = self.nodes[..=n].to_vec();
        for (m, node) in nodes.iter_mut().enumerate() {
            let makes_a_choice = matches!(self.nodes.get(m + 1), Some(Node::Choice { .. }));
            if let Node::Sched {
                claimed,
                lost,
                chosen_cuts,
                ..
            } = node
            {
                *claimed = if m == n { given } else { 0 };
                if m == n {
                    *lost &= !given;
                }
                if makes_a_choice {
                    // The donor's step from here makes a `choose` whose other values
                    // it may not have run: its footprint is not known whole.
                    *chosen_cuts = true;
                }
            }
        }
        let mut d = Dfs::shared(self.reduce, claims);
        d.replay_len = nodes.len();
        d.nodes = nodes;
        d.shared_upto = n + 1;
        d.resume_backtrack = true;
        d
    }
}
