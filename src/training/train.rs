//! `bankscore train`: select features → load → split → standardize → fit (linfa logistic
//! regression with L2) → evaluate → tier cut-offs → golden examples → model card.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::card::model_card;
use super::TrainError;
use crate::domain::profile::{BuiltinFeature, Transform};
use crate::domain::{TierPolicy, ValueParams};
use crate::model_store::format::{
    DataSummary, Evaluation, GoldenFile, ModelFile, ModelMetadata, PolicyFile, TrainingSummary,
    FORMAT_VERSION,
};
use crate::model_store::{write_bundle, BundleContents};

mod data;
mod fit;
mod newton;

use data::{file_name, load_dataset, select_features, split, Validation};
pub(crate) use data::{on_every_core, scaling, weighted_rows, ConstantColumn};
use fit::{evaluate_model, fit, golden_examples, tier_cut_offs};
pub(crate) use fit::{fit_rows, probabilities};

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
    /// Seconds the fit took: standardizing the training rows and linfa's L-BFGS.
    pub fit_seconds: f64,
}

impl TrainedBundle {
    /// Writes the bundle to `dir` (which must not exist).
    ///
    /// # Errors
    /// See [`write_bundle`].
    pub fn write(&self, dir: &Path) -> Result<(), crate::model_store::WriteError> {
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
pub fn train(settings: &TrainSettings) -> Result<TrainedBundle, TrainError> {
    check_settings(settings)?;
    let started = Instant::now();
    let (mut features, has_value_columns) = select_features(settings)?;
    let (data, file_sha256) =
        load_dataset(settings, &settings.data, &mut features, has_value_columns)?;
    let (train_rows, validation) = split(settings, &data, &features)?;
    if train_rows.len() <= features.len() {
        return Err(TrainError::TooFewRows {
            rows: train_rows.len(),
            features: features.len(),
        });
    }
    tracing::info!(rows = data.rows(), features = features.len(), elapsed = ?started.elapsed(), "data loaded");
    let fit_started = Instant::now();
    let churn = fit(settings, &data, &train_rows, &features)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    tracing::info!(elapsed = ?started.elapsed(), fit_seconds, "model fitted");

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
        fit_seconds,
    })
}

fn check_settings(settings: &TrainSettings) -> Result<(), TrainError> {
    check_l2(settings.l2)?;
    check_validation_share(settings.validation_share)?;
    if settings.golden_examples == 0 {
        return Err(TrainError::out_of_range(
            "--golden-examples",
            "at least 1",
            0,
        ));
    }
    // The retained-customer rate is checked once the population's is known.
    settings.value.params(1.0).validate()?;
    if let Some(p) = &settings.tier_policy {
        p.validate()?;
    }
    Ok(())
}

/// The L2 penalty linfa is given: finite and positive.
pub(crate) fn check_l2(l2: f64) -> Result<(), TrainError> {
    if l2.is_finite() && l2 > 0.0 {
        return Ok(());
    }
    Err(TrainError::out_of_range("--l2", "a finite number > 0", l2))
}

/// The share of rows held out for evaluation: in (0, 0.9).
pub(crate) fn check_validation_share(share: f64) -> Result<(), TrainError> {
    if share > 0.0 && share < 0.9 {
        return Ok(());
    }
    Err(TrainError::out_of_range(
        "--validation-share",
        "in (0, 0.9)",
        share,
    ))
}

#[cfg(test)]
mod tests {
    use super::data::looks_like_an_id;

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
