//! The files of a model bundle, `models/<name>/<version>/`, as they are written and read.
//!
//! | file | content |
//! |---|---|
//! | `model.json` | the fitted churn model: intercept, features with transform, standardization and coefficient |
//! | `policy.toml` | value parameters (`[value]`), the tier policy (`[tiers]`) and optional exploration (`[exploration]`) and control group (`[control_group]`) |
//! | `actions.toml` | the retention action catalog, editable by the business |
//! | `metadata.json` | when and on what data the model was trained, with its validation metrics |
//! | `evaluation.json` | calibration, lift, coefficient table, feature and score distributions |
//! | `golden.json` | golden examples: feature values with the probabilities they must reproduce |
//! | `MODEL_CARD.md` | the model card a model validator reads |
//! | `uplift/control.json`, `uplift/<action_id>.json` | optional learned uplift: churn models of the control group and of each action's treated customers, in `model.json`'s format and with its features |
//! | `uplift/evaluation.json` | how the uplift models were trained and how they rank on held-out campaign history |
//! | `checksums.sha256` | SHA-256 of every other file, in `sha256sum` format (`sha256sum -c` checks it) |
//!
//! Why one file of this length: it is the bundle's on-disk format, one serde type per file or
//! table, read together by a validator; splitting it would scatter the format.

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
    /// Evaluation report.
    pub const EVALUATION: &str = "evaluation.json";
    /// Golden examples.
    pub const GOLDEN: &str = "golden.json";
    /// Model card.
    pub const MODEL_CARD: &str = "MODEL_CARD.md";
    /// Checksum manifest.
    pub const CHECKSUMS: &str = "checksums.sha256";
    /// Every file the manifest must cover (it may list more, such as the model card).
    pub const REQUIRED: [&str; 6] = [MODEL, POLICY, ACTIONS, METADATA, EVALUATION, GOLDEN];
    /// Folder of the learned uplift models.
    pub const UPLIFT_DIR: &str = "uplift";
    /// The control-group churn model.
    pub const UPLIFT_CONTROL: &str = "uplift/control.json";
    /// How the uplift models were trained and evaluated.
    pub const UPLIFT_EVALUATION: &str = "uplift/evaluation.json";

    /// The file of action `action_id`'s uplift model.
    pub fn uplift_model(action_id: &str) -> String {
        format!("{UPLIFT_DIR}/{action_id}.json")
    }

    /// Every file a bundle's manifest lists, in the order training writes them.
    pub const SEALED: [&str; 7] = [
        MODEL, POLICY, ACTIONS, METADATA, EVALUATION, GOLDEN, MODEL_CARD,
    ];
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Value model parameters.
    pub value: ValueParams,
    /// Tier policy.
    pub tiers: TierPolicy,
    /// Optional ε-exploration among actions worth taking; absent: always the best action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploration: Option<crate::domain::exploration::Exploration>,
    /// Optional real-time control group; absent: nobody is held out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_group: Option<crate::domain::exploration::ControlGroup>,
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
    /// Class weighting: `none`, or `balanced` (churners replicated to the weight of stayers).
    pub class_weight: String,
    /// Where validation rows came from: `split` (seeded hold-out) or the validation file's name.
    pub validation: String,
    /// Share of rows held out for validation (split only).
    pub validation_share: f64,
    /// Seed of the train/validation split and of class-weight replication.
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

/// `golden.json`: examples the bundle must reproduce before it may serve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenFile {
    /// Absolute tolerance on the probability.
    pub tolerance: f64,
    /// The examples.
    pub examples: Vec<GoldenExample>,
}

/// One golden example: raw feature values (by model feature name) and the probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenExample {
    /// Raw values of every model feature.
    #[serde(deserialize_with = "unique_keys")]
    pub features: std::collections::BTreeMap<String, f64>,
    /// The churn probability recorded at training time.
    pub churn_probability: f64,
}

/// `evaluation.json`: what a model validator and drift monitoring need.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// Metrics on the validation rows.
    pub metrics: Metrics,
    /// Validation rows and churners among them.
    pub validation_rows: u64,
    /// Churners among the validation rows.
    pub validation_churners: u64,
    /// Deciles of predicted probability (lowest first): mean predicted vs observed churn.
    pub calibration: Vec<CalibrationBin>,
    /// Lift and capture rate when targeting the riskiest share of customers.
    pub lift: Vec<LiftPoint>,
    /// Per feature, sorted by |standardized coefficient| descending.
    pub coefficients: Vec<CoefficientRow>,
    /// Decile edges (10%, 20%, …, 90%) of each feature's raw value on the training rows.
    #[serde(deserialize_with = "unique_keys")]
    pub feature_deciles: std::collections::BTreeMap<String, Vec<f64>>,
    /// Decile edges of the predicted churn probability on the training rows.
    pub score_deciles: Vec<f64>,
}

/// One calibration bin.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationBin {
    /// Rows in the bin.
    pub rows: u64,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed churn rate.
    pub observed: f64,
}

/// Targeting the top share of customers by predicted risk.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftPoint {
    /// Share of customers targeted (0.1 = top 10%).
    pub top_share: f64,
    /// Churn rate among them divided by the overall churn rate.
    pub lift: f64,
    /// Share of all churners among them.
    pub capture_rate: f64,
}

/// One row of the coefficient table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoefficientRow {
    /// Feature name.
    pub feature: String,
    /// Transform applied before standardization.
    pub transform: crate::domain::profile::Transform,
    /// Log-odds per standard deviation.
    pub standardized: f64,
    /// Log-odds per unit of the transformed value (`standardized / scale`).
    pub raw: f64,
    /// Odds ratio per standard deviation (`exp(standardized)`).
    pub odds_ratio_per_sd: f64,
}

/// `uplift/evaluation.json`: how the learned uplift models were trained and how they rank on
/// held-out campaign history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpliftFile {
    /// RFC 3339 time of training.
    pub trained_at: String,
    /// bankscore version that trained them.
    pub trained_by: String,
    /// The campaign history.
    pub history: HistorySummary,
    /// Training settings.
    pub training: UpliftTraining,
    /// Per catalog action, in catalog order.
    pub actions: Vec<ActionUplift>,
}

/// The campaign history the uplift models were learned from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySummary {
    /// File name.
    pub source: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Rows in the file.
    pub rows: u64,
    /// Control-group rows.
    pub control_rows: u64,
    /// Churners among them.
    pub control_churners: u64,
}

/// Uplift training settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpliftTraining {
    /// `t_learner`: one churn model on the control group, one per action on its treated customers.
    pub learner: String,
    /// L2 strength of every fit (scikit-learn `C = 1 / l2`).
    pub l2: f64,
    /// An arm needs this many churners and this many stayers in its training rows.
    pub min_churners: u64,
    /// Where the evaluation's rows came from: `split` (each arm's seeded hold-out) or the
    /// validation history's file name (every history row fitted). Files written before the field
    /// existed were split.
    #[serde(default = "split_validation")]
    pub validation: String,
    /// Share of each arm held out for the evaluation (split only, else 0).
    pub validation_share: f64,
    /// Seed of the split.
    pub seed: u64,
}

fn split_validation() -> String {
    "split".to_owned()
}

/// Whether an action's uplift is learned or its catalog prior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpliftKind {
    /// `uplift/<action_id>.json` exists: `τ = p_control − p_action`.
    Learned,
    /// Too little data: the catalog prior applies, `τ = p_churn × prior`.
    Prior,
}

/// One action's uplift model, or why it keeps its prior.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionUplift {
    /// Catalog action id.
    pub action: String,
    /// Learned or prior.
    pub uplift: UpliftKind,
    /// Why the prior was kept (prior only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Customers in the history who got the action.
    pub treated_rows: u64,
    /// Churners among them.
    pub treated_churners: u64,
    /// On the held-out rows of this action and of the control group (learned only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<UpliftEvaluation>,
}

/// How well predicted uplift ranks held-out customers, for one action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpliftEvaluation {
    /// Held-out customers who got the action.
    pub treated_rows: u64,
    /// Held-out customers of the control group.
    pub control_rows: u64,
    /// Churn rate of the treated rows.
    pub treated_churn_rate: f64,
    /// Churn rate of the control rows.
    pub control_churn_rate: f64,
    /// Normalized area under the Qini curve (1 perfect, 0 random).
    pub qini_coefficient: f64,
    /// Normalized area under the uplift curve (1 perfect, 0 random).
    pub auuc: f64,
    /// The top 10%, 20% and 30% by predicted uplift.
    pub top: Vec<TopShareLift>,
    /// Ten bins by predicted uplift, highest first.
    pub deciles: Vec<UpliftDecile>,
}

/// Churn reduction observed when targeting the top share of customers by predicted uplift.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopShareLift {
    /// The share asked for, e.g. 0.1.
    pub top_share: f64,
    /// Rows in the top share: `⌊rows · top_share⌋`.
    pub targeted_rows: u64,
    /// Treated rows among them.
    pub treated_rows: u64,
    /// Control rows among them.
    pub control_rows: u64,
    /// Mean predicted uplift of the targeted rows (0 when there are none).
    pub mean_predicted_uplift: f64,
    /// Control churn rate − treated churn rate among the targeted rows (0 if a group is empty).
    pub observed_reduction: f64,
    /// Control churn rate − treated churn rate over all held-out rows.
    pub observed_reduction_everyone: f64,
    /// Churners kept per 1,000 customers by targeting this share: `1000 · targeted/rows · observed_reduction`.
    pub churners_saved_per_1000: f64,
    /// The same share targeted at random: `1000 · targeted/rows · observed_reduction_everyone`.
    pub random_saved_per_1000: f64,
}

/// One bin of the uplift-by-decile table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpliftDecile {
    /// 1 is the highest predicted uplift.
    pub decile: u32,
    /// Treated rows in the bin.
    pub treated_rows: u64,
    /// Control rows in the bin.
    pub control_rows: u64,
    /// Mean predicted uplift of the bin (0 when it is empty).
    pub mean_predicted_uplift: f64,
    /// Churn rate of the bin's treated rows (0 when there are none).
    pub treated_churn_rate: f64,
    /// Churn rate of the bin's control rows (0 when there are none).
    pub control_churn_rate: f64,
    /// Control churn rate − treated churn rate (0 when either group is empty).
    pub observed_uplift: f64,
}

/// A JSON object keyed by feature name, refusing a name given twice (a plain map would keep the
/// last value silently, hiding a value too many).
fn unique_keys<'de, D, V>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: serde::Deserialize<'de>,
{
    struct UniqueKeys<V>(std::marker::PhantomData<V>);
    impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for UniqueKeys<V> {
        type Value = std::collections::BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object keyed by feature name")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = std::collections::BTreeMap::new();
            while let Some((name, value)) = map.next_entry::<String, V>()? {
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format!(
                        "feature `{name}` is given twice"
                    )));
                }
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(UniqueKeys(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_golden_example_naming_a_feature_twice_is_refused() {
        let text = r#"{"features": {"age_years": 40, "age_years": 41}, "churn_probability": 0.5}"#;
        let err = serde_json::from_str::<GoldenExample>(text).unwrap_err();
        assert!(
            err.to_string()
                .contains("feature `age_years` is given twice"),
            "{err}"
        );
        let ok = r#"{"features": {"age_years": 40, "tenure_months": 3}, "churn_probability": 0.5}"#;
        assert_eq!(
            serde_json::from_str::<GoldenExample>(ok)
                .unwrap()
                .features
                .len(),
            2
        );
    }

    #[test]
    fn uplift_training_reads_the_validation_it_wrote_and_an_older_file_as_split() {
        let written = UpliftTraining {
            learner: "t_learner".into(),
            l2: 1.0,
            min_churners: 50,
            validation: "valid.csv".into(),
            validation_share: 0.0,
            seed: 42,
        };
        let text = serde_json::to_string(&written).unwrap();
        assert!(text.contains(r#""validation":"valid.csv""#), "{text}");
        assert_eq!(
            serde_json::from_str::<UpliftTraining>(&text).unwrap(),
            written
        );
        let older = r#"{"learner": "t_learner", "l2": 1.0, "min_churners": 50,
            "validation_share": 0.3, "seed": 42}"#;
        assert_eq!(
            serde_json::from_str::<UpliftTraining>(older)
                .unwrap()
                .validation,
            "split"
        );
    }
}
