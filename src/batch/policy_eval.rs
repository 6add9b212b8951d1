//! `bankscore evaluate-policy`: what a candidate bundle's retention policy would retain, estimated
//! before switching, from decisions logged under the current policy with their outcomes
//! (off-policy evaluation).
//!
//! load the candidate bundle → read the log row by row (`log`) → assess each customer with the
//! candidate: its policy `π(·|x)`, the value at risk and the predicted reward of every arm →
//! keep the row's terms → the estimators (`estimators`) → the table, JSON and Markdown
//! (`report`), written all or nothing.
//!
//! **Arms**: 0 is no action (`control` in the log), `i + 1` is catalog action `i`.
//!
//! **Reward** of a logged customer: the value the bank keeps,
//! `r = (1 − churned) × value_at_risk(x) − cost(logged action)`, with value at risk from the
//! candidate's value model (the lifetime value if kept, DOMAIN §1), so the logged policy and the
//! candidate are measured in the same money.
//!
//! **Outcome model** (for doubly robust): `r̂(x, a) = (1 − p̂(x, a)) × value_at_risk − cost(a)`,
//! with `p̂` the churn probability under arm `a` as the candidate itself sees it when it decides:
//! `uplift/control.json` for no action (the base churn model when the bundle has no uplift
//! models), `uplift/<a>.json` for an action with a learned model, and
//! `p_churn × (1 − prior uplift)` (clamped to [0, 1]) for an action with only the catalog prior.
//! DR is unbiased when either the log's propensities or this model are right; the better the
//! model, the narrower its interval.

mod error;
mod estimators;
mod log;
mod report;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use error::PolicyEvalError;
pub use estimators::{estimate, Estimates, Interval, LoggedDecision, Terms};
pub use log::{LogReader, LoggedRow, CONTROL};
pub use report::markdown;

use super::staged::Staged;
use crate::domain::{AssessOptions, Assessment, CustomerProfile, ScoringModel};
use crate::model_store::{load_bundle, LoadedModel};

/// A policy to evaluate: for an assessed customer, a probability per arm (0 = no action,
/// `i + 1` = catalog action `i`), summing to 1.
pub trait TargetPolicy {
    /// Fills `pi` (one entry per arm) with the policy's probabilities for this customer.
    fn probabilities(&self, assessment: &Assessment, pi: &mut [f64]);
}

/// The bundle's own decision, deterministically: `π = 1` for [`crate::domain::Decision::best`],
/// or for no action when nothing is worth taking.
#[derive(Debug, Clone, Copy, Default)]
pub struct BestAction;

impl TargetPolicy for BestAction {
    fn probabilities(&self, assessment: &Assessment, pi: &mut [f64]) {
        pi.fill(0.0);
        pi[assessment.decision.best().map_or(0, |o| o.action + 1)] = 1.0;
    }
}

/// The bundle's policy as it is specified: with `policy.toml` `[exploration]`, each of the `k`
/// actions worth taking with probability `ε/k`, plus `1 − ε` for the highest expected value;
/// without it, [`BestAction`]; with `[control_group]`, no action with probability `share` and the
/// above scaled by `1 − share`. (The server draws from these probabilities with a hash of the
/// customer id; the estimate averages over the draw.)
#[derive(Debug, Clone, Copy, Default)]
pub struct BundlePolicy {
    epsilon: f64,
    control_share: f64,
}

impl BundlePolicy {
    /// The policy of `model`.
    pub fn of(model: &ScoringModel) -> Self {
        Self {
            epsilon: model.exploration.as_ref().map_or(0.0, |e| e.epsilon),
            control_share: model.control_group.as_ref().map_or(0.0, |g| g.share),
        }
    }
}

impl TargetPolicy for BundlePolicy {
    fn probabilities(&self, assessment: &Assessment, pi: &mut [f64]) {
        pi.fill(0.0);
        let ranked = &assessment.decision.ranked;
        let k = ranked.iter().take_while(|o| o.worth_taking()).count();
        if k == 0 {
            pi[0] = 1.0;
            return;
        }
        // The control group takes no action; everyone else is decided as above.
        pi[0] = self.control_share;
        let acting = 1.0 - self.control_share;
        let share = self.epsilon / k as f64;
        for (j, o) in ranked[..k].iter().enumerate() {
            pi[o.action + 1] = acting * (share + if j == 0 { 1.0 - self.epsilon } else { 0.0 });
        }
    }
}

/// The churn probability the candidate predicts for this customer under each arm, into `p`
/// (see the module's outcome model).
pub fn predicted_churn(
    model: &ScoringModel,
    profile: &CustomerProfile,
    assessment: &Assessment,
    p: &mut [f64],
) {
    let p_churn = assessment.churn.probability;
    let tier = assessment.tier.tier;
    for (i, action) in model.actions.actions.iter().enumerate() {
        p[i + 1] = (p_churn * (1.0 - action.uplift_for(tier))).clamp(0.0, 1.0);
    }
    p[0] = p_churn;
    if let Some(uplift) = &model.uplift {
        // A feature the base model has read cannot be missing here: the models share features.
        p[0] = uplift.control().probability(profile).unwrap_or(p_churn);
        for (i, _, p_action) in uplift.probabilities(&model.churn, profile) {
            p[i + 1] = p_action;
        }
    }
}

/// The candidate bundle that was evaluated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateId {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Checksum of its manifest.
    pub checksum: String,
}

/// One arm: how often the log chose it and how often the candidate would.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArmCount {
    /// `control` (no action) or the action id.
    pub arm: String,
    /// Logged rows with this arm.
    pub logged: u64,
    /// `Σ π(arm|x)` over the log: the candidate's choices (whole numbers for a deterministic
    /// policy).
    pub candidate: f64,
}

/// Everything an evaluation found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicyEvaluation {
    /// The candidate bundle.
    pub candidate: CandidateId,
    /// The log, as given.
    pub log: String,
    /// Per arm, the log's choices and the candidate's.
    pub arms: Vec<ArmCount>,
    /// Every estimate, per customer, in the bundle's currency.
    pub estimates: Estimates,
}

/// Evaluates `policy`, with `candidate`'s value and outcome models, on the decisions in `log`.
///
/// # Errors
/// The log cannot be read, lacks a column, has an invalid value (named with column and row), or
/// has no rows.
pub fn evaluate(
    candidate: &LoadedModel,
    log: &Path,
    policy: &impl TargetPolicy,
) -> Result<PolicyEvaluation, PolicyEvalError> {
    let model = &candidate.scoring;
    let mut reader = LogReader::open(log, &model.actions, &model.churn)?;
    let costs: Vec<f64> = std::iter::once(0.0)
        .chain(model.actions.actions.iter().map(|a| a.cost))
        .collect();
    let arms = costs.len();
    let (mut pi, mut p_hat, mut r_hat) = (vec![0.0; arms], vec![0.0; arms], vec![0.0; arms]);
    let mut logged = vec![0u64; arms];
    let mut chosen = vec![0.0; arms];
    let mut terms = Vec::new();
    let mut profile = CustomerProfile::blank();
    let opts = AssessOptions {
        max_reasons: 0,
        include_ineligible: false,
    };
    while let Some(row) = reader.next_row(&mut profile)? {
        let a = model
            .assess(&profile, opts)
            .map_err(|e| PolicyEvalError::BadField {
                path: log.into(),
                row: row.row,
                line: reader.line_of(&row),
                column: format!("extra.{}", e.key),
                problem: crate::domain::FieldProblem::Missing,
            })?;
        let value_at_risk = a.value.value_at_risk;
        policy.probabilities(&a, &mut pi);
        predicted_churn(model, &profile, &a, &mut p_hat);
        for (r, (p, cost)) in r_hat.iter_mut().zip(p_hat.iter().zip(&costs)) {
            *r = (1.0 - p) * value_at_risk - cost;
        }
        let kept = if row.churned { 0.0 } else { value_at_risk };
        terms.push(Terms::of(&LoggedDecision {
            arm: row.arm,
            propensity: row.propensity,
            reward: kept - costs[row.arm],
            target: &pi,
            predicted: &r_hat,
        }));
        logged[row.arm] += 1;
        chosen.iter_mut().zip(&pi).for_each(|(c, p)| *c += p);
    }
    if terms.is_empty() {
        return Err(PolicyEvalError::EmptyLog { path: log.into() });
    }
    let names = std::iter::once(CONTROL).chain(model.actions.actions.iter().map(|a| &*a.id));
    Ok(PolicyEvaluation {
        candidate: CandidateId {
            name: candidate.id.name.clone(),
            version: candidate.id.version.clone(),
            checksum: candidate.id.checksum.clone(),
        },
        log: log.display().to_string(),
        arms: names
            .zip(logged.iter().zip(&chosen))
            .map(|(arm, (&logged, &candidate))| ArmCount {
                arm: arm.to_owned(),
                logged,
                candidate,
            })
            .collect(),
        estimates: estimate(&terms),
    })
}

/// The inputs and outputs of `bankscore evaluate-policy`.
#[derive(Debug, Clone, Default)]
pub struct PolicyEvalFiles {
    /// The candidate bundle, `models/<name>/<version>`.
    pub bundle: PathBuf,
    /// The log: a campaign history CSV with `action`, `propensity` and `churned`.
    pub log: PathBuf,
    /// JSON file to write with every number.
    pub json: Option<PathBuf>,
    /// Markdown report to write.
    pub report: Option<PathBuf>,
}

/// Loads the candidate, evaluates its own policy ([`BundlePolicy`]) on the log, and writes the
/// JSON and the report when asked, all or nothing.
///
/// # Errors
/// The bundle does not load, the log is refused (see [`evaluate`]), or an output cannot be
/// written.
pub fn run(files: &PolicyEvalFiles) -> Result<PolicyEvaluation, PolicyEvalError> {
    let candidate = load_bundle(&files.bundle)?;
    let evaluation = evaluate(
        &candidate,
        &files.log,
        &BundlePolicy::of(&candidate.scoring),
    )?;
    let io = |(path, source): (PathBuf, std::io::Error)| {
        PolicyEvalError::from(crate::batch::FileError::io("writing", &path)(source))
    };
    let mut staged = Staged::new();
    if let Some(path) = &files.json {
        staged
            .write(path, |w| {
                serde_json::to_writer_pretty(&mut *w, &evaluation)?;
                w.write_all(b"\n")
            })
            .map_err(io)?;
    }
    if let Some(path) = &files.report {
        let text = markdown(&evaluation);
        staged
            .write(path, |w| w.write_all(text.as_bytes()))
            .map_err(io)?;
    }
    staged.commit().map_err(io)?;
    Ok(evaluation)
}
