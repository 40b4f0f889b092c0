//! Prints the trace of the default schedule of one scenario (debug aid).
//! `cargo run -p model --example trace_scenario -- <scenario> <design>`
use std::sync::Arc;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let sc = model::find_scenario(&a[0]).expect("scenario");
    let d: model::Design = a
        .get(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(model::Design::V2OffloadSpinlock);
    let f = sc.run;
    let prog = explore::Program {
        name: sc.name.into(),
        main: Arc::new(move || f(d)),
        property_ids: model::invariants::runtime_check_property,
    };
    let r = explore::replay(&prog, &[], 20_000);
    for t in &r.outcome.trace {
        println!(
            "{:>4} {:<10} {:<40} {}",
            t.step,
            t.task,
            t.frames.last().copied().unwrap_or(""),
            t.what
        );
    }
    println!("end {:?} steps {}", r.outcome.end, r.outcome.steps);
}
