//! Parallel and sharded searches cover what the serial search covers.

use explore::{explore, Config, Program, SHARD_COMMON_EXECUTIONS};
use ksync::{spawn, AtomicU32, LockClass, Mutex};
use std::sync::Arc;

/// Two threads race on a counter behind one lock and on a racy flag; the program
/// panics in one interleaving class only.
fn program() -> Program {
    Program::new("split", || {
        let m = Arc::new(Mutex::new(LockClass::new("m"), 0u32));
        let flag = Arc::new(AtomicU32::new("flag", 0));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let (m, flag) = (m.clone(), flag.clone());
                spawn(&format!("t{i}"), move || {
                    let v = {
                        let mut g = m.lock();
                        *g += 1;
                        *g
                    };
                    if v == 3 && flag.load() == 0 {
                        flag.store(i + 1);
                    }
                    assert!(!(i == 0 && v == 3 && flag.load() == 1), "t0 last");
                })
            })
            .collect();
        for h in hs {
            h.join();
        }
    })
}

#[test]
fn jobs_and_shards_find_what_the_serial_search_finds() {
    let p = program();
    let serial = explore(&p, &Config::default());
    assert_eq!(serial.findings.len(), 1, "the panic is reachable");
    let par = explore(
        &p,
        &Config {
            jobs: 2,
            ..Config::default()
        },
    );
    assert_eq!(par.findings.len(), 1);
    assert!(par.exhausted);
    let mut found = 0;
    let mut execs = 0;
    for k in 0..3 {
        let r = explore(
            &p,
            &Config {
                shard: Some((k, 3)),
                ..Config::default()
            },
        );
        found += r.findings.len();
        execs += r.executions - r.pruned;
    }
    assert!(found >= 1, "some shard holds the failing schedule class");
    assert!(execs >= serial.executions - serial.pruned);
}

/// The signatures of a search's findings.
fn signatures(r: &explore::Report) -> std::collections::BTreeSet<String> {
    r.findings.iter().map(|f| f.signature.clone()).collect()
}

/// The self-test's shapes and this file's program.
fn programs() -> Vec<Program> {
    let mut programs = explore::selftest::shapes::all();
    programs.push(program());
    programs
}

/// The shards of a search find together what the serial search finds, also when
/// they split small trees, and with the default split their executions add up to
/// about the serial search's: the common part before the split and a piece's races
/// above it are the only repeated work.
#[test]
fn shards_partition_the_tree() {
    for p in programs() {
        let serial = explore(&p, &Config::default());
        // The default split, and one after a single execution that splits small trees
        // and splits their pieces again.
        for (n, alike) in [
            (2, SHARD_COMMON_EXECUTIONS),
            (3, SHARD_COMMON_EXECUTIONS),
            (5, SHARD_COMMON_EXECUTIONS),
            (2, 1),
            (3, 1),
        ] {
            let mut found = std::collections::BTreeSet::new();
            let mut executions = 0;
            for k in 0..n {
                let r = explore(
                    &p,
                    &Config {
                        shard: Some((k, n)),
                        shard_common_executions: alike,
                        ..Config::default()
                    },
                );
                assert!(r.exhausted, "{} shard {k}/{n}", p.name);
                found.extend(signatures(&r));
                executions += r.executions;
            }
            assert_eq!(found, signatures(&serial), "{} in {n} shards", p.name);
            if alike != SHARD_COMMON_EXECUTIONS {
                // Cut into pieces of a few executions, a tree repeats much of itself.
                continue;
            }
            // Every shard runs the common part before the split and the runs that
            // split large pieces again (the whole of a smaller tree), and counts them.
            let common = (n as u64 - 1) * serial.executions.min(2 * alike);
            assert!(
                executions <= serial.executions + serial.executions / 5 + common,
                "{} in {n} shards: {executions} executions, serially {}",
                p.name,
                serial.executions
            );
        }
    }
}

/// One search on several OS threads sharing the tree by work stealing ends
/// exhaustively with the serial search's findings, whatever the threads' timing.
#[test]
fn work_stealing_finds_what_the_serial_search_finds() {
    for p in programs() {
        let serial = explore(&p, &Config::default());
        for jobs in [2, 3] {
            for _ in 0..3 {
                let par = explore(
                    &p,
                    &Config {
                        jobs,
                        ..Config::default()
                    },
                );
                assert!(par.exhausted, "{} on {jobs} workers", p.name);
                assert_eq!(
                    signatures(&par),
                    signatures(&serial),
                    "{} on {jobs} workers",
                    p.name
                );
            }
        }
    }
}
