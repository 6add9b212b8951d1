//! `bankscore train`: fit a churn model on a labelled file and write a model bundle.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use bankscore::model_store::load_bundle;
use bankscore::training::{self, ClassWeight, TrainReport, TrainSettings};

#[derive(Args)]
pub struct TrainArgs {
    /// Labelled training CSV.
    #[arg(long)]
    data: PathBuf,
    /// New bundle directory, models/<name>/<version>.
    #[arg(long)]
    out: PathBuf,
    /// Validation CSV with the same columns; default: hold out --validation-share of --data.
    #[arg(long)]
    validation_data: Option<PathBuf>,
    /// Label column (1/true = churned).
    #[arg(long, default_value = "churned")]
    label: String,
    /// Comma-separated identifier columns, never used as features.
    #[arg(long, value_delimiter = ',', default_value = "customer_id")]
    id_columns: Vec<String>,
    /// Comma-separated feature columns; default: every numeric column but the label and ids
    /// (text columns are left out and listed). Columns that are not CustomerProfile fields
    /// become extra features `extra.<column>`.
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// L2 regularization strength (scikit-learn C = 1 / l2).
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Class weighting: none, or balanced (churners replicated until both classes weigh the same).
    #[arg(
        long,
        default_value = "none",
        value_parser = super::named::<ClassWeight>(&["none", "balanced"])
    )]
    class_weight: ClassWeight,
    /// TOML file with a [tiers] table (a_min_value, b_min_value, key_account_min_value,
    /// sleeping_after_days) to use instead of cut-offs computed on the data.
    #[arg(long)]
    tier_policy: Option<PathBuf>,
    /// Golden examples stored in the bundle.
    #[arg(long, default_value_t = 20)]
    golden_examples: usize,
    /// Share of rows held out for validation.
    #[arg(long, default_value_t = 0.2)]
    validation_share: f64,
    /// Seed of the train/validation split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Action catalog TOML for the bundle; default: the built-in catalog.
    #[arg(long)]
    actions: Option<PathBuf>,
    /// Yearly discount rate for customer lifetime value.
    #[arg(long, default_value_t = 0.08)]
    discount_rate: f64,
    /// CLV horizon in years.
    #[arg(long, default_value_t = 5)]
    clv_horizon_years: u32,
    /// Value of one referral.
    #[arg(long, default_value_t = 150.0)]
    value_per_referral: f64,
    /// Yearly retention of a customer who stays, for value at risk (0 < r <= 1); default: the
    /// training population's, 1 − its churn rate per year.
    #[arg(long)]
    retained_customer_rate: Option<f64>,
    /// Days without own activity after which a customer is sleeping.
    #[arg(long, default_value_t = 180)]
    sleeping_after_days: u32,
    #[command(flatten)]
    output: super::JsonFlag,
}

impl TrainArgs {
    fn settings(self) -> anyhow::Result<(TrainSettings, PathBuf, bool)> {
        let mut s = TrainSettings::new(self.data);
        s.validation_data = self.validation_data;
        s.label = self.label;
        s.id_columns = self.id_columns;
        s.features = self.features;
        s.l2 = self.l2;
        s.class_weight = self.class_weight;
        s.golden_examples = self.golden_examples;
        if let Some(path) = &self.tier_policy {
            #[derive(serde::Deserialize)]
            struct TiersOnly {
                tiers: bankscore::domain::TierPolicy,
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let parsed: TiersOnly =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            s.tier_policy = Some(parsed.tiers);
        }
        s.validation_share = self.validation_share;
        s.seed = self.seed;
        s.value = training::ValueSettings {
            discount_rate: self.discount_rate,
            horizon_years: self.clv_horizon_years,
            value_per_referral: self.value_per_referral,
            retained_customer_rate: self.retained_customer_rate,
        };
        s.sleeping_after_days = self.sleeping_after_days;
        if let Some(path) = self.actions {
            s.actions_toml = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        if let Some(at) = super::source_date()? {
            s.trained_at = at;
        }
        Ok((s, self.out, self.output.json))
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (settings, out, json) = args.settings()?;
    let started = std::time::Instant::now();
    let bundle = training::train(&settings)?;
    bundle.write(&out)?;
    // Read the bundle back exactly as the server will, so a bad bundle never leaves this command.
    let loaded = load_bundle(&out)?;
    let report = TrainReport {
        out: &out,
        seconds: started.elapsed().as_secs_f64(),
        bundle: &bundle,
        golden_examples: loaded.golden.examples.len(),
        checksum: &loaded.id.checksum,
    };
    super::print_report(&report, json)
}
