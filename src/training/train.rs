//! `bankscore train`: load a labelled CSV → split → standardize → fit (linfa logistic regression
//! with L2) → evaluate → compute tier cut-offs on the population → write a bundle.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dataset::{csv_headers, Dataset};
use super::evaluate;
use crate::domain::churn::{ChurnModel, FeatureWeight};
use crate::domain::profile::{BuiltinFeature, FeatureSource, Transform};
use crate::domain::{value, TierPolicy, ValueParams};
use crate::model_store::checksum::sha256_hex;
use crate::model_store::format::{
    DataSummary, ModelFile, ModelMetadata, PolicyFile, TrainingSummary, FORMAT_VERSION,
};
use crate::model_store::{write_bundle, BundleContents};

/// The action catalog a bundle gets when training is not given one.
pub const DEFAULT_ACTIONS_TOML: &str = include_str!("default_actions.toml");

/// Training settings. Defaults: label `churned`, every typed feature in the file, L2 1.0,
/// 20% validation, seed 42, 12-month horizon, value parameters d = 0.08, H = 5 years,
/// 150 per referral, sleeping after 180 days.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Training CSV.
    pub data: PathBuf,
    /// Label column (1 = churned).
    pub label: String,
    /// Features; `None` takes every typed-field and `extra.*` column in the file.
    pub features: Option<Vec<String>>,
    /// L2 strength (scikit-learn `C = 1 / l2`).
    pub l2: f64,
    /// Share of rows held out for validation.
    pub validation_share: f64,
    /// Seed of the split.
    pub seed: u64,
    /// Horizon of the label in months.
    pub horizon_months: u32,
    /// Value parameters for the bundle.
    pub value: ValueParams,
    /// Days of inactivity after which a customer is sleeping.
    pub sleeping_after_days: u32,
    /// Action catalog TOML (defaults to [`DEFAULT_ACTIONS_TOML`]).
    pub actions_toml: String,
    /// Time written into the metadata (RFC 3339).
    pub trained_at: String,
}

impl TrainSettings {
    /// Settings with the documented defaults for `data`.
    pub fn new(data: PathBuf) -> Self {
        Self {
            data,
            label: "churned".into(),
            features: None,
            l2: 1.0,
            validation_share: 0.2,
            seed: 42,
            horizon_months: 12,
            value: ValueParams {
                discount_rate: 0.08,
                horizon_years: 5,
                value_per_referral: 150.0,
            },
            sleeping_after_days: 180,
            actions_toml: DEFAULT_ACTIONS_TOML.to_owned(),
            trained_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }
}

/// A fitted bundle, not yet written.
#[derive(Debug, Clone)]
pub struct TrainedBundle {
    /// `model.json`.
    pub model: ModelFile,
    /// `policy.toml`.
    pub policy: PolicyFile,
    /// `metadata.json`.
    pub metadata: ModelMetadata,
    /// `actions.toml`.
    pub actions_toml: String,
}

impl TrainedBundle {
    /// Writes the bundle to `dir` (which must not exist).
    ///
    /// # Errors
    /// See [`write_bundle`].
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        write_bundle(
            dir,
            &BundleContents {
                model: &self.model,
                policy: &self.policy,
                actions_toml: &self.actions_toml,
                metadata: &self.metadata,
            },
        )
    }
}

/// Columns the value model and tiering need from the population.
const VALUE_COLUMNS: [BuiltinFeature; 3] = [
    BuiltinFeature::AnnualMargin,
    BuiltinFeature::Referrals12m,
    BuiltinFeature::DaysSinceLastActivity,
];

/// Trains a bundle from `settings`.
///
/// # Errors
/// Unreadable or invalid data, an unknown feature, a constant column, a single class, too few
/// rows, or a fit that fails.
pub fn train(settings: &TrainSettings) -> anyhow::Result<TrainedBundle> {
    ensure!(
        settings.l2.is_finite() && settings.l2 > 0.0,
        "--l2 must be a finite number > 0, got {}",
        settings.l2
    );
    ensure!(
        settings.validation_share > 0.0 && settings.validation_share < 0.9,
        "--validation-share must be in (0, 0.9), got {}",
        settings.validation_share
    );
    settings.value.validate()?;
    let features = select_features(settings)?;
    let (data, file_sha256) = load_dataset(settings, &features)?;
    let (train_rows, validation_rows) =
        split(data.rows(), settings.validation_share, settings.seed);
    ensure!(
        train_rows.len() > features.len(),
        "{} training rows is not more than the {} features",
        train_rows.len(),
        features.len()
    );
    let (x, scaling) = standardize(&data, &features, &train_rows)?;
    let churn = fit(settings, &data, &x, &train_rows, &features, &scaling)?;
    let probabilities: Vec<f64> = (0..data.rows())
        .map(|r| churn_probability(&churn, &x, r))
        .collect();
    let validation_probs: Vec<f64> = validation_rows.iter().map(|&r| probabilities[r]).collect();
    let validation_labels: Vec<bool> = validation_rows.iter().map(|&r| data.labels[r]).collect();
    let metrics = evaluate::metrics(&validation_probs, &validation_labels);
    let tiers = tier_cut_offs(settings, &data, &probabilities)?;

    let churners = data.labels.iter().filter(|&&y| y).count();
    Ok(TrainedBundle {
        model: ModelFile {
            format_version: FORMAT_VERSION,
            kind: "logistic_regression".into(),
            horizon_months: settings.horizon_months,
            intercept: churn.intercept(),
            features: churn.features().to_vec(),
        },
        policy: PolicyFile {
            value: settings.value,
            tiers,
        },
        metadata: ModelMetadata {
            trained_at: settings.trained_at.clone(),
            trained_by: format!("bankscore {}", env!("CARGO_PKG_VERSION")),
            data: DataSummary {
                source: settings
                    .data
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                sha256: file_sha256,
                rows: data.rows() as u64,
                label: settings.label.clone(),
                churn_rate: churners as f64 / data.rows() as f64,
            },
            training: TrainingSummary {
                l2: settings.l2,
                validation_share: settings.validation_share,
                seed: settings.seed,
                train_rows: train_rows.len() as u64,
                validation_rows: validation_rows.len() as u64,
            },
            metrics,
        },
        actions_toml: settings.actions_toml.clone(),
    })
}

/// The feature list: given, or every typed-field and `extra.*` column of the file.
fn select_features(settings: &TrainSettings) -> anyhow::Result<Vec<(String, FeatureSource)>> {
    let names = match &settings.features {
        Some(list) => list.clone(),
        None => csv_headers(&settings.data)?
            .into_iter()
            .filter(|h| FeatureSource::parse(h).is_some())
            .collect(),
    };
    ensure!(
        !names.is_empty(),
        "no feature columns found in {}",
        settings.data.display()
    );
    names
        .into_iter()
        .map(|n| match FeatureSource::parse(&n) {
            Some(source) => Ok((n, source)),
            None => bail!("feature `{n}` is neither a CustomerProfile field nor `extra.<key>`"),
        })
        .collect()
}

fn load_dataset(
    settings: &TrainSettings,
    features: &[(String, FeatureSource)],
) -> anyhow::Result<(Dataset, String)> {
    let mut columns: Vec<String> = features.iter().map(|(n, _)| n.clone()).collect();
    for c in VALUE_COLUMNS {
        if !columns.iter().any(|n| n == c.name()) {
            columns.push(c.name().to_owned());
        }
    }
    let bytes = std::fs::read(&settings.data)
        .with_context(|| format!("reading {}", settings.data.display()))?;
    let data = Dataset::read_csv(&settings.data, &columns, &settings.label)
        .with_context(|| format!("loading {}", settings.data.display()))?;
    let churners = data.labels.iter().filter(|&&y| y).count();
    ensure!(
        churners > 0 && churners < data.rows(),
        "label `{}` has a single class ({churners} churners in {} rows)",
        settings.label,
        data.rows()
    );
    Ok((data, sha256_hex(&bytes)))
}

/// A seeded shuffle of row indices into (train, validation).
fn split(rows: usize, validation_share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_validation = ((rows as f64) * validation_share).round() as usize;
    let validation = order.split_off(rows - n_validation);
    (order, validation)
}

struct Scaling {
    transform: Vec<Transform>,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

/// Transformed, standardized features of every row, with mean and scale from the training rows.
fn standardize(
    data: &Dataset,
    features: &[(String, FeatureSource)],
    train_rows: &[usize],
) -> anyhow::Result<(Array2<f64>, Scaling)> {
    let mut x = Array2::<f64>::zeros((data.rows(), features.len()));
    let mut scaling = Scaling {
        transform: Vec::new(),
        mean: Vec::new(),
        scale: Vec::new(),
    };
    for (j, (name, source)) in features.iter().enumerate() {
        let transform = match source {
            FeatureSource::Builtin(b) => b.default_transform(),
            FeatureSource::Extra(_) => Transform::Identity,
        };
        let column = data.column(name).expect("loaded above");
        for (r, v) in column.iter().enumerate() {
            x[[r, j]] = transform.apply(*v);
        }
        let n = train_rows.len() as f64;
        let mean = train_rows.iter().map(|&r| x[[r, j]]).sum::<f64>() / n;
        let var = train_rows
            .iter()
            .map(|&r| (x[[r, j]] - mean).powi(2))
            .sum::<f64>()
            / n;
        let scale = var.sqrt();
        ensure!(
            scale > 1e-12 * mean.abs().max(1.0),
            "column `{name}` is constant on the training rows (value {mean}); drop it with --features"
        );
        x.column_mut(j).mapv_inplace(|v| (v - mean) / scale);
        scaling.transform.push(transform);
        scaling.mean.push(mean);
        scaling.scale.push(scale);
    }
    Ok((x, scaling))
}

fn fit(
    settings: &TrainSettings,
    data: &Dataset,
    x: &Array2<f64>,
    train_rows: &[usize],
    features: &[(String, FeatureSource)],
    scaling: &Scaling,
) -> anyhow::Result<ChurnModel> {
    let x_train = x.select(ndarray::Axis(0), train_rows);
    // Integer labels: 1 = churned. linfa-logistic's "positive" class is the *more frequent*
    // one, not the larger label, so the sign is checked below rather than assumed.
    let y_train: ndarray::Array1<usize> = train_rows
        .iter()
        .map(|&r| usize::from(data.labels[r]))
        .collect();
    let dataset = linfa::Dataset::new(x_train, y_train);
    let fitted = LogisticRegression::default()
        .alpha(settings.l2)
        .max_iterations(1_000)
        .gradient_tolerance(1e-6)
        .fit(&dataset)
        .context("fitting the logistic regression")?;
    let sign = if fitted.labels().pos.class == 1 {
        1.0
    } else {
        -1.0
    };
    let weights = features
        .iter()
        .enumerate()
        .map(|(j, (name, _))| FeatureWeight {
            name: name.clone(),
            label: None,
            transform: scaling.transform[j],
            mean: scaling.mean[j],
            scale: scaling.scale[j],
            coefficient: sign * fitted.params()[j],
        })
        .collect();
    Ok(ChurnModel::new(
        sign * fitted.intercept(),
        weights,
        settings.horizon_months,
    )?)
}

fn churn_probability(model: &ChurnModel, x: &Array2<f64>, row: usize) -> f64 {
    let z: f64 = model.intercept()
        + model
            .features()
            .iter()
            .zip(x.row(row))
            .map(|(f, v)| f.coefficient * v)
            .sum::<f64>();
    crate::domain::churn::sigmoid(z)
}

/// ABC cut-offs on the training population (sleeping customers excluded): A holds the customers
/// making the first 80% of positive total value, B the next 15%; key accounts are the top 1%
/// of customers.
fn tier_cut_offs(
    settings: &TrainSettings,
    data: &Dataset,
    probabilities: &[f64],
) -> anyhow::Result<TierPolicy> {
    let column = |f: BuiltinFeature| data.column(f.name()).expect("loaded above");
    let (margin, referrals, inactive) = (
        column(BuiltinFeature::AnnualMargin),
        column(BuiltinFeature::Referrals12m),
        column(BuiltinFeature::DaysSinceLastActivity),
    );
    let v = &settings.value;
    let mut totals: Vec<f64> = (0..data.rows())
        .filter(|&r| inactive[r] < f64::from(settings.sleeping_after_days))
        .map(|r| {
            let potential = value::lifetime_value(
                margin[r],
                1.0 - probabilities[r],
                v.discount_rate,
                v.horizon_years,
            );
            margin[r] + potential + referrals[r] * v.value_per_referral
        })
        .collect();
    ensure!(
        totals.len() >= 100,
        "too few active customers ({}) to compute tier cut-offs",
        totals.len()
    );
    totals.sort_by(|a, b| b.total_cmp(a));
    let positive_total: f64 = totals.iter().filter(|&&t| t > 0.0).sum();
    ensure!(
        positive_total > 0.0,
        "no customer has a positive total value"
    );
    let at_share = |share: f64| {
        let mut acc = 0.0;
        for &t in &totals {
            acc += t.max(0.0);
            if acc >= share * positive_total {
                return t;
            }
        }
        *totals.last().expect("non-empty")
    };
    let a_min_value = at_share(0.80);
    let mut b_min_value = at_share(0.95);
    if b_min_value >= a_min_value {
        b_min_value = a_min_value - 1e-6 * a_min_value.abs().max(1.0);
    }
    let key_account_min_value = totals[totals.len() / 100].max(a_min_value);
    let policy = TierPolicy {
        a_min_value,
        b_min_value,
        key_account_min_value,
        sleeping_after_days: settings.sleeping_after_days,
    };
    policy.validate()?;
    Ok(policy)
}
