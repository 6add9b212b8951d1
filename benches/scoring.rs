//! Core scoring speed on the shipped model, one thread: full assessments (what `Score` computes),
//! one at a time and a block at a time, and the churn probability alone; and the same full
//! assessments with learned uplift for every action of the catalog (a control-group model and
//! one model per action, as `train-uplift` writes them).
//!
//! `cargo bench --bench scoring`

use std::hint::black_box;
use std::path::Path;

use bankscore::domain::churn::ChurnModel;
use bankscore::domain::{AssessOptions, BlockScratch, CustomerProfile, ScoringModel, UpliftModels};
use bankscore::model_store::load_bundle;
use bankscore::training::synthetic::Generator;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const CUSTOMERS: usize = 4096;

fn customers() -> Vec<CustomerProfile> {
    let mut g = Generator::new(7);
    (0..CUSTOMERS).map(|_| g.next_customer().profile).collect()
}

/// `base` with its intercept and coefficients shifted: a model of the same features.
fn shifted(base: &ChurnModel, k: usize) -> ChurnModel {
    let mut features = base.features().to_vec();
    for (j, f) in features.iter_mut().enumerate() {
        f.coefficient *= 1.0 + 0.05 * ((j + k) % 5) as f64 - 0.1;
    }
    ChurnModel::new(
        base.intercept() - 0.1 * k as f64,
        features,
        base.horizon_months(),
    )
    .expect("valid model")
}

/// The shipped model with a learned uplift model for the first `learned` catalog actions (the
/// others keep their priors).
fn with_learned_uplift(scoring: &ScoringModel, learned: usize) -> ScoringModel {
    let arms = scoring
        .actions
        .actions
        .iter()
        .take(learned)
        .enumerate()
        .map(|(i, a)| (a.id.clone(), shifted(&scoring.churn, i + 1)))
        .collect();
    let uplift = UpliftModels::new(
        &scoring.churn,
        &scoring.actions,
        shifted(&scoring.churn, 0),
        arms,
    )
    .expect("same features");
    ScoringModel {
        uplift: Some(uplift),
        ..scoring.clone()
    }
}

fn scoring(c: &mut Criterion) {
    let model = load_bundle(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1"))
        .expect("shipped bundle");
    let scoring = &model.scoring;
    let learned = with_learned_uplift(scoring, scoring.actions.actions.len());
    let six = with_learned_uplift(scoring, 6);
    let profiles = customers();
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(CUSTOMERS as u64));
    let variants = [
        (
            scoring,
            "assess (full Score: churn + 3 reasons, value, tier, arbitration)",
            "assess_block (the same, 256 customers at a time: files, ScoreStream)",
        ),
        (
            &learned,
            "assess, learned uplift for every action (7 action models + control)",
            "assess_block, learned uplift for every action",
        ),
        (
            &six,
            "assess, learned uplift for 6 actions (reactivation_offer on its prior)",
            "assess_block, learned uplift for 6 actions",
        ),
    ];
    for (model, one_at_a_time, in_blocks) in variants {
        group.bench_function(one_at_a_time, |b| {
            b.iter(|| {
                for p in &profiles {
                    black_box(
                        model
                            .assess(black_box(p), AssessOptions::default())
                            .unwrap(),
                    );
                }
            })
        });
        group.bench_function(in_blocks, |b| {
            let mut scratch = BlockScratch::default();
            b.iter(|| {
                for block in profiles.chunks(256) {
                    model.assess_block(
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
        });
    }
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
