//! Scoring replies: assessments rendered for `Score`, `PredictChurn`, `ClassifyValueTier`,
//! `RecommendRetentionAction` and each `ScoreStream` record, with action names, reasons and the
//! expected-value explanation from the bundle.

use crate::domain::actions::{ActionLevel, IneligibilityRule};
use crate::domain::arbitration::{option_reason, ActionOption, Decision, UpliftSource};
use crate::domain::tier::TierRule;
use crate::domain::{
    Assessment, ChurnPrediction, CustomerValue, ScoringModel, TierAssignment, ValueAssessment,
    ValueTier,
};
use crate::model_store::ModelId;
use crate::service::pb;

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
