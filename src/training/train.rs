//! `bankscore train`: select features → load → split → standardize → fit (linfa logistic
//! regression with L2) → evaluate → tier cut-offs → golden examples → model card.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::card::model_card;
use super::dataset::{csv_headers, Dataset, NonNumeric};
use super::evaluate;
use super::heartbeat::{heartbeat, EVERY};
use crate::domain::churn::{ChurnModel, FeatureWeight};
use crate::domain::profile::{BuiltinFeature, FeatureSource, Transform, EXTRA_PREFIX};
use crate::domain::{value, TierPolicy, ValueParams};
use crate::model_store::checksum::sha256_hex;
use crate::model_store::format::{
    CoefficientRow, DataSummary, Evaluation, GoldenExample, GoldenFile, ModelFile, ModelMetadata,
    PolicyFile, TrainingSummary, FORMAT_VERSION,
};
use crate::model_store::{write_bundle, BundleContents};

/// The action catalog a bundle gets when training is not given one.
pub const DEFAULT_ACTIONS_TOML: &str = include_str!("default_actions.toml");

/// How the two classes are weighted in the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row counts once.
    None,
    /// The minority class is replicated (seeded) until both classes weigh the same.
    Balanced,
}

/// Training settings. Defaults: label `churned`, id column `customer_id`, every numeric column
/// as a feature, L2 1.0, no class weighting, a seeded 20% validation split (seed 42), 12-month
/// horizon, value parameters d = 0.08, H = 5 years, 150 per referral, sleeping after 180 days,
/// 20 golden examples.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Training CSV.
    pub data: PathBuf,
    /// Validation CSV; `None` holds out a seeded share of `data`.
    pub validation_data: Option<PathBuf>,
    /// Label column (1 = churned).
    pub label: String,
    /// Identifier columns, never features.
    pub id_columns: Vec<String>,
    /// Feature columns; `None` takes every numeric column but the label and ids.
    pub features: Option<Vec<String>>,
    /// L2 strength (scikit-learn `C = 1 / l2`).
    pub l2: f64,
    /// Class weighting.
    pub class_weight: ClassWeight,
    /// Share of rows held out for validation when there is no validation file.
    pub validation_share: f64,
    /// Seed of the split and of class-weight replication.
    pub seed: u64,
    /// Horizon of the label in months.
    pub horizon_months: u32,
    /// Value parameters for the bundle.
    pub value: ValueSettings,
    /// Days of inactivity after which a customer is sleeping.
    pub sleeping_after_days: u32,
    /// Tier policy to use instead of cut-offs computed on the data (needed when the data has no
    /// `annual_margin`, `referrals_12m` and `days_since_last_activity` columns).
    pub tier_policy: Option<TierPolicy>,
    /// Action catalog TOML (defaults to [`DEFAULT_ACTIONS_TOML`]).
    pub actions_toml: String,
    /// Time written into the metadata (RFC 3339).
    pub trained_at: String,
    /// Golden examples to store.
    pub golden_examples: usize,
}

impl TrainSettings {
    /// Settings with the documented defaults for `data`.
    pub fn new(data: PathBuf) -> Self {
        Self {
            data,
            validation_data: None,
            label: "churned".into(),
            id_columns: vec!["customer_id".into()],
            features: None,
            l2: 1.0,
            class_weight: ClassWeight::None,
            validation_share: 0.2,
            seed: 42,
            horizon_months: 12,
            value: ValueSettings {
                discount_rate: 0.08,
                horizon_years: 5,
                value_per_referral: 150.0,
                retained_customer_rate: None,
            },
            sleeping_after_days: 180,
            tier_policy: None,
            actions_toml: DEFAULT_ACTIONS_TOML.to_owned(),
            trained_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            golden_examples: 20,
        }
    }
}

/// Value parameters for a new bundle (`policy.toml` `[value]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueSettings {
    /// Yearly discount rate `d`.
    pub discount_rate: f64,
    /// CLV horizon `H` in years.
    pub horizon_years: u32,
    /// Value of one referral.
    pub value_per_referral: f64,
    /// Yearly retention of a customer who stays; `None`: the training population's, `1 − churn
    /// rate` converted from the label's horizon to a year.
    pub retained_customer_rate: Option<f64>,
}

impl ValueSettings {
    /// The bundle's value parameters, with `population_retention` unless a rate was given.
    pub fn params(&self, population_retention: f64) -> ValueParams {
        ValueParams {
            discount_rate: self.discount_rate,
            horizon_years: self.horizon_years,
            value_per_referral: self.value_per_referral,
            retained_customer_rate: self.retained_customer_rate.unwrap_or(population_retention),
        }
    }
}

/// Yearly retention of the training population: `(1 − churn_rate)^(12 / horizon_months)`.
pub fn population_retention(churn_rate: f64, horizon_months: u32) -> f64 {
    (1.0 - churn_rate).powf(12.0 / f64::from(horizon_months))
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
    /// `evaluation.json`.
    pub evaluation: Evaluation,
    /// `golden.json`.
    pub golden: GoldenFile,
    /// `actions.toml`.
    pub actions_toml: String,
    /// `MODEL_CARD.md`.
    pub model_card: String,
    /// Columns left out because they are not numeric.
    pub ignored_columns: Vec<String>,
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
                evaluation: &self.evaluation,
                golden: &self.golden,
                model_card: &self.model_card,
            },
        )
    }
}

/// A model feature and the CSV column it is read from.
#[cfg(test)]
mod tests {
    use super::looks_like_an_id;

    #[test]
    fn identifier_columns_are_recognised_by_their_words() {
        for id in [
            "customer_id",
            "CustomerId",
            "RowNumber",
            "client-uuid",
            "ID",
            "Unnamed: 0",
            "account id",
        ] {
            assert!(looks_like_an_id(id), "{id}");
        }
        for feature in [
            "Dividend",
            "tenure_months",
            "Age",
            "IsActiveMember",
            "paid_fees",
            "valid",
        ] {
            assert!(!looks_like_an_id(feature), "{feature}");
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Feature {
    /// Name in the bundle: a typed field, or `extra.<column>`.
    pub(super) name: String,
    /// The data file's column.
    pub(super) column: String,
    /// Transform before standardization.
    pub(super) transform: Transform,
}

/// The fit stops when the gradient of the mean log-loss is below this (scikit-learn's default
/// `tol` is 1e-4; this is tighter, and the parity check holds probabilities within ~1e-4).
const GRADIENT_TOLERANCE_PER_ROW: f64 = 1e-5;

/// Columns the value model and tiering need from the population.
const VALUE_COLUMNS: [BuiltinFeature; 3] = [
    BuiltinFeature::AnnualMargin,
    BuiltinFeature::Referrals12m,
    BuiltinFeature::DaysSinceLastActivity,
];

/// Trains a bundle from `settings`.
///
/// # Errors
/// Unreadable or invalid data, a constant column, a single class, too few rows, no tier
/// policy for data without value columns, or a fit that fails.
pub fn train(settings: &TrainSettings) -> anyhow::Result<TrainedBundle> {
    check_settings(settings)?;
    let started = Instant::now();
    let (mut features, has_value_columns) = select_features(settings)?;
    let (data, file_sha256) =
        load_dataset(settings, &settings.data, &mut features, has_value_columns)?;
    let (train_rows, validation) = split(settings, &data, &features)?;
    ensure!(
        train_rows.len() > features.len(),
        "{} training rows is not more than the {} features",
        train_rows.len(),
        features.len()
    );
    tracing::info!(rows = data.rows(), features = features.len(), elapsed = ?started.elapsed(), "data loaded");
    let churn = fit(settings, &data, &train_rows, &features)?;
    tracing::info!(elapsed = ?started.elapsed(), "model fitted");

    // Every row's probability, computed once, exactly as the server computes it.
    let all_probs = probabilities(&churn, &data, &features);
    let train_probs: Vec<f64> = train_rows.iter().map(|&r| all_probs[r]).collect();
    let (v_data, v_rows, v_probs) = match &validation {
        Validation::Rows(rows) => (
            &data,
            rows.clone(),
            rows.iter().map(|&r| all_probs[r]).collect(),
        ),
        Validation::File(d) => (
            d,
            (0..d.rows()).collect(),
            probabilities(&churn, d, &features),
        ),
    };
    let v_labels: Vec<bool> = v_rows.iter().map(|&r| v_data.labels[r]).collect();
    let evaluation = evaluate_model(
        &churn,
        &data,
        &train_rows,
        &train_probs,
        &v_probs,
        &v_labels,
        &features,
    );
    let churners = data.labels.iter().filter(|&&y| y).count();
    let churn_rate = churners as f64 / data.rows() as f64;
    let value = settings
        .value
        .params(population_retention(churn_rate, settings.horizon_months));
    value.validate()?;
    let tiers = match settings.tier_policy {
        Some(policy) => policy,
        None => tier_cut_offs(settings, &value, &data, &all_probs)?,
    };
    let golden = golden_examples(settings, v_data, &v_rows, &v_probs, &features);
    tracing::info!(elapsed = ?started.elapsed(), roc_auc = evaluation.metrics.roc_auc, "model evaluated");

    let metadata = ModelMetadata {
        trained_at: settings.trained_at.clone(),
        trained_by: format!("bankscore {}", env!("CARGO_PKG_VERSION")),
        data: DataSummary {
            source: file_name(&settings.data),
            sha256: file_sha256,
            rows: data.rows() as u64,
            label: settings.label.clone(),
            churn_rate,
        },
        training: TrainingSummary {
            l2: settings.l2,
            class_weight: format!("{:?}", settings.class_weight).to_lowercase(),
            validation: settings
                .validation_data
                .as_deref()
                .map_or_else(|| "split".to_owned(), file_name),
            validation_share: if settings.validation_data.is_some() {
                0.0
            } else {
                settings.validation_share
            },
            seed: settings.seed,
            train_rows: train_rows.len() as u64,
            validation_rows: v_rows.len() as u64,
        },
        metrics: evaluation.metrics,
    };
    let model = ModelFile {
        format_version: FORMAT_VERSION,
        kind: "logistic_regression".into(),
        horizon_months: settings.horizon_months,
        intercept: churn.intercept(),
        features: churn.features().to_vec(),
    };
    let policy = PolicyFile {
        value,
        tiers,
        exploration: None,
        control_group: None,
    };
    let model_card = model_card(&model, &policy, &metadata, &evaluation);
    Ok(TrainedBundle {
        model,
        policy,
        metadata,
        evaluation,
        golden,
        actions_toml: settings.actions_toml.clone(),
        model_card,
        ignored_columns: data
            .ignored
            .iter()
            .map(|i| format!("{} (row {}: `{}`)", i.column, i.row, i.value))
            .collect(),
    })
}

fn check_settings(settings: &TrainSettings) -> anyhow::Result<()> {
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
    ensure!(
        settings.golden_examples > 0,
        "at least one golden example is needed"
    );
    // The retained-customer rate is checked once the population's is known.
    settings.value.params(1.0).validate()?;
    if let Some(p) = &settings.tier_policy {
        p.validate()?;
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// The features, named as the bundle will name them, and whether the value columns exist.
fn select_features(settings: &TrainSettings) -> anyhow::Result<(Vec<Feature>, bool)> {
    let headers = csv_headers(&settings.data)?;
    ensure!(
        headers.contains(&settings.label),
        "the file has no label column `{}` (columns: {})",
        settings.label,
        headers.join(", ")
    );
    let columns: Vec<String> = match &settings.features {
        Some(list) => {
            for c in list {
                ensure!(headers.contains(c), "the file has no feature column `{c}`");
            }
            list.clone()
        }
        None => headers
            .iter()
            .filter(|h| {
                **h != settings.label && !settings.id_columns.contains(h) && !looks_like_an_id(h)
            })
            .cloned()
            .collect(),
    };
    ensure!(
        !columns.is_empty(),
        "no feature columns found in {}",
        settings.data.display()
    );
    let features = columns
        .into_iter()
        .map(|column| {
            let (name, source) = match FeatureSource::parse(&column) {
                Some(source) => (column.clone(), source),
                None if column.starts_with(EXTRA_PREFIX) => {
                    bail!("feature column `{column}` has an empty extra name")
                }
                None => {
                    let name = format!("{EXTRA_PREFIX}{column}");
                    let source = FeatureSource::parse(&name).expect("non-empty extra name");
                    (name, source)
                }
            };
            let transform = match source {
                FeatureSource::Builtin(b) => b.default_transform(),
                FeatureSource::Extra(_) => Transform::Identity,
            };
            Ok(Feature {
                name,
                column,
                transform,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let has_value_columns = VALUE_COLUMNS
        .iter()
        .all(|c| headers.iter().any(|h| h == c.name()));
    ensure!(
        has_value_columns || settings.tier_policy.is_some(),
        "the data lacks the columns the tier cut-offs are computed from (annual_margin, referrals_12m, \
         days_since_last_activity); add them or pass --tier-policy with a [tiers] table"
    );
    Ok((features, has_value_columns))
}

/// Whether a column name reads as an identifier: a word `id`, `ids`, `uuid` or `guid` (words
/// split at `_`, `-`, spaces and camelCase), or a row counter (`RowNumber`, `index`, `Unnamed: 0`).
/// Such columns are never taken as features automatically.
pub fn looks_like_an_id(name: &str) -> bool {
    if [
        "rownumber",
        "row_number",
        "index",
        "unnamed: 0",
        "clientnum",
    ]
    .contains(&name.to_ascii_lowercase().as_str())
    {
        return true;
    }
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == ' ' || c == '.' {
            words.push(std::mem::take(&mut current));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    words.push(current);
    words
        .iter()
        .any(|w| matches!(w.as_str(), "id" | "ids" | "uuid" | "guid"))
}

/// Reads `path`; features detected automatically drop non-numeric columns, chosen ones fail.
fn load_dataset(
    settings: &TrainSettings,
    path: &Path,
    features: &mut Vec<Feature>,
    with_value_columns: bool,
) -> anyhow::Result<(Dataset, String)> {
    let mut columns: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
    if with_value_columns {
        for c in VALUE_COLUMNS {
            if !columns.iter().any(|n| n == c.name()) {
                columns.push(c.name().to_owned());
            }
        }
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = if settings.features.is_some() {
        NonNumeric::Fail
    } else {
        NonNumeric::DropColumn
    };
    let data = Dataset::read_csv(path, &columns, &settings.label, mode)
        .with_context(|| format!("loading {}", path.display()))?;
    for ignored in &data.ignored {
        // The value itself may identify a customer: only at debug level, never in info logs.
        tracing::warn!(column = %ignored.column, row = ignored.row,
            "column left out: not numeric (choose features with --features)");
        tracing::debug!(column = %ignored.column, row = ignored.row, value = %ignored.value, "the non-numeric value");
    }
    features.retain(|f| data.column(&f.column).is_some());
    ensure!(
        !features.is_empty(),
        "no numeric feature columns in {}",
        path.display()
    );
    let churners = data.labels.iter().filter(|&&y| y).count();
    ensure!(
        churners > 0 && churners < data.rows(),
        "label `{}` has a single class ({churners} churners in {} rows)",
        settings.label,
        data.rows()
    );
    Ok((data, sha256_hex(&bytes)))
}

enum Validation {
    /// Held-out rows of the training file.
    Rows(Vec<usize>),
    /// A separate file.
    File(Dataset),
}

/// Training rows, and the validation rows or file.
fn split(
    settings: &TrainSettings,
    data: &Dataset,
    features: &[Feature],
) -> anyhow::Result<(Vec<usize>, Validation)> {
    if let Some(path) = &settings.validation_data {
        let columns: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
        let v = Dataset::read_csv(path, &columns, &settings.label, NonNumeric::Fail)
            .with_context(|| format!("loading validation data {}", path.display()))?;
        return Ok(((0..data.rows()).collect(), Validation::File(v)));
    }
    let mut order: Vec<usize> = (0..data.rows()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(settings.seed));
    let n_validation = ((data.rows() as f64) * settings.validation_share).round() as usize;
    let validation = order.split_off(data.rows() - n_validation);
    ensure!(
        !validation.is_empty(),
        "the validation split is empty; use more rows or a larger --validation-share"
    );
    Ok((order, Validation::Rows(validation)))
}

/// What to do with a feature that is constant on the rows a model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConstantColumn {
    /// Refuse, naming the column (the churn model: the user should leave it out).
    Refuse,
    /// Scale 1: its standardized value is 0 on every row and its coefficient 0 (an uplift
    /// model fitted on an action given only to, say, customers with an open complaint).
    Neutral,
}

/// Mean and population standard deviation of each transformed feature on the training rows.
pub(super) fn scaling(
    data: &Dataset,
    train_rows: &[usize],
    features: &[Feature],
    constant: ConstantColumn,
) -> anyhow::Result<Vec<(f64, f64)>> {
    features
        .iter()
        .map(|f| {
            let column = data.column(&f.column).expect("loaded");
            let n = train_rows.len() as f64;
            let mean = train_rows.iter().map(|&r| f.transform.apply(column[r])).sum::<f64>() / n;
            let var = train_rows
                .iter()
                .map(|&r| (f.transform.apply(column[r]) - mean).powi(2))
                .sum::<f64>()
                / n;
            let scale = var.sqrt();
            if scale > 1e-12 * mean.abs().max(1.0) {
                return Ok((mean, scale));
            }
            ensure!(
                constant == ConstantColumn::Neutral,
                "column `{}` is constant on the training rows (value {mean}); leave it out with --features",
                f.column
            );
            Ok((mean, 1.0))
        })
        .collect()
}

/// The training rows to fit on: each once, or with the minority class replicated.
fn weighted_rows(settings: &TrainSettings, data: &Dataset, train_rows: &[usize]) -> Vec<usize> {
    if settings.class_weight == ClassWeight::None {
        return train_rows.to_vec();
    }
    let positives = train_rows.iter().filter(|&&r| data.labels[r]).count() as f64;
    let negatives = train_rows.len() as f64 - positives;
    let (minority, weight) = if positives <= negatives {
        (true, negatives / positives)
    } else {
        (false, positives / negatives)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x5eed);
    let mut rows = Vec::with_capacity((train_rows.len() as f64 * 2.0) as usize);
    for &r in train_rows {
        if data.labels[r] != minority {
            rows.push(r);
            continue;
        }
        let copies = weight.floor() as usize + usize::from(rng.gen::<f64>() < weight.fract());
        rows.extend(std::iter::repeat_n(r, copies));
    }
    rows
}

fn fit(
    settings: &TrainSettings,
    data: &Dataset,
    train_rows: &[usize],
    features: &[Feature],
) -> anyhow::Result<ChurnModel> {
    let scaling = scaling(data, train_rows, features, ConstantColumn::Refuse)?;
    let rows = weighted_rows(settings, data, train_rows);
    fit_rows(
        data,
        &rows,
        features,
        &scaling,
        settings.l2,
        settings.horizon_months,
    )
}

/// Fits linfa's L2 logistic regression of `data.labels` on `features` over `rows` (a row may
/// repeat), standardized with `scaling`.
pub(super) fn fit_rows(
    data: &Dataset,
    rows: &[usize],
    features: &[Feature],
    scaling: &[(f64, f64)],
    l2: f64,
    horizon_months: u32,
) -> anyhow::Result<ChurnModel> {
    let mut x = Array2::<f64>::zeros((rows.len(), features.len()));
    for (j, (f, &(mean, scale))) in features.iter().zip(scaling).enumerate() {
        let column = data.column(&f.column).expect("loaded");
        for (i, &r) in rows.iter().enumerate() {
            x[[i, j]] = (f.transform.apply(column[r]) - mean) / scale;
        }
    }
    // Integer labels, 1 = churned. linfa-logistic's "positive" class is the *more frequent*
    // one, not the larger label, so the sign is read from the fitted labels, not assumed.
    let y: ndarray::Array1<usize> = rows.iter().map(|&r| usize::from(data.labels[r])).collect();
    let dataset = linfa::Dataset::new(x, y);
    // linfa's fit has no progress hook: a heartbeat says how long it has been running.
    let (n_rows, n_features) = (rows.len(), features.len());
    let report = |elapsed: std::time::Duration| {
        tracing::info!(rows = n_rows, features = n_features, elapsed = ?elapsed, "fitting");
    };
    let fitted = heartbeat(EVERY, report, || {
        LogisticRegression::default()
            .alpha(l2)
            .max_iterations(1_000)
            // linfa's objective is a sum over rows: a tolerance per row keeps the stopping point
            // (mean-loss gradient norm below GRADIENT_TOLERANCE_PER_ROW) independent of the data size.
            .gradient_tolerance(GRADIENT_TOLERANCE_PER_ROW * rows.len() as f64)
            .fit(&dataset)
    })
    .context("fitting the logistic regression")?;
    let sign = if fitted.labels().pos.class == 1 {
        1.0
    } else {
        -1.0
    };
    let weights = features
        .iter()
        .zip(scaling)
        .enumerate()
        .map(|(j, (f, &(mean, scale)))| FeatureWeight {
            name: f.name.clone(),
            label: None,
            transform: f.transform,
            mean,
            scale,
            coefficient: sign * fitted.params()[j],
        })
        .collect();
    Ok(ChurnModel::new(
        sign * fitted.intercept(),
        weights,
        horizon_months,
    )?)
}

/// Every row's churn probability, computed exactly as the server computes it.
pub(super) fn probabilities(model: &ChurnModel, data: &Dataset, features: &[Feature]) -> Vec<f64> {
    let columns: Vec<&[f64]> = features
        .iter()
        .map(|f| data.column(&f.column).expect("loaded"))
        .collect();
    let mut raw = vec![0.0; columns.len()];
    (0..data.rows())
        .map(|r| {
            for (slot, column) in raw.iter_mut().zip(&columns) {
                *slot = column[r];
            }
            model.probability_from_raw(&raw)
        })
        .collect()
}

fn evaluate_model(
    churn: &ChurnModel,
    data: &Dataset,
    train_rows: &[usize],
    train_probs: &[f64],
    v_probs: &[f64],
    v_labels: &[bool],
    features: &[Feature],
) -> Evaluation {
    let mut coefficients: Vec<CoefficientRow> = churn
        .features()
        .iter()
        .map(|f| CoefficientRow {
            feature: f.name.clone(),
            transform: f.transform,
            standardized: f.coefficient,
            raw: f.coefficient / f.scale,
            odds_ratio_per_sd: f.coefficient.exp(),
        })
        .collect();
    coefficients.sort_by(|a, b| b.standardized.abs().total_cmp(&a.standardized.abs()));
    let feature_deciles = features
        .iter()
        .map(|f| {
            let column = data.column(&f.column).expect("loaded");
            let values: Vec<f64> = train_rows.iter().map(|&r| column[r]).collect();
            (f.name.clone(), evaluate::decile_edges(&values))
        })
        .collect();
    Evaluation {
        metrics: evaluate::metrics(v_probs, v_labels),
        validation_rows: v_labels.len() as u64,
        validation_churners: v_labels.iter().filter(|&&y| y).count() as u64,
        calibration: evaluate::calibration(v_probs, v_labels, 10),
        lift: evaluate::lift(v_probs, v_labels, &[0.1, 0.2]),
        coefficients,
        feature_deciles,
        score_deciles: evaluate::decile_edges(train_probs),
    }
}

/// ABC cut-offs on the whole population of the training file (sleeping customers excluded):
/// A holds the customers making the first 80% of positive total value, B the next 15%; key
/// accounts are the top 1% of customers.
fn tier_cut_offs(
    settings: &TrainSettings,
    v: &ValueParams,
    data: &Dataset,
    probabilities: &[f64],
) -> anyhow::Result<TierPolicy> {
    let column = |f: BuiltinFeature| data.column(f.name()).expect("loaded");
    let (margin, referrals, inactive) = (
        column(BuiltinFeature::AnnualMargin),
        column(BuiltinFeature::Referrals12m),
        column(BuiltinFeature::DaysSinceLastActivity),
    );
    let mut totals: Vec<f64> = (0..data.rows())
        .filter(|&r| inactive[r] < f64::from(settings.sleeping_after_days))
        .map(|r| {
            let p = probabilities[r];
            let potential =
                value::lifetime_value(margin[r], 1.0 - p, v.discount_rate, v.horizon_years);
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
    let policy = TierPolicy {
        a_min_value,
        b_min_value,
        key_account_min_value: totals[totals.len() / 100].max(a_min_value),
        sleeping_after_days: settings.sleeping_after_days,
    };
    policy.validate()?;
    Ok(policy)
}

/// The first validation rows with the probabilities the bundle must reproduce.
fn golden_examples(
    settings: &TrainSettings,
    data: &Dataset,
    rows: &[usize],
    probabilities: &[f64],
    features: &[Feature],
) -> GoldenFile {
    GoldenFile {
        tolerance: 1e-12,
        examples: rows
            .iter()
            .zip(probabilities)
            .take(settings.golden_examples)
            .map(|(&r, &p)| GoldenExample {
                features: features
                    .iter()
                    .map(|f| (f.name.clone(), data.column(&f.column).expect("loaded")[r]))
                    .collect(),
                churn_probability: p,
            })
            .collect(),
    }
}
