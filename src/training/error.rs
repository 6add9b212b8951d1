//! Why `bankscore train` or `bankscore train-uplift` stops: one typed error, each variant holding
//! the setting, file, column, row or action it is about, so a caller can tell the cases apart and
//! the message names what to fix.

use std::path::PathBuf;

use crate::batch::FileError;
use crate::domain::churn::ChurnModelError;
use crate::domain::tier::TierPolicyError;
use crate::domain::value::ValueParamsError;
use crate::model_store::{BundleError, WriteError};
use crate::training::dataset::DatasetError;
use crate::training::uplift_eval::UpliftEvalError;

/// Why a training run stops. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    // --- Settings, checked before any data is read.
    /// A numeric setting outside its range.
    #[error("{flag} must be {rule}, got {value}")]
    OutOfRange {
        /// The flag, e.g. `--l2`.
        flag: &'static str,
        /// What it must be, e.g. `a finite number > 0`.
        rule: &'static str,
        /// The value given.
        value: String,
    },
    /// The value settings are invalid.
    #[error(transparent)]
    Value(#[from] ValueParamsError),
    /// The tier policy given is invalid.
    #[error(transparent)]
    TierPolicy(#[from] TierPolicyError),
    /// `--validation-history` names the training history itself.
    #[error("--validation-history is --history ({0}): evaluate on other customers")]
    ValidationIsHistory(PathBuf),
    /// The new bundle version already exists.
    #[error("{0} already exists; choose a new version")]
    OutExists(PathBuf),
    /// `--out` is not a `<name>/<version>` directory.
    #[error(
        "--out {0}: a bundle is a directory <models dir>/<name>/<version>, e.g. models/churn/v2"
    )]
    OutNotAVersion(PathBuf),

    // --- Reading the data.
    /// A file cannot be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file cannot be read or parsed.
    #[error("reading {path}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// A Parquet file cannot be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The data file has a problem (a missing column, a bad value with its row, no rows).
    #[error("loading {role} {path}")]
    Data {
        /// Which file: `training data`, `validation data` or `campaign history`.
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: DatasetError,
    },
    /// The header of the training file cannot be read.
    #[error(transparent)]
    Header(#[from] DatasetError),
    /// The training file lacks the label column.
    #[error("the file has no label column `{label}` (columns: {columns})")]
    NoLabelColumn {
        /// The label asked for.
        label: String,
        /// The file's columns, comma-separated.
        columns: String,
    },
    /// A feature chosen with `--features` is not in the file.
    #[error("the file has no feature column `{0}`")]
    NoFeatureColumn(String),
    /// A feature column named `extra.` with nothing after it.
    #[error("feature column `{0}` has an empty extra name")]
    EmptyExtraName(String),
    /// The file has no column that could be a feature.
    #[error("no feature columns found in {0}")]
    NoFeatureColumns(PathBuf),
    /// Every candidate feature column held a non-number.
    #[error("no numeric feature columns in {0}")]
    NoNumericFeatures(PathBuf),
    /// Tier cut-offs need value columns the data lacks, and no tier policy was given.
    #[error(
        "the data lacks the columns the tier cut-offs are computed from (annual_margin, \
         referrals_12m, days_since_last_activity); add them or pass --tier-policy with a [tiers] table"
    )]
    NoValueColumns,
    /// The label has only churners or only stayers.
    #[error("label `{label}` has a single class ({churners} churners in {rows} rows)")]
    SingleClass {
        /// The label column.
        label: String,
        /// Its churners.
        churners: usize,
        /// Its rows.
        rows: usize,
    },
    /// The validation share of the rows rounds to none.
    #[error("the validation split is empty; use more rows or a larger --validation-share")]
    EmptyValidation,
    /// Fewer training rows than features.
    #[error("{rows} training rows is not more than the {features} features")]
    TooFewRows {
        /// Training rows.
        rows: usize,
        /// Features.
        features: usize,
    },
    /// A feature does not vary on the training rows.
    #[error(
        "column `{column}` is constant on the training rows (value {value}); leave it out with --features"
    )]
    ConstantColumn {
        /// The column.
        column: String,
        /// Its one value (after the feature's transform).
        value: f64,
    },
    /// Too few active customers to place tier cut-offs.
    #[error("too few active customers ({0}) to compute tier cut-offs")]
    TooFewActive(usize),
    /// No customer has a positive total value.
    #[error("no customer has a positive total value")]
    NoPositiveValue,

    // --- Campaign history (`train-uplift`).
    /// The bundle to add uplift to does not load.
    #[error("loading the bundle {path}")]
    BaseBundle {
        /// The bundle directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<BundleError>,
    },
    /// The history has no action column.
    #[error(
        "{path}: no `{action}` column (an action id of the bundle's catalog, or `{control}`, per customer)"
    )]
    NoActionColumn {
        /// The history file.
        path: PathBuf,
        /// The action column's name.
        action: String,
        /// The control group's name.
        control: String,
    },
    /// A row's action is neither a catalog action nor the control group.
    #[error(
        "{path}: row {row} (line {line}), column `{column}`: `{value}` is not an action of the \
         bundle's catalog ({catalog}) nor `{control}`"
    )]
    UnknownAction {
        /// The history file.
        path: PathBuf,
        /// The data row (1-based).
        row: u64,
        /// The file line.
        line: u64,
        /// The action column.
        column: Box<str>,
        /// The value found.
        value: Box<str>,
        /// The catalog's action ids, comma-separated.
        catalog: Box<str>,
        /// The control group's name.
        control: Box<str>,
    },
    /// A history has no control rows.
    #[error("{path}: no `{control}` rows: {needed_for}")]
    NoControlRows {
        /// The history file.
        path: PathBuf,
        /// The control group's name.
        control: String,
        /// What the control group is needed for.
        needed_for: &'static str,
    },
    /// The control group is below the minimum to fit.
    #[error("{path}: the control group is too small: {why}")]
    ControlTooSmall {
        /// The history file.
        path: PathBuf,
        /// Its size against the minimum.
        why: String,
    },
    /// The validation history has no rows of an action that is learned.
    #[error("{path}: no `{action}` rows: the uplift learned for it from {history} could not be evaluated")]
    NoActionRows {
        /// The validation history.
        path: PathBuf,
        /// The action.
        action: String,
        /// The training history.
        history: PathBuf,
    },
    /// No action has enough data.
    #[error(
        "no action has enough data to learn its uplift (at least {min_churners} churners and \
         {min_churners} stayers each among its training rows; see --min-churners)"
    )]
    NothingToLearn {
        /// The minimum per class.
        min_churners: u64,
    },
    /// An action's uplift cannot be evaluated.
    #[error("evaluating the uplift of `{action}` on {on}")]
    Evaluate {
        /// The action.
        action: String,
        /// What it was evaluated on.
        on: String,
        /// Why.
        #[source]
        source: UpliftEvalError,
    },

    // --- Fitting and writing.
    /// linfa's fit failed.
    #[error("fitting {model}")]
    Fit {
        /// Which model: `the logistic regression`, `the control group's churn model`, …
        model: String,
        /// linfa's error.
        #[source]
        source: Box<linfa_logistic::error::Error>,
    },
    /// linfa's coefficients do not make a valid model (a coefficient that is not finite).
    #[error("the fitted model is invalid")]
    FittedModel(#[from] ChurnModelError),
    /// The new bundle cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The new bundle was written but does not load; it has been removed.
    #[error("the new bundle does not load")]
    NewBundle(#[source] Box<BundleError>),
}

impl TrainError {
    /// A setting outside its range.
    pub(crate) fn out_of_range(
        flag: &'static str,
        rule: &'static str,
        value: impl ToString,
    ) -> Self {
        Self::OutOfRange {
            flag,
            rule,
            value: value.to_string(),
        }
    }

    /// A fit's error naming the model it was fitting (other errors unchanged).
    pub(crate) fn fitting(self, model: &str) -> Self {
        match self {
            Self::Fit { source, .. } => Self::Fit {
                model: model.to_owned(),
                source,
            },
            other => other,
        }
    }
}
