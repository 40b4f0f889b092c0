//! `--shard K/N`: a search split over machines that do not talk to each other.
//!
//! Every shard starts the same serial DPOR search and runs it, alike, until its stack
//! holds enough unexplored alternatives to share out (or the tree ends, or a few
//! hundred executions have passed). Then it hands out every alternative on the stack
//! one at a time ([`dpor::Dfs::donate_up_to`]), the search itself keeping the rest of
//! its path. A piece handed out near the root can hold most of the tree, so while
//! there are few pieces, the shallowest is run a few executions further and split
//! again in its place ([`resplit`]). The pieces are then dealt out shallowest first,
//! starting from the shard the program's name hashes to, or from the one a plan
//! names ([`Placement`]; a plan may also give a small search whole to one shard).
//! All of that is deterministic, so every shard computes the same pieces and the
//! shards partition the tree.
//!
//! A piece's search finds races whose reversal lies above the split, on the nodes that
//! every shard has a copy of. An alternative added there is explored by each shard
//! whose pieces add it, unless the split already gave it to a piece of its own or
//! of another shard: without a table shared between machines, that repetition and
//! the common part are what a split costs. The common part's findings are reported by
//! one shard only (the one the program's name hashes to); every shard counts its
//! executions, since every shard ran them. A tree that ends within the common part is
//! thus searched whole by every shard: small trees cost N times their size. A search
//! bounded by a number of executions is not split: the shard the name hashes to runs
//! it, so that it explores the first executions of the serial order, as unsharded.

use crate::{dpor, Config, Program, Run, Searcher, Shared, Strategy, WorkerResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Pieces wanted per shard: the pieces differ in size by orders of magnitude, and
/// many small ones even out what each shard gets.
const PIECES_PER_SHARD: u32 = 16;

/// The most executions the shards run alike before they split, and again at most to
/// split large pieces further (each shard counts them): [`Config`]'s default.
pub const COMMON_EXECUTIONS: u64 = 256;

/// Where a sharded search goes. Every shard must be given the same placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// Split over every shard, dealing the pieces from the shard the program's name
    /// hashes to (also the shard that reports the common part).
    #[default]
    Hashed,
    /// Split over every shard, dealing the pieces from shard `first`, which also
    /// reports the common part: a plan that knows how the search falls over the
    /// shards deals it so that its large pieces go where there is the least other
    /// work.
    Split { first: usize },
    /// Not split: shard `on` runs the search whole and the others skip it. Cheaper
    /// for a small search, which the shards would otherwise each run whole in their
    /// common part.
    Whole { on: usize },
}

impl Placement {
    /// The shard that reports the common part and from which the pieces are dealt
    /// (for a search run whole: the shard that runs it), out of `n`.
    pub fn owner(self, program: &str, n: usize) -> usize {
        match self {
            Placement::Hashed => name_hash(program) % n,
            Placement::Split { first } => first % n,
            Placement::Whole { on } => on % n,
        }
    }
}

/// FNV-1a of a program's name: the same in every process and on every machine.
fn name_hash(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

/// Pieces per shard the large pieces are split into: more would even out the
/// shards better, but every piece finds races on the nodes above it, whose
/// reversals another shard's pieces may also find and explore again.
const RESPLIT_PIECES_PER_SHARD: usize = 4;

/// The most executions spent on one piece before splitting it again.
const RESPLIT_PIECE_EXECUTIONS: u64 = 16;

/// Open alternatives a piece needs on its stack to be split again.
const RESPLIT_ALTERNATIVES: u32 = 4;

/// `search`'s alternatives handed out one at a time, shallowest first; the search
/// keeps the rest of its path and comes last.
fn split(mut search: dpor::Dfs) -> Vec<dpor::Dfs> {
    let mut pieces = Vec::new();
    while let Some(piece) = search.donate_up_to(1) {
        pieces.push(piece);
    }
    pieces.push(search);
    pieces
}

/// Splits the pieces further, alike in every shard, until there are `want` of them
/// or `budget` executions are spent. A piece handed out from a shallow node is where
/// most of the tree usually is (one of them held 86% of the largest search), so the
/// shallowest piece is run a few executions, until its own stack holds alternatives,
/// and split in its place. A piece that ends meanwhile was searched by every shard.
fn resplit(
    common: &mut Searcher<'_>,
    pieces: &mut Vec<dpor::Dfs>,
    want: usize,
    budget: u64,
) -> Run {
    let mut spent = 0;
    while pieces.len() < want && spent < budget {
        let Some(i) = (0..pieces.len()).min_by_key(|&i| pieces[i].split_depth()) else {
            break;
        };
        let mut piece = pieces.remove(i);
        let mut ran = 0;
        let end = common.run(&mut piece, &mut |d| {
            ran += 1;
            ran < RESPLIT_PIECE_EXECUTIONS && d.open_alternatives() < RESPLIT_ALTERNATIVES
        });
        spent += ran;
        match end {
            Run::Done => {}
            Run::Stopped => return Run::Stopped,
            Run::Paused => {
                let parts = split(piece);
                pieces.splice(i..i, parts);
            }
        }
    }
    Run::Paused
}

/// Searches shard `k` of `n` of `program`'s tree, on `cfg.jobs` threads.
pub(crate) fn search(
    program: &Program,
    cfg: &Config,
    (k, n): (usize, usize),
    start: Instant,
) -> Vec<WorkerResult> {
    let owner = cfg.shard_placement.owner(&program.name, n);
    let reports_common = owner == k;
    let reduce = cfg.strategy == Strategy::Dpor;
    let whole = matches!(cfg.shard_placement, Placement::Whole { .. });
    if cfg.max_executions.is_some() || whole {
        // A bounded search is the first executions of the serial order: split, it
        // would explore others. One shard runs it whole, as it does a search a plan
        // gives whole to one shard.
        if !reports_common {
            return Vec::new();
        }
        if cfg.max_executions.is_none() && cfg.jobs > 1 {
            return crate::parallel::search(program, cfg, start);
        }
        let sh = Shared::new();
        let mut w = Searcher::new(program, cfg, &sh, start);
        w.run(&mut dpor::Dfs::new(reduce), &mut |_| true);
        return vec![w.finish()];
    }
    let claims = Arc::new(dpor::Claims::default());
    let sh = Shared::new();
    let mut common = Searcher::new(program, cfg, &sh, start);
    let mut root = dpor::Dfs::shared(reduce, claims);
    let want = PIECES_PER_SHARD * n as u32;
    let mut ran = 0;
    let mut end = common.run(&mut root, &mut |d| {
        ran += 1;
        ran < cfg.shard_common_executions && d.open_alternatives() < want
    });
    let mut pieces = Vec::new();
    if end == Run::Paused {
        pieces = split(root);
        let want = RESPLIT_PIECES_PER_SHARD * n;
        end = resplit(&mut common, &mut pieces, want, cfg.shard_common_executions);
    }
    let mut results = Vec::new();
    // A limit that struck in the common part stopped every shard alike. Another
    // shard counts the work it did alike (what a split costs), not what it found.
    let c = common.finish();
    if reports_common || end == Run::Stopped {
        results.push(c);
    } else {
        results.push(WorkerResult {
            executions: c.executions,
            steps: c.steps,
            pruned: c.pruned,
            bound_hits: c.bound_hits,
            ..WorkerResult::new()
        });
    }
    if end == Run::Stopped || pieces.is_empty() {
        // The tree ended before the split: one shard has it all.
        return results;
    }
    // Shallowest first (the sort is stable): the large pieces go one to each shard.
    pieces.sort_by_key(dpor::Dfs::split_depth);
    let mine: Vec<Mutex<Option<dpor::Dfs>>> = pieces
        .into_iter()
        .enumerate()
        // Numbered from the shard that reports the common part: the first pieces, at
        // the top of the stack, are the large ones, and over a suite they spread
        // over the shards as the names do.
        .filter(|(i, _)| (i + owner) % n == k)
        .map(|(_, p)| Mutex::new(Some(p)))
        .collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut w = Searcher::new(program, cfg, &sh, start);
        while let Some(slot) = mine.get(next.fetch_add(1, Ordering::Relaxed)) {
            let mut piece = slot.lock().expect("piece").take().expect("taken once");
            if w.run(&mut piece, &mut |_| true) == Run::Stopped {
                break;
            }
        }
        w.finish()
    };
    let jobs = cfg.jobs.clamp(1, mine.len().max(1));
    std::thread::scope(|s| {
        let others: Vec<_> = (1..jobs).map(|_| s.spawn(work)).collect();
        results.push(work());
        results.extend(others.into_iter().map(|h| h.join().expect("shard worker")));
    });
    results
}
