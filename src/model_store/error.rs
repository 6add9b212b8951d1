//! What can be wrong with a model bundle, typed: [`BundleError`] names the bundle and the file,
//! [`BundleProblem`] says what is wrong with it, with the data a caller (or a test) can match.

use std::path::PathBuf;

use super::format::{UpliftKind, FORMAT_VERSION};

/// A bundle that cannot be used, with the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("model bundle {}: {file}: {problem}", dir.display())]
pub struct BundleError {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The file at fault (or `.`, the directory itself).
    pub file: String,
    /// What is wrong.
    pub problem: BundleProblem,
}

/// What is wrong with one file of a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleProblem {
    /// The directory is not `<models dir>/<name>/<version>/`.
    #[error("expected a directory models/<name>/<version>/")]
    NotAVersionDirectory,
    /// The file cannot be read.
    #[error("cannot read: {0}")]
    Unreadable(#[source] std::io::Error),
    /// The file is not UTF-8.
    #[error("not UTF-8 text")]
    NotText,
    /// A manifest line is not `<sha256>  <file>` (or names a file outside the bundle).
    #[error("line {line}: expected `<sha256>  <file>`")]
    ManifestLine {
        /// 1-based line number.
        line: usize,
    },
    /// The manifest does not list a file every bundle has.
    #[error("does not list {0}")]
    NotListed(&'static str),
    /// The file is not the one the manifest recorded.
    #[error("checksum mismatch: manifest says {expected}, file has {actual}")]
    ChecksumMismatch {
        /// The manifest's SHA-256.
        expected: String,
        /// The file's.
        actual: String,
    },
    /// The file does not parse (the JSON or TOML parser's message).
    #[error("{0}")]
    Syntax(String),
    /// A `model.json` format this build does not read.
    #[error("format_version {found} is not supported (this build reads {FORMAT_VERSION})")]
    FormatVersion {
        /// The file's version.
        found: u32,
    },
    /// A model kind this build does not score.
    #[error("kind `{0}` is not supported")]
    Kind(String),
    /// The scoring core refused the content (a model, policy, catalog or uplift check).
    #[error("{0}")]
    Refused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A file the bundle's other files need is missing.
    #[error("missing: {0}")]
    Missing(&'static str),
    /// An uplift model file not named `uplift/<action_id>.json`.
    #[error("expected uplift/<action_id>.json")]
    UpliftFileName,
    /// A file lists other features than `model.json` (boxed: the largest problem, and rare).
    #[error(transparent)]
    Features(Box<FeatureMismatch>),
    /// `uplift/evaluation.json` lists other actions than the catalog.
    #[error("lists actions {listed:?}, actions.toml has {catalog:?}")]
    UpliftActions {
        /// Its actions.
        listed: Vec<String>,
        /// The catalog's.
        catalog: Vec<String>,
    },
    /// `uplift/evaluation.json` says an action is learned (or on its prior) and the model files
    /// say otherwise.
    #[error(
        "`{action}` is marked {marked:?} but uplift/{action}.json {}",
        if *.has_model { "exists" } else { "does not exist" }
    )]
    UpliftMarking {
        /// The action.
        action: String,
        /// What the evaluation says.
        marked: UpliftKind,
        /// Whether its model file is there.
        has_model: bool,
    },
    /// `golden.json` has no example.
    #[error("no golden examples")]
    NoGoldenExamples,
    /// `golden.json`'s tolerance is out of range.
    #[error("tolerance {0} is outside 0..=1e-6")]
    GoldenTolerance(f64),
    /// A golden example the model does not reproduce.
    #[error(
        "example {number}: the model gives churn probability {got}, the bundle recorded \
         {recorded}; it does not reproduce"
    )]
    GoldenMismatch {
        /// 1-based example number.
        number: usize,
        /// What the model gives.
        got: f64,
        /// What the bundle recorded.
        recorded: f64,
    },
}

impl From<FeatureMismatch> for BundleProblem {
    fn from(e: FeatureMismatch) -> Self {
        Self::Features(Box::new(e))
    }
}

impl BundleProblem {
    /// The core's refusal `e`.
    pub fn refused(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Refused(Box::new(e))
    }
}

/// A list of features (in `evaluation.json` or a golden example) that is not `model.json`'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureMismatch {
    /// A feature named twice.
    #[error("{subject} `{name}` twice")]
    Twice {
        /// What lists them, e.g. "the coefficient table lists".
        subject: String,
        /// The feature.
        name: String,
    },
    /// The list differs from the model's features.
    #[error("{subject} {listed} features, {}", tail(*.listed, *.expected, .unknown, .missing))]
    Differs {
        /// What lists them.
        subject: String,
        /// Features listed.
        listed: usize,
        /// Features of `model.json`.
        expected: usize,
        /// A listed feature the model does not have.
        unknown: Option<String>,
        /// The first model feature (in model order) not listed.
        missing: Option<String>,
    },
    /// A golden example without a finite value for a feature.
    #[error("example {number}: no finite value for feature `{feature}`")]
    NotFinite {
        /// 1-based example number.
        number: usize,
        /// The feature.
        feature: String,
    },
}

/// "as model.json, but `x` is missing", or "model.json has 22: `x` is missing".
fn tail(
    listed: usize,
    expected: usize,
    unknown: &Option<String>,
    missing: &Option<String>,
) -> String {
    let detail = match (unknown, missing) {
        (Some(u), None) => format!("`{u}` is not a model.json feature"),
        (None, Some(m)) => format!("`{m}` is missing"),
        (Some(u), Some(m)) => format!("`{u}` is not a model.json feature and `{m}` is missing"),
        (None, None) => "the same features".to_owned(),
    };
    if listed == expected {
        format!("as model.json, but {detail}")
    } else {
        format!("model.json has {expected}: {detail}")
    }
}
