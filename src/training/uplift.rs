//! `bankscore train-uplift`: learn each action's uplift from campaign history (a T-learner).
//!
//! load the bundle → load the history (and the validation history, if given) → check them →
//! split each arm (or fit on all of it) → fit the control group's churn model and one per action
//! → evaluate on the held-out rows (or the validation history's arms) → write a new bundle
//! version with `uplift/` → load it back as the server would.
//!
//! Campaign history is the training data's customer columns plus `action` (a catalog action id,
//! or `control` for the control group that got nothing) and `churned` (0/1, the outcome within
//! the model's horizon). Other columns are ignored: only `model.json`'s features are read.
//!
//! Why one file of this length: it reads as the named steps of `train-uplift` in order (settings →
//! history → split → fit each arm → evaluate → write), each a short function; the history reading
//! is in `uplift/history.rs`.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod history;

use history::{bundle_features, load_history, rows_by_arm};
pub use history::{HistoryColumns, ACTION_COLUMN, CONTROL, OUTCOME_COLUMN};

use super::dataset::Dataset;
use super::train::{
    check_l2, check_validation_share, fit_rows, probabilities, scaling, ConstantColumn, Feature,
};
use super::uplift_eval::{evaluate_uplift, UpliftEvalError, UpliftObservation};
use super::TrainError;
use crate::domain::churn::ChurnModel;
use crate::model_store::format::{
    files, ActionUplift, HistorySummary, ModelFile, UpliftFile, UpliftKind, UpliftTraining,
    FORMAT_VERSION,
};
use crate::model_store::{load_bundle, write_bundle_with_uplift, LoadedModel};

/// Uplift training settings. Defaults: at least 50 churners and 50 stayers per arm, no
/// validation history and 30% of each arm held out (seed 42), L2 1.0.
#[derive(Debug, Clone)]
pub struct UpliftSettings {
    /// The bundle whose features, catalog and policy the new version keeps.
    pub bundle: PathBuf,
    /// Campaign history: CSV, or Parquet for a `.parquet` / `.pq` name.
    pub history: PathBuf,
    /// Campaign history to evaluate on, checked as `history` is; when given every row of
    /// `history` is fitted and `validation_share` is not used.
    pub validation_history: Option<PathBuf>,
    /// The new bundle version, `models/<name>/<version>` (must not exist).
    pub out: PathBuf,
    /// An arm needs this many churners and this many stayers in its training rows; an action
    /// below it keeps its catalog prior, the control group below it is an error.
    pub min_churners: u64,
    /// Share of each arm held out for the evaluation when there is no validation history.
    pub validation_share: f64,
    /// Seed of the split.
    pub seed: u64,
    /// L2 strength.
    pub l2: f64,
    /// Time written into the evaluation (RFC 3339).
    pub trained_at: String,
    /// Which columns of the history hold the arm and the outcome.
    pub columns: HistoryColumns,
}

impl UpliftSettings {
    /// Settings with the documented defaults.
    pub fn new(bundle: PathBuf, history: PathBuf, out: PathBuf) -> Self {
        Self {
            bundle,
            history,
            validation_history: None,
            out,
            min_churners: 50,
            validation_share: 0.3,
            seed: 42,
            l2: 1.0,
            trained_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            columns: HistoryColumns::default(),
        }
    }
}

/// One arm of the history: the rows it is fitted on, and its size in the history.
struct Arm {
    train: Vec<usize>,
    churners: u64,
    rows: u64,
}

/// The rows the evaluation scores: per arm (0 = control), its held-out rows of the history or
/// its rows of the validation history.
struct HeldOut<'a> {
    data: &'a Dataset,
    rows: Vec<Vec<usize>>,
}

/// Learns uplift from `settings.history` and writes the new bundle version.
///
/// # Errors
/// The bundle does not load; the history (or the validation history) lacks a column, has a bad
/// value (named with its row), an action the catalog lacks or no control rows; the control group
/// is below the minimum; no action has enough data; the validation history has no rows of an
/// action to learn; a fit fails; or the new bundle cannot be written or does not load. Nothing is
/// left in `settings.out` on error.
pub fn train_uplift(settings: &UpliftSettings) -> Result<UpliftFile, TrainError> {
    check_settings(settings)?;
    let base = load_bundle(&settings.bundle).map_err(|source| TrainError::BaseBundle {
        path: settings.bundle.clone(),
        source: Box::new(source),
    })?;
    let features = bundle_features(&base);
    let horizon = base.scoring.churn.horizon_months();
    let n_actions = base.scoring.actions.actions.len();
    let (data, arm_of_row, sha256) =
        load_history(&settings.history, &settings.columns, &base, &features)?;
    let share = if settings.validation_history.is_some() {
        0.0
    } else {
        settings.validation_share
    };
    let (arms, held_out_rows) = split(settings.seed, share, &data, &arm_of_row, n_actions);
    let control = &arms[0];
    check_control_group(settings, &data, control)?;
    let validation = match &settings.validation_history {
        Some(path) => Some(load_history(path, &settings.columns, &base, &features)?),
        None => None,
    };
    let held_out = match &validation {
        Some((v, v_arm_of_row, _)) => HeldOut {
            data: v,
            rows: rows_by_arm(v_arm_of_row, n_actions),
        },
        None => HeldOut {
            data: &data,
            rows: held_out_rows,
        },
    };
    check_validation_arms(settings, &base, &data, &arms, &held_out)?;
    let control_model = fit_arm(settings, &data, control, &features, horizon)
        .map_err(|e| e.fitting("the control group's churn model"))?;
    let p_control = probabilities(&control_model, held_out.data, &features);

    let mut summaries = Vec::new();
    let mut files_out: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, action) in base.scoring.actions.actions.iter().enumerate() {
        let arm = &arms[i + 1];
        let mut summary = ActionUplift {
            action: action.id.clone(),
            uplift: UpliftKind::Prior,
            reason: None,
            treated_rows: arm.rows,
            treated_churners: arm.churners,
            evaluation: None,
        };
        if let Some(why) = too_small(settings, &data, arm) {
            tracing::warn!(action = %action.id, %why, "too little data: the catalog prior stays");
            summary.reason = Some(why);
            summaries.push(summary);
            continue;
        }
        let model = fit_arm(settings, &data, arm, &features, horizon)
            .map_err(|e| e.fitting(&format!("the churn model of `{}`", action.id)))?;
        summary.evaluation = Some(
            evaluate(&held_out, &features, &p_control, &model, i + 1).map_err(|source| {
                TrainError::Evaluate {
                    action: action.id.clone(),
                    on: evaluated_on(settings),
                    source,
                }
            })?,
        );
        summary.uplift = UpliftKind::Learned;
        files_out.push((files::uplift_model(&action.id), model_json(&model)));
        summaries.push(summary);
    }
    if files_out.is_empty() {
        return Err(TrainError::NothingToLearn {
            min_churners: settings.min_churners,
        });
    }
    files_out.push((files::UPLIFT_CONTROL.to_owned(), model_json(&control_model)));
    let report = UpliftFile {
        trained_at: settings.trained_at.clone(),
        trained_by: format!("bankscore {}", env!("CARGO_PKG_VERSION")),
        history: HistorySummary {
            source: file_name(&settings.history),
            sha256,
            rows: data.rows() as u64,
            control_rows: control.rows,
            control_churners: control.churners,
        },
        training: UpliftTraining {
            learner: "t_learner".into(),
            l2: settings.l2,
            min_churners: settings.min_churners,
            validation: settings
                .validation_history
                .as_deref()
                .map_or_else(|| "split".to_owned(), file_name),
            validation_share: share,
            seed: settings.seed,
        },
        actions: summaries,
    };
    files_out.push((
        files::UPLIFT_EVALUATION.to_owned(),
        (serde_json::to_string_pretty(&report).expect("plain data serializes") + "\n").into_bytes(),
    ));
    let card = base_card(&settings.bundle) + &super::card::uplift_section(&report);
    write_and_check(settings, &files_out, &card)?;
    Ok(report)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// What the evaluation runs on, for messages.
fn evaluated_on(settings: &UpliftSettings) -> String {
    match &settings.validation_history {
        Some(path) => format!("the validation history {}", path.display()),
        None => format!("the held-out rows of {}", settings.history.display()),
    }
}

/// The history has a control group big enough to fit.
fn check_control_group(
    settings: &UpliftSettings,
    data: &Dataset,
    control: &Arm,
) -> Result<(), TrainError> {
    if control.rows == 0 {
        return Err(TrainError::NoControlRows {
            path: settings.history.clone(),
            control: settings.columns.control.clone(),
            needed_for: "uplift is measured against a control group that got nothing",
        });
    }
    match too_small(settings, data, control) {
        Some(why) => Err(TrainError::ControlTooSmall {
            path: settings.history.clone(),
            why,
        }),
        None => Ok(()),
    }
}

/// Before any fit: the validation history has a control group and rows of every action that has
/// enough data to be learned (the held-out share of the history has them by construction).
fn check_validation_arms(
    settings: &UpliftSettings,
    base: &LoadedModel,
    data: &Dataset,
    arms: &[Arm],
    held_out: &HeldOut,
) -> Result<(), TrainError> {
    let Some(path) = &settings.validation_history else {
        return Ok(());
    };
    if held_out.rows[0].is_empty() {
        return Err(TrainError::NoControlRows {
            path: path.clone(),
            control: settings.columns.control.clone(),
            needed_for: "each action's uplift is evaluated against the control group",
        });
    }
    for (i, action) in base.scoring.actions.actions.iter().enumerate() {
        if too_small(settings, data, &arms[i + 1]).is_none() && held_out.rows[i + 1].is_empty() {
            return Err(TrainError::NoActionRows {
                path: path.clone(),
                action: action.id.clone(),
                history: settings.history.clone(),
            });
        }
    }
    Ok(())
}

fn check_settings(s: &UpliftSettings) -> Result<(), TrainError> {
    check_l2(s.l2)?;
    check_validation_share(s.validation_share)?;
    if s.min_churners == 0 {
        return Err(TrainError::out_of_range("--min-churners", "at least 1", 0));
    }
    if s.validation_history.as_ref() == Some(&s.history) {
        return Err(TrainError::ValidationIsHistory(s.history.clone()));
    }
    if s.out.exists() {
        return Err(TrainError::OutExists(s.out.clone()));
    }
    // Checked before the fit, which would otherwise run only to have its bundle refused.
    if s.out.parent().and_then(Path::file_name).is_none() {
        return Err(TrainError::OutNotAVersion(s.out.clone()));
    }
    Ok(())
}

/// Each arm (index 0 the control group) and its held-out rows: `share` of its rows, shuffled
/// with the seed. With a share of 0 an arm is fitted on all its rows, in file order.
fn split(
    seed: u64,
    share: f64,
    data: &Dataset,
    arm_of_row: &[usize],
    actions: usize,
) -> (Vec<Arm>, Vec<Vec<usize>>) {
    rows_by_arm(arm_of_row, actions)
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            let churners = r.iter().filter(|&&row| data.labels[row]).count() as u64;
            let n = r.len() as u64;
            let held_out = ((r.len() as f64) * share).round() as usize;
            if held_out > 0 {
                r.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ i as u64));
            }
            let validation = r.split_off(r.len() - held_out);
            let arm = Arm {
                train: r,
                churners,
                rows: n,
            };
            (arm, validation)
        })
        .unzip()
}

/// Why an arm has too little data to fit, if it has.
fn too_small(settings: &UpliftSettings, data: &Dataset, arm: &Arm) -> Option<String> {
    let churners = arm.train.iter().filter(|&&r| data.labels[r]).count() as u64;
    let stayers = arm.train.len() as u64 - churners;
    let min = settings.min_churners;
    (churners < min || stayers < min).then(|| {
        format!(
            "{churners} churners and {stayers} stayers among {} training rows, at least {min} of each needed",
            arm.train.len()
        )
    })
}

fn fit_arm(
    settings: &UpliftSettings,
    data: &Dataset,
    arm: &Arm,
    features: &[Feature],
    horizon_months: u32,
) -> Result<ChurnModel, TrainError> {
    let scaling = scaling(data, &arm.train, features, ConstantColumn::Neutral)?;
    fit_rows(
        data,
        &arm.train,
        features,
        &scaling,
        settings.l2,
        horizon_months,
    )
}

/// The uplift ranking of arm `arm` (its model `model`) on its held-out rows and the control
/// group's; `p_control` is the control model's probability of every row of `held_out.data`.
fn evaluate(
    held_out: &HeldOut,
    features: &[Feature],
    p_control: &[f64],
    model: &ChurnModel,
    arm: usize,
) -> Result<crate::training::uplift_eval::UpliftEvaluation, UpliftEvalError> {
    let p_action = probabilities(model, held_out.data, features);
    let observation = |r: usize, treated: bool| UpliftObservation {
        predicted_uplift: p_control[r] - p_action[r],
        treated,
        churned: held_out.data.labels[r],
    };
    let obs: Vec<UpliftObservation> = held_out.rows[arm]
        .iter()
        .map(|&r| observation(r, true))
        .chain(held_out.rows[0].iter().map(|&r| observation(r, false)))
        .collect();
    evaluate_uplift(&obs)
}

fn model_json(model: &ChurnModel) -> Vec<u8> {
    let file = ModelFile {
        format_version: FORMAT_VERSION,
        kind: "logistic_regression".into(),
        horizon_months: model.horizon_months(),
        intercept: model.intercept(),
        features: model.features().to_vec(),
    };
    (serde_json::to_string_pretty(&file).expect("plain data serializes") + "\n").into_bytes()
}

/// The base bundle's model card without an earlier uplift section.
fn base_card(bundle: &Path) -> String {
    let card = std::fs::read_to_string(bundle.join(files::MODEL_CARD)).unwrap_or_default();
    match card.find(super::card::UPLIFT_HEADING) {
        Some(i) => card[..i].to_owned(),
        None => card,
    }
}

/// Writes the new version, then loads it as the server would; on any failure removes it.
fn write_and_check(
    settings: &UpliftSettings,
    files_out: &[(String, Vec<u8>)],
    card: &str,
) -> Result<(), TrainError> {
    let written = write_bundle_with_uplift(&settings.bundle, &settings.out, files_out, card)
        .map_err(TrainError::from)
        .and_then(|()| {
            load_bundle(&settings.out)
                .map(|_| ())
                .map_err(|e| TrainError::NewBundle(Box::new(e)))
        });
    if written.is_err() && settings.out.exists() {
        let _ = std::fs::remove_dir_all(&settings.out);
    }
    written
}
