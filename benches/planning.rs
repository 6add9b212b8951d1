//! Campaign planning speed: 10 million customers with up to 3 eligible actions each, a budget
//! covering about 5% of them, one capacity-limited action and a 10% control group.
//!
//! `cargo bench --bench planning`

use std::hint::black_box;

use bankscore::batch::plan::{greedy, in_control_group, naive, Candidates, Choice, Limits};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};

const CUSTOMERS: usize = 10_000_000;

fn candidates() -> Candidates {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut c = Candidates::new();
    for a in ["rm_call", "fee_waiver", "autopay_setup"] {
        c.action_index(a).unwrap();
    }
    for i in 0..CUSTOMERS {
        let k = rng.gen_range(0..=3);
        let options: Vec<Choice> = (0..k)
            .map(|a| Choice {
                action: a,
                expected_value: rng.gen_range(0.0..200.0),
                cost: [45.0, 30.0, 8.0][a as usize],
            })
            .collect();
        let control = in_control_group(&format!("C{i:09}"), "bench", 0.1);
        c.push(rng.gen(), control, options);
    }
    c
}

fn planning(c: &mut Criterion) {
    let cands = candidates();
    let limits = Limits {
        budget: 15_000_000.0,
        capacity: vec![Some(100_000), None, None],
    };
    let mut group = c.benchmark_group("plan 10M customers");
    group.sample_size(10);
    group.bench_function("greedy (both orders + upgrades)", |b| {
        b.iter(|| black_box(greedy(&cands, &limits)))
    });
    group.bench_function("naive (highest churn first)", |b| {
        b.iter(|| black_box(naive(&cands, &limits)))
    });
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
