//! Learned uplift measured against a known answer: a fresh synthetic campaign
//! ([`campaign_history`](super::campaign_history)) whose true uplift `τ_a(x)` is known for every
//! customer and action, scored by a bundle with learned uplift and by the same bundle with only
//! its catalog priors.
//!
//! assess a fresh population with both → compare learned τ with true τ ([`ranking`]: Spearman,
//! Qini against random rankings) → check the harmful segment and plan campaigns at the same
//! budget, valued with the true τ ([`policies`]).
//!
//! The integration tests (`tests/api/uplift.rs`) assert on these numbers; the
//! `uplift_value` example prints them for BENCHMARKS.md.

pub mod policies;
pub mod ranking;

use super::campaign_history::{
    CampaignCustomer, CampaignGenerator, CAMPAIGN_ACTIONS, DEFAULT_CONTROL_SHARE,
};
use crate::domain::{
    AssessOptions, CustomerProfile, Decision, MissingExtraFeature, ScoringModel, UpliftModels,
};

pub use policies::{compare_policies, rm_call_under_35, HarmfulSegment, Policy, PolicyValue};
pub use ranking::{
    qini_against_random, rank_agreement, spearman, QiniAgainstRandom, RankAgreement,
};

/// Why a bundle cannot be measured against the synthetic campaign.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KnownUpliftError {
    /// The true uplift is known per campaign action; the catalog must list them in that order.
    #[error("catalog action {position} is `{got}`, the campaign's is `{expected}` (the default catalog is needed)")]
    CatalogMismatch {
        /// 1-based position in the catalog.
        position: usize,
        /// The campaign's action there.
        expected: &'static str,
        /// The catalog's action there (or `nothing`).
        got: String,
    },
    /// The bundle has no learned uplift to measure.
    #[error("the bundle has no learned uplift (`uplift/`): train it with train-uplift")]
    NoLearnedUplift,
    /// A profile lacks an extra feature the model reads.
    #[error(transparent)]
    MissingFeature(#[from] MissingExtraFeature),
}

/// `customers` customers of a fresh synthetic campaign: the default control share, every other
/// customer given one campaign action at random. Use another seed than the history's.
pub fn campaign(seed: u64, customers: usize) -> Vec<CampaignCustomer> {
    let mut g = CampaignGenerator::new(seed, DEFAULT_CONTROL_SHARE)
        .expect("the default control share lies in (0, 1)");
    (0..customers).map(|_| g.next_customer()).collect()
}

/// `model` without its learned uplift: the same churn model, value policy and catalog, every
/// action on its prior.
pub fn prior_only(model: &ScoringModel) -> ScoringModel {
    ScoringModel {
        uplift: None,
        ..model.clone()
    }
}

/// The customers an action is meant for: those its true effect singles out.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// A short description, e.g. `open complaint`.
    pub name: &'static str,
    /// Whether a customer belongs to it.
    pub contains: fn(&CustomerProfile) -> bool,
    /// Whether the default catalog offers the action only to this segment (its eligibility
    /// gates), so that decisions use the action's τ nowhere else.
    pub only_offered_here: bool,
}

/// The segment of campaign action `action`. `resolve_complaint`, `salary_switch_offer` and
/// `reactivation_offer` are offered only to their segment (open complaint, salary not
/// credited, sleeping tier); `fee_waiver` and `autopay_setup` act mostly on theirs but are
/// offered widely; `rm_call` and `deposit_rate_bonus` act on everyone (with an effect that
/// differs by segment), so their segment is everyone.
pub fn meant_for(action: usize) -> Segment {
    let (name, contains, only_offered_here): (_, fn(&CustomerProfile) -> bool, _) = match action {
        0 => ("open complaint", |p| p.open_complaint, true),
        3 => ("fee increase in 6 months", |p| p.fee_increase_6m, false),
        4 => ("salary not credited", |p| !p.salary_credited, true),
        5 => ("at most one direct debit", |p| p.direct_debits <= 1, false),
        6 => (
            "sleeping (180+ days inactive)",
            |p| p.days_since_last_activity >= 180,
            true,
        ),
        _ => ("everyone", |_| true, false),
    };
    Segment {
        name,
        contains,
        only_offered_here,
    }
}

/// A population as both bundles see it.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// Churn probability (the base churn model, the same in both bundles).
    pub p_churn: Vec<f64>,
    /// Value at risk (the same in both bundles).
    pub value_at_risk: Vec<f64>,
    /// Learned `τ` per customer and campaign action, `None` where the action kept its prior.
    pub learned_tau: Vec<[Option<f64>; CAMPAIGN_ACTIONS.len()]>,
    /// Decisions with learned uplift.
    pub learned: Vec<Decision>,
    /// Decisions with the catalog priors only.
    pub prior: Vec<Decision>,
    /// Cost per campaign action.
    pub costs: [f64; CAMPAIGN_ACTIONS.len()],
}

/// Assesses `customers` with `learned` and with [`prior_only`]`(learned)`.
///
/// # Errors
/// The catalog is not the campaign's, the bundle has no learned uplift, or a profile lacks a
/// feature the model reads.
pub fn assess(
    learned: &ScoringModel,
    customers: &[CampaignCustomer],
) -> Result<Assessed, KnownUpliftError> {
    check_catalog(learned)?;
    let uplift = learned
        .uplift
        .as_ref()
        .ok_or(KnownUpliftError::NoLearnedUplift)?;
    let prior = prior_only(learned);
    let n = customers.len();
    let mut out = Assessed {
        p_churn: Vec::with_capacity(n),
        value_at_risk: Vec::with_capacity(n),
        learned_tau: Vec::with_capacity(n),
        learned: Vec::with_capacity(n),
        prior: Vec::with_capacity(n),
        costs: std::array::from_fn(|a| learned.actions.actions[a].cost),
    };
    for c in customers {
        let with = learned.assess(&c.profile, AssessOptions::default())?;
        let without = prior.assess(&c.profile, AssessOptions::default())?;
        out.p_churn.push(with.churn.probability);
        out.value_at_risk.push(with.value.value_at_risk);
        out.learned_tau.push(tau_of(learned, uplift, &c.profile)?);
        out.learned.push(with.decision);
        out.prior.push(without.decision);
    }
    Ok(out)
}

/// Learned `τ` per customer and campaign action (`None` where the action kept its prior), without
/// the decisions: enough for [`qini_against_random`] on a larger campaign.
///
/// # Errors
/// As [`assess`].
pub fn learned_tau(
    learned: &ScoringModel,
    customers: &[CampaignCustomer],
) -> Result<Vec<[Option<f64>; CAMPAIGN_ACTIONS.len()]>, KnownUpliftError> {
    check_catalog(learned)?;
    let uplift = learned
        .uplift
        .as_ref()
        .ok_or(KnownUpliftError::NoLearnedUplift)?;
    customers
        .iter()
        .map(|c| tau_of(learned, uplift, &c.profile))
        .collect()
}

fn tau_of(
    model: &ScoringModel,
    uplift: &UpliftModels,
    p: &CustomerProfile,
) -> Result<[Option<f64>; CAMPAIGN_ACTIONS.len()], KnownUpliftError> {
    // The base model reads the profile first, so a missing extra feature is reported as such.
    model.churn.probability(p)?;
    let mut tau = [None; CAMPAIGN_ACTIONS.len()];
    for (a, p_control, p_action) in uplift.probabilities(&model.churn, p) {
        tau[a] = Some(p_control - p_action);
    }
    Ok(tau)
}

fn check_catalog(model: &ScoringModel) -> Result<(), KnownUpliftError> {
    let ids: Vec<&str> = model
        .actions
        .actions
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    for (i, expected) in CAMPAIGN_ACTIONS.iter().enumerate() {
        if ids.get(i) != Some(expected) || ids.len() != CAMPAIGN_ACTIONS.len() {
            return Err(KnownUpliftError::CatalogMismatch {
                position: i + 1,
                expected,
                got: ids.get(i).map_or("nothing", |s| s).to_owned(),
            });
        }
    }
    Ok(())
}
