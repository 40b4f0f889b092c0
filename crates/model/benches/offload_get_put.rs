//! What one offload get+put costs on real threads, per design, next to an atomic
//! increment+decrement: uncontended, and with two threads on the same device.
//!
//! v0/v1 take the device lock (v1's caller takes it), v2 its spinlock and the
//! runtime-PM check, `typed` its spinlock and a usage token. The model runs in live
//! mode (ksync primitives directly on OS threads).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ksync::order::Locked;
use model::sound::usb::qcom::typed::ChipPm;
use model::usb::core::offload::{usb_offload_get, usb_offload_put, OffloadUsage};
use model::{Config, Design, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A booted system in live mode, its audio device active and held so.
fn booted(design: Design) -> (model::system::Sys, Option<ChipPm>) {
    let mut cfg = Config::new(design);
    cfg.autosuspend_delay_ms = 60_000;
    let sys = System::new(cfg);
    model::system::boot(&sys);
    let chip = sys
        .snd
        .register_mutex
        .peek(|r| r.chips[0].clone())
        .expect("card 0 probed");
    let pm = ChipPm::get(&mut Locked::entry(), &sys, &chip).expect("autoresume");
    // what is measured is the successful path: one get raises the count
    let udev = &sys.devs[sys.udev_of(0)];
    match design {
        Design::Typed => {
            let u = OffloadUsage::get(&mut Locked::entry(), &sys, pm.proof(), || {});
            assert!(
                u.is_ok() && udev.offload_usage.peek() == 1,
                "{design}: get failed"
            );
        }
        _ => {
            let _g = (design == Design::V1CallerLocks).then(|| udev.dev_mutex.lock());
            assert_eq!(usb_offload_get(&sys, udev), 0, "{design}: get failed");
            assert_eq!(usb_offload_put(&sys, udev), 0, "{design}: put failed");
        }
    }
    assert_eq!(
        udev.offload_usage.peek(),
        0,
        "{design}: put did not lower the count"
    );
    (sys, Some(pm))
}

/// One get+put.
fn get_put(design: Design, sys: &model::system::Sys, pm: &ChipPm) {
    let udev = &sys.devs[sys.udev_of(0)];
    match design {
        Design::Typed => {
            let u = OffloadUsage::get(&mut Locked::entry(), sys, pm.proof(), || {});
            drop(black_box(u));
        }
        Design::V1CallerLocks => {
            let _g = udev.dev_mutex.lock();
            black_box(usb_offload_get(sys, udev));
            black_box(usb_offload_put(sys, udev));
        }
        _ => {
            black_box(usb_offload_get(sys, udev));
            black_box(usb_offload_put(sys, udev));
        }
    }
}

/// `iters` get+put pairs on each of two threads at once; the wall time of the pair.
fn contended(design: Design, iters: u64) -> Duration {
    let (sys, pm) = booted(design);
    let pm = Arc::new(pm);
    let start = Instant::now();
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let (sys, pm) = (sys.clone(), pm.clone());
            std::thread::spawn(move || {
                let pm = pm.as_ref().as_ref().expect("reference");
                for _ in 0..iters {
                    get_put(design, &sys, pm);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("thread");
    }
    start.elapsed()
}

fn atomic_contended(iters: u64) -> Duration {
    let a = Arc::new(AtomicI64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                for _ in 0..iters {
                    a.fetch_add(1, Ordering::AcqRel);
                    a.fetch_sub(1, Ordering::AcqRel);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("thread");
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("get_put");
    let a = AtomicI64::new(0);
    g.bench_function("atomic", |b| {
        b.iter(|| {
            a.fetch_add(1, Ordering::AcqRel);
            a.fetch_sub(1, Ordering::AcqRel);
        })
    });
    for d in Design::ALL {
        let (sys, pm) = booted(d);
        let pm = pm.expect("reference");
        g.bench_function(d.name(), |b| b.iter(|| get_put(d, &sys, &pm)));
    }
    g.finish();
    let mut g = c.benchmark_group("get_put_2_threads");
    g.bench_function("atomic", |b| b.iter_custom(atomic_contended));
    for d in Design::ALL {
        g.bench_function(d.name(), |b| b.iter_custom(|n| contended(d, n)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
