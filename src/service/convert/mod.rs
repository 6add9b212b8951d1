//! The one conversion layer between the gRPC messages and the core, for every service: requests
//! are validated into domain types (errors name the field), answers are rendered into replies.
//! Scoring (unary and stream) here; `admin`, `campaign` and `outcomes` for the other services.

use std::collections::HashMap;

use super::error::FieldError;
use super::pb;

mod admin;
mod campaign;
mod outcomes;

use crate::domain::actions::{ActionLevel, IneligibilityRule};
use crate::domain::arbitration::{option_reason, ActionOption, Decision, UpliftSource};
use crate::domain::profile::BuiltinFeature;
use crate::domain::tier::TierRule;
use crate::domain::validation::{check_customer_id, FieldProblem};
use crate::domain::{
    Assessment, ChurnPrediction, CustomerProfile, CustomerValue, ScoringModel, TierAssignment,
    ValueAssessment, ValueTier,
};
use crate::model_store::ModelId;
pub use admin::models_listing;
pub use campaign::{plan_assignment, plan_totals};
pub use outcomes::check_outcomes;

/// Most `extra_features` entries a profile may carry.
pub const MAX_EXTRA_FEATURES: usize = 256;
pub use crate::domain::validation::MAX_KEY_LEN;

fn invalid(field: &str, problem: impl std::fmt::Display) -> FieldError {
    FieldError::new(field, problem)
}

/// Unwraps a required field.
fn required<T>(value: Option<T>, field: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| invalid(field, "is required"))
}

/// A typed number field, present and valid by the rules files obey too.
fn checked<T: Copy + Into<f64>>(f: BuiltinFeature, value: Option<T>) -> Result<T, FieldError> {
    value
        .ok_or(FieldProblem::Missing)
        .and_then(|v| f.check(v.into()).map(|()| v))
        .map_err(|problem| invalid(&format!("profile.{}", f.name()), problem))
}

/// A yes/no field, present.
fn flag(f: BuiltinFeature, value: Option<bool>) -> Result<bool, FieldError> {
    value.ok_or_else(|| invalid(&format!("profile.{}", f.name()), FieldProblem::Missing))
}

impl TryFrom<pb::CustomerProfile> for CustomerProfile {
    type Error = FieldError;

    fn try_from(p: pb::CustomerProfile) -> Result<Self, FieldError> {
        check_customer_id(&p.customer_id).map_err(|e| invalid("profile.customer_id", e))?;
        if p.extra_features.len() > MAX_EXTRA_FEATURES {
            return Err(invalid(
                "profile.extra_features",
                format_args!(
                    "{} entries, at most {MAX_EXTRA_FEATURES} allowed",
                    p.extra_features.len()
                ),
            ));
        }
        for (key, value) in &p.extra_features {
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(invalid(
                    "profile.extra_features",
                    format_args!("key must be 1..={MAX_KEY_LEN} bytes"),
                ));
            }
            if !value.is_finite() {
                return Err(invalid(
                    &format!("profile.extra_features[\"{key}\"]"),
                    FieldProblem::NotFinite(*value),
                ));
            }
        }
        use BuiltinFeature as B;
        Ok(Self {
            age_years: checked(B::AgeYears, p.age_years)?,
            tenure_months: checked(B::TenureMonths, p.tenure_months)?,
            products_held: checked(B::ProductsHeld, p.products_held)?,
            has_mortgage: flag(B::HasMortgage, p.has_mortgage)?,
            salary_credited: flag(B::SalaryCredited, p.salary_credited)?,
            direct_debits: checked(B::DirectDebits, p.direct_debits)?,
            total_balance: checked(B::TotalBalance, p.total_balance)?,
            balance_trend_3m: checked(B::BalanceTrend3m, p.balance_trend_3m)?,
            digital_logins_30d: checked(B::DigitalLogins30d, p.digital_logins_30d)?,
            transactions_30d: checked(B::Transactions30d, p.transactions_30d)?,
            transactions_trend_3m: checked(B::TransactionsTrend3m, p.transactions_trend_3m)?,
            complaints_12m: checked(B::Complaints12m, p.complaints_12m)?,
            open_complaint: flag(B::OpenComplaint, p.open_complaint)?,
            fee_increase_6m: flag(B::FeeIncrease6m, p.fee_increase_6m)?,
            products_closed_12m: checked(B::ProductsClosed12m, p.products_closed_12m)?,
            has_relationship_manager: flag(B::HasRelationshipManager, p.has_relationship_manager)?,
            days_since_last_contact: checked(B::DaysSinceLastContact, p.days_since_last_contact)?,
            days_since_last_activity: checked(
                B::DaysSinceLastActivity,
                p.days_since_last_activity,
            )?,
            contacts_30d: checked(B::Contacts30d, p.contacts_30d)?,
            annual_margin: checked(B::AnnualMargin, p.annual_margin)?,
            referrals_12m: checked(B::Referrals12m, p.referrals_12m)?,
            contact_consent: flag(B::ContactConsent, p.contact_consent)?,
            extra_features: p.extra_features.into_iter().collect::<HashMap<_, _>>(),
            customer_id: p.customer_id,
        })
    }
}

/// Validates a request's profile.
///
/// # Errors
/// The missing or bad field.
pub fn profile(p: Option<pb::CustomerProfile>) -> Result<CustomerProfile, FieldError> {
    required(p, "profile")?.try_into()
}

/// The number of churn reasons a request asks for: 0 means 3.
///
/// # Errors
/// `max_reasons` above [`crate::domain::churn::MAX_REASONS`].
pub fn max_reasons(n: u32) -> Result<usize, FieldError> {
    match n as usize {
        0 => Ok(3),
        n if n <= crate::domain::churn::MAX_REASONS => Ok(n),
        n => Err(invalid(
            "max_reasons",
            format_args!(
                "{n} is above the maximum {}",
                crate::domain::churn::MAX_REASONS
            ),
        )),
    }
}

/// The number of churn reasons a stream asks for: 0 means none.
///
/// # Errors
/// `max_reasons` above [`crate::domain::churn::MAX_REASONS`].
pub fn stream_reasons(n: u32) -> Result<usize, FieldError> {
    match n {
        0 => Ok(0),
        n => max_reasons(n),
    }
}

impl From<&ModelId> for pb::ModelRef {
    fn from(id: &ModelId) -> Self {
        Self {
            name: id.name.clone(),
            version: id.version.clone(),
            checksum: id.checksum.clone(),
        }
    }
}

impl From<CustomerValue> for pb::CustomerValue {
    fn from(v: CustomerValue) -> Self {
        Self {
            realized: v.realized,
            potential: v.potential,
            influence: v.influence,
            total: v.total,
            value_at_risk: v.value_at_risk,
        }
    }
}

impl From<ValueTier> for pb::ValueTier {
    fn from(t: ValueTier) -> Self {
        match t {
            ValueTier::A => Self::A,
            ValueTier::B => Self::B,
            ValueTier::C => Self::C,
            ValueTier::Sleeping => Self::Sleeping,
        }
    }
}

impl From<TierAssignment> for pb::TierAssignment {
    fn from(t: TierAssignment) -> Self {
        let rule = match t.rule {
            TierRule::ACutoff => pb::TierRule::ACutoff,
            TierRule::BCutoff => pb::TierRule::BCutoff,
            TierRule::BelowBCutoff => pb::TierRule::BelowBCutoff,
            TierRule::Sleeping => pb::TierRule::Sleeping,
        };
        Self {
            tier: pb::ValueTier::from(t.tier).into(),
            rule: rule.into(),
            threshold: t.threshold,
            key_account: t.key_account,
            explanation: t.explanation(),
        }
    }
}

/// Renders a churn prediction with feature names and labels from `model`.
pub fn churn(model: &ScoringModel, c: &ChurnPrediction) -> pb::ChurnAssessment {
    pb::ChurnAssessment {
        probability: c.probability,
        horizon_months: model.churn.horizon_months(),
        log_odds: c.log_odds,
        top_reasons: c
            .reasons
            .iter()
            .map(|r| pb::ChurnReason {
                feature: model.churn.features()[r.feature].name.clone(),
                label: model.churn.label(r.feature).to_owned(),
                value: r.value,
                contribution: r.contribution,
                direction: if r.contribution >= 0.0 {
                    pb::Direction::IncreasesRisk
                } else {
                    pb::Direction::DecreasesRisk
                }
                .into(),
            })
            .collect(),
    }
}

fn level(l: ActionLevel) -> pb::ActionLevel {
    match l {
        ActionLevel::Financial => pb::ActionLevel::Financial,
        ActionLevel::Social => pb::ActionLevel::Social,
        ActionLevel::Structural => pb::ActionLevel::Structural,
        ActionLevel::ServiceRecovery => pb::ActionLevel::ServiceRecovery,
        ActionLevel::WinBack => pb::ActionLevel::WinBack,
    }
}

fn rule(r: IneligibilityRule) -> pb::EligibilityRule {
    match r {
        IneligibilityRule::Consent => pb::EligibilityRule::Consent,
        IneligibilityRule::ContactCooldown => pb::EligibilityRule::ContactCooldown,
        IneligibilityRule::ContactLimit => pb::EligibilityRule::ContactLimit,
        IneligibilityRule::Tier => pb::EligibilityRule::Tier,
        IneligibilityRule::OpenComplaint => pb::EligibilityRule::OpenComplaint,
        IneligibilityRule::ProductsHeld => pb::EligibilityRule::ProductsHeld,
        IneligibilityRule::SalaryAlreadyCredited => pb::EligibilityRule::SalaryAlreadyCredited,
        IneligibilityRule::ChurnBelowMinimum => pb::EligibilityRule::ChurnBelowMinimum,
    }
}

/// The uplift-source fields of an action option.
fn uplift_source(source: UpliftSource) -> pb::ActionOption {
    match source {
        UpliftSource::Prior { share } => pb::ActionOption {
            uplift_source: pb::UpliftSource::Prior.into(),
            prior_uplift: share,
            ..Default::default()
        },
        UpliftSource::Learned {
            p_control,
            p_action,
        } => pb::ActionOption {
            uplift_source: pb::UpliftSource::Learned.into(),
            p_without_action: p_control,
            p_with_action: p_action,
            ..Default::default()
        },
    }
}

/// Renders a decision with action names and reasons from `model`.
pub fn decision(model: &ScoringModel, d: &Decision, p_churn: f64) -> pb::RetentionDecision {
    let catalog = &model.actions;
    let option = |o: &ActionOption| {
        let a = &catalog.actions[o.action];
        pb::ActionOption {
            action_id: a.id.clone(),
            name: a.name.clone(),
            level: level(a.level).into(),
            expected_value: o.expected_value,
            cost: a.cost,
            uplift: o.uplift,
            reason: option_reason(catalog, o, p_churn, d.value_at_risk),
            ..uplift_source(o.source)
        }
    };
    let best = d.best().map(option);
    pb::RetentionDecision {
        kind: if best.is_some() {
            pb::DecisionKind::TakeAction
        } else {
            pb::DecisionKind::NoAction
        }
        .into(),
        best,
        reason: d.explanation(catalog),
        ranked: d.ranked.iter().map(option).collect(),
        ineligible: d
            .ineligible
            .iter()
            .map(|i| {
                let a = &catalog.actions[i.action];
                pb::IneligibleAction {
                    action_id: a.id.clone(),
                    rule: rule(i.rule).into(),
                    explanation: i.rule.explanation(a, &catalog.contact_policy),
                }
            })
            .collect(),
        value_at_risk: d.value_at_risk,
        propensity: d.propensity,
        explored: d.explored(),
        control_group: d.control,
        withheld: d.withheld().map(option),
    }
}

/// The `ClassifyValueTier` reply.
pub fn value_tier_reply(
    model: Option<pb::ModelRef>,
    request_id: String,
    v: ValueAssessment,
) -> pb::ClassifyValueTierResponse {
    pb::ClassifyValueTierResponse {
        model,
        request_id,
        value: Some(v.value.into()),
        tier: Some(v.tier.into()),
        churn_probability: v.churn_probability,
    }
}

/// The `PredictChurn` reply.
pub fn churn_reply(
    model: Option<pb::ModelRef>,
    request_id: String,
    scoring: &ScoringModel,
    c: &ChurnPrediction,
) -> pb::PredictChurnResponse {
    pb::PredictChurnResponse {
        model,
        request_id,
        churn: Some(churn(scoring, c)),
    }
}

/// The `RecommendRetentionAction` reply.
pub fn recommendation_reply(
    model: Option<pb::ModelRef>,
    request_id: String,
    scoring: &ScoringModel,
    a: &Assessment,
) -> pb::RecommendRetentionActionResponse {
    pb::RecommendRetentionActionResponse {
        model,
        request_id,
        decision: Some(decision(scoring, &a.decision, a.churn.probability)),
        churn_probability: a.churn.probability,
        tier: pb::ValueTier::from(a.tier.tier).into(),
    }
}

/// The `Score` reply.
pub fn score_reply(
    model: Option<pb::ModelRef>,
    request_id: String,
    scoring: &ScoringModel,
    a: &Assessment,
) -> pb::ScoreResponse {
    pb::ScoreResponse {
        model,
        request_id,
        value: Some(a.value.into()),
        tier: Some(a.tier.into()),
        churn: Some(churn(scoring, &a.churn)),
        decision: Some(decision(scoring, &a.decision, a.churn.probability)),
    }
}

/// One `ScoreStream` record's answer: the assessment in short, with its candidate actions (those
/// worth taking) for a campaign, and the churn reasons when the stream asked for some.
pub fn stream_assessment(
    scoring: &ScoringModel,
    a: &Assessment,
    max_reasons: usize,
) -> pb::StreamAssessment {
    let catalog = &scoring.actions;
    let option = |o: &ActionOption| pb::CandidateAction {
        action_id: catalog.id(o.action).to_owned(),
        expected_value: o.expected_value,
        cost: catalog.actions[o.action].cost,
    };
    let id = |o: &ActionOption| catalog.id(o.action).to_owned();
    let best = a.decision.best();
    pb::StreamAssessment {
        churn_probability: a.churn.probability,
        value: Some(a.value.into()),
        tier: pb::ValueTier::from(a.tier.tier).into(),
        key_account: a.tier.key_account,
        best_action_id: best.map(id).unwrap_or_default(),
        best_expected_value: best.map_or(0.0, |o| o.expected_value),
        propensity: a.decision.propensity,
        control_group: a.decision.control,
        withheld_action_id: a.decision.withheld().map(id).unwrap_or_default(),
        candidates: a
            .decision
            .ranked
            .iter()
            .filter(|o| o.expected_value > 0.0)
            .map(option)
            .collect(),
        top_reasons: if max_reasons == 0 {
            Vec::new()
        } else {
            churn(scoring, &a.churn).top_reasons
        },
    }
}

impl From<&CustomerProfile> for pb::CustomerProfile {
    fn from(p: &CustomerProfile) -> Self {
        Self {
            customer_id: p.customer_id.clone(),
            age_years: Some(p.age_years),
            tenure_months: Some(p.tenure_months),
            products_held: Some(p.products_held),
            has_mortgage: Some(p.has_mortgage),
            salary_credited: Some(p.salary_credited),
            direct_debits: Some(p.direct_debits),
            total_balance: Some(p.total_balance),
            balance_trend_3m: Some(p.balance_trend_3m),
            digital_logins_30d: Some(p.digital_logins_30d),
            transactions_30d: Some(p.transactions_30d),
            transactions_trend_3m: Some(p.transactions_trend_3m),
            complaints_12m: Some(p.complaints_12m),
            open_complaint: Some(p.open_complaint),
            fee_increase_6m: Some(p.fee_increase_6m),
            products_closed_12m: Some(p.products_closed_12m),
            has_relationship_manager: Some(p.has_relationship_manager),
            days_since_last_contact: Some(p.days_since_last_contact),
            days_since_last_activity: Some(p.days_since_last_activity),
            contacts_30d: Some(p.contacts_30d),
            annual_margin: Some(p.annual_margin),
            referrals_12m: Some(p.referrals_12m),
            contact_consent: Some(p.contact_consent),
            extra_features: p.extra_features.clone().into_iter().collect(),
        }
    }
}
