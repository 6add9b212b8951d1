//! Core scoring speed on the shipped model, one thread: full assessments (what `Score` computes),
//! one at a time and a block at a time, and the churn probability alone.
//!
//! `cargo bench --bench scoring`

use std::hint::black_box;
use std::path::Path;

use bankscore::domain::{AssessOptions, BlockScratch, CustomerProfile};
use bankscore::model_store::load_bundle;
use bankscore::training::synthetic::Generator;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const CUSTOMERS: usize = 4096;

fn customers() -> Vec<CustomerProfile> {
    let mut g = Generator::new(7);
    (0..CUSTOMERS).map(|_| g.next_customer().profile).collect()
}

fn scoring(c: &mut Criterion) {
    let model = load_bundle(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1"))
        .expect("shipped bundle");
    let scoring = &model.scoring;
    let profiles = customers();
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(CUSTOMERS as u64));
    group.bench_function(
        "assess (full Score: churn + 3 reasons, value, tier, arbitration)",
        |b| {
            b.iter(|| {
                for p in &profiles {
                    black_box(
                        scoring
                            .assess(black_box(p), AssessOptions::default())
                            .unwrap(),
                    );
                }
            })
        },
    );
    group.bench_function(
        "assess_block (the same, 256 customers at a time: files, ScoreStream)",
        |b| {
            let mut scratch = BlockScratch::default();
            b.iter(|| {
                for block in profiles.chunks(256) {
                    scoring.assess_block(
                        black_box(block),
                        |_| false,
                        AssessOptions::default(),
                        &mut scratch,
                        |_, a| {
                            black_box(a.unwrap());
                        },
                    );
                }
            })
        },
    );
    group.bench_function("churn probability only", |b| {
        b.iter(|| {
            for p in &profiles {
                black_box(scoring.churn.probability(black_box(p)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
