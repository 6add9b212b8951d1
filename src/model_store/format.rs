//! The files of a model bundle, `models/<name>/<version>/`, as they are written and read.
//!
//! | file | content |
//! |---|---|
//! | `model.json` | the fitted churn model: intercept, features with transform, standardization and coefficient |
//! | `policy.toml` | value parameters (`[value]`) and the tier policy (`[tiers]`) |
//! | `actions.toml` | the retention action catalog, editable by the business |
//! | `metadata.json` | when and on what data the model was trained, with its validation metrics |
//! | `checksums.sha256` | SHA-256 of every other file, in `sha256sum` format (`sha256sum -c` checks it) |

use crate::domain::churn::FeatureWeight;
use crate::domain::{TierPolicy, ValueParams};

/// The bundle format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// File names inside a bundle.
pub mod files {
    /// Fitted churn model.
    pub const MODEL: &str = "model.json";
    /// Value parameters and tier policy.
    pub const POLICY: &str = "policy.toml";
    /// Retention action catalog.
    pub const ACTIONS: &str = "actions.toml";
    /// Training metadata and metrics.
    pub const METADATA: &str = "metadata.json";
    /// Checksum manifest.
    pub const CHECKSUMS: &str = "checksums.sha256";
    /// Every file the manifest must cover.
    pub const REQUIRED: [&str; 4] = [MODEL, POLICY, ACTIONS, METADATA];
}

/// `model.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Bundle format version.
    pub format_version: u32,
    /// Always `logistic_regression` in this format version.
    pub kind: String,
    /// Horizon of the churn label in months.
    pub horizon_months: u32,
    /// Intercept on the standardized features.
    pub intercept: f64,
    /// Features in model order.
    pub features: Vec<FeatureWeight>,
}

/// `policy.toml`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Value model parameters.
    pub value: ValueParams,
    /// Tier policy.
    pub tiers: TierPolicy,
}

/// `metadata.json`: what a model validator needs to trace the model to its data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    /// RFC 3339 time of training.
    pub trained_at: String,
    /// bankscore version that trained it.
    pub trained_by: String,
    /// Training data.
    pub data: DataSummary,
    /// Training settings.
    pub training: TrainingSummary,
    /// Metrics on the validation split.
    pub metrics: Metrics,
}

/// The data a model was trained on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSummary {
    /// File name of the training CSV.
    pub source: String,
    /// SHA-256 of the training CSV.
    pub sha256: String,
    /// Rows in the file.
    pub rows: u64,
    /// Label column.
    pub label: String,
    /// Share of churners.
    pub churn_rate: f64,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSummary {
    /// L2 strength (linfa `alpha`; scikit-learn `C = 1 / alpha`).
    pub l2: f64,
    /// Share of rows held out for validation.
    pub validation_share: f64,
    /// Seed of the train/validation split.
    pub seed: u64,
    /// Rows used for fitting.
    pub train_rows: u64,
    /// Rows held out.
    pub validation_rows: u64,
}

/// Validation metrics.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Mean log-loss.
    pub log_loss: f64,
    /// Brier score.
    pub brier: f64,
}
