use explore::selftest::programs::{abba, nested};
use explore::{explore, Config, Strategy};

#[test]
fn nested_3x2_dpor_is_optimal() {
    let r = explore(&nested(3, 2), &Config::default());
    println!(
        "dpor execs {} pruned {} steps {} {:?}",
        r.executions, r.pruned, r.total_steps, r.elapsed
    );
    assert!(r.findings.is_empty());
    assert_eq!(r.executions - r.pruned, 90);
}

#[test]
fn abba_deadlock_and_lock_order() {
    let p = abba();
    let r = explore(
        &p,
        &Config {
            strategy: Strategy::Dfs,
            ..Config::default()
        },
    );
    let kinds: Vec<_> = r.findings.iter().map(|f| f.finding.kind.as_str()).collect();
    println!("{kinds:?} execs {}", r.executions);
    assert!(kinds.contains(&"deadlock"));
    assert!(kinds.contains(&"lock-order"));
    for f in &r.findings {
        println!("{}", explore::report::format_found(&p, f, 1000));
    }
}

#[test]
#[ignore]
fn perf_nested_4x2() {
    for s in [Strategy::Dpor, Strategy::Dfs] {
        let cfg = Config {
            strategy: s,
            max_executions: Some(200_000),
            ..Config::default()
        };
        let r = explore(&nested(4, 2), &cfg);
        let secs = r.elapsed.as_secs_f64();
        println!(
            "{s:?}: execs {} pruned {} steps {} in {:.3}s = {:.2} M steps/s, {:.0} exec/s",
            r.executions,
            r.pruned,
            r.total_steps,
            secs,
            r.total_steps as f64 / secs / 1e6,
            r.executions as f64 / secs
        );
    }
}

#[test]
#[ignore]
fn perf_dpor_big() {
    let cfg = Config {
        strategy: Strategy::Dpor,
        ..Config::default()
    };
    let cfg = Config {
        max_executions: Some(100_000),
        ..cfg
    };
    let r = explore(&nested(4, 3), &cfg);
    let secs = r.elapsed.as_secs_f64();
    println!(
        "dpor 4x3: execs {} pruned {} steps {} in {:.3}s = {:.2} M steps/s",
        r.executions,
        r.pruned,
        r.total_steps,
        secs,
        r.total_steps as f64 / secs / 1e6
    );
}
