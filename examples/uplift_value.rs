//! What learned uplift is worth, on a synthetic campaign whose true uplift is known: learns
//! uplift from a campaign history (`train_uplift` on the shipped bundle), then assesses a fresh
//! population of another seed and prints, as Markdown for BENCHMARKS.md:
//! Spearman of learned against true τ, Qini/AUUC against random rankings, the segment rm_call
//! drives away, and the true value three policies retain at the same budgets.
//!
//! ```sh
//! cargo run --release --example uplift_value -- --history-rows 200000 --customers 100000 \
//!     --budget 100000,250000,1000000
//! ```

use std::path::Path;

use anyhow::Context;
use clap::Parser;

use bankscore::model_store::load_bundle;
use bankscore::training::campaign_history::{
    write_campaign_history_csv, CAMPAIGN_ACTIONS, DEFAULT_CONTROL_SHARE,
};
use bankscore::training::known_uplift::{self, meant_for, Segment};
use bankscore::training::uplift::{train_uplift, UpliftSettings};

#[derive(Parser)]
struct Args {
    /// Campaign history rows to learn from.
    #[arg(long, default_value_t = 200_000)]
    history_rows: u64,
    /// Seed of the history.
    #[arg(long, default_value_t = 7)]
    history_seed: u64,
    /// Customers of the fresh campaign everything is measured on.
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// Seed of the fresh campaign (another than the history's).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Campaign budgets, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,250000,1000000")]
    budget: Vec<f64>,
    /// Random rankings per Qini permutation test.
    #[arg(long, default_value_t = 200)]
    shuffles: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.history_seed != args.seed,
        "measure on another seed than the history's"
    );
    let tmp = tempfile::tempdir()?;
    let history = tmp.path().join("history.csv");
    write_campaign_history_csv(
        std::fs::File::create(&history)?,
        args.history_rows,
        args.history_seed,
        DEFAULT_CONTROL_SHARE,
    )?;
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1");
    let out = tmp.path().join("models/churn/v2");
    let mut settings = UpliftSettings::new(base, history, out.clone());
    settings.trained_at = "2026-01-01T00:00:00Z".into();
    train_uplift(&settings).context("learning uplift")?;
    let learned = load_bundle(&out)?.scoring;

    let customers = known_uplift::campaign(args.seed, args.customers);
    let assessed = known_uplift::assess(&learned, &customers)?;
    println!(
        "history: {} rows (seed {}); fresh campaign: {} customers (seed {})\n",
        args.history_rows, args.history_seed, args.customers, args.seed
    );

    println!("### Ranking: Spearman of learned against true τ\n");
    println!("| action | everyone | segment | customers | within segment |");
    println!("|---|---:|---|---:|---:|");
    let show = |r: Option<f64>| r.map_or_else(|| "–".to_owned(), |r| format!("{r:.3}"));
    for r in known_uplift::rank_agreement(&customers, &assessed) {
        println!(
            "| {} | {} | {} | {} | {} |",
            CAMPAIGN_ACTIONS[r.action],
            show(r.everyone),
            r.segment,
            r.segment_customers,
            show(r.within_segment)
        );
    }

    println!(
        "\n### Qini against {} random rankings of the same rows (fresh campaign's treated and control customers)\n",
        args.shuffles
    );
    println!("| action | rows | treated / control | Qini | AUUC | random p99 | random max | p |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (a, id) in CAMPAIGN_ACTIONS.iter().enumerate() {
        let segment = meant_for(a);
        let everyone = Segment {
            name: "all",
            contains: |_| true,
            only_offered_here: false,
        };
        let mut sets = vec![everyone];
        if segment.only_offered_here {
            sets.push(segment);
        }
        for rows in sets {
            let q = known_uplift::qini_against_random(
                &customers,
                &assessed.learned_tau,
                a,
                rows.contains,
                args.shuffles,
                a as u64,
            )?;
            println!(
                "| {id} | {} | {} / {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} |",
                rows.name,
                q.treated_rows,
                q.control_rows,
                q.qini,
                q.auuc,
                q.random_p99,
                q.random_max,
                q.p_value
            );
        }
    }

    let h = known_uplift::rm_call_under_35(&customers, &assessed);
    println!("\n### rm_call and the customers under 35 it drives away\n");
    println!("| | customers |\n|---|---:|");
    println!("| under 35 | {} |", h.customers);
    println!(
        "| learned τ of rm_call < 0 | {} ({:.1}%) |",
        h.learned_negative,
        100.0 * h.learned_negative as f64 / h.customers as f64
    );
    println!(
        "| rm_call recommended, learned uplift | {} |",
        h.learned_recommended
    );
    println!(
        "| rm_call recommended, catalog priors | {} (true value {:.0}) |",
        h.prior_recommended, h.prior_true_value
    );

    println!("\n### True value retained at the same budget\n");
    println!("Σ over targeted customers of τ_true × value at risk − cost.\n");
    println!("| budget | policy | targeted | spent | expected EV | true value | (a) − this |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for &budget in &args.budget {
        let plans = known_uplift::compare_policies(&customers, &assessed, budget);
        let best = plans[0].true_value;
        for p in plans {
            let margin = if p.policy == known_uplift::Policy::LearnedUplift {
                String::new()
            } else {
                format!(
                    "{:+.0} ({:+.1}%)",
                    best - p.true_value,
                    100.0 * (best - p.true_value) / p.true_value.abs()
                )
            };
            println!(
                "| {budget:.0} | {} | {} | {:.0} | {:.0} | {:.0} | {margin} |",
                p.policy.describe(),
                p.targeted,
                p.cost,
                p.expected_value,
                p.true_value
            );
        }
    }
    Ok(())
}
