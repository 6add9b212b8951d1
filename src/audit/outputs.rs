//! What a decision answered, as recorded: the churn probability, value parts, tier and the
//! next best action, and how a replayed answer is compared with the recorded one.

use crate::domain::{Assessment, ChurnPrediction, ScoringModel, ValueAssessment, ValueTier};

/// Largest relative difference between a recorded and a replayed number that still matches.
pub const TOLERANCE: f64 = 1e-12;

/// The three value parts, their total and the value at risk.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueParts {
    /// Trailing-12-month margin.
    pub realized: f64,
    /// CLV over the horizon.
    pub potential: f64,
    /// Referral value.
    pub influence: f64,
    /// The sum.
    pub total: f64,
    /// What leaving would cost the bank.
    pub value_at_risk: f64,
}

/// The next best action and its expected value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chosen {
    /// The action id, or `no_action`.
    pub action: String,
    /// Its expected value; `None` for `no_action`.
    pub expected_value: Option<f64>,
    /// The probability with which the policy made this decision (1 when deterministic; absent
    /// in records written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propensity: Option<f64>,
    /// For a customer of the bundle's control group, the action withheld (`action` is then
    /// `no_action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
}

/// What the decision answered. Parts an RPC does not compute are absent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Churn probability over the model's horizon.
    pub churn_probability: f64,
    /// Value parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueParts>,
    /// Value tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<ValueTier>,
    /// Key account (top of tier A).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_account: Option<bool>,
    /// The next best action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Chosen>,
}

impl Outputs {
    /// Outputs of a full assessment (Score, RecommendRetentionAction, ScoreStream).
    pub fn of_assessment(model: &ScoringModel, a: &Assessment) -> Self {
        let best = a.decision.best();
        Self {
            decision: Some(Chosen {
                action: a.decision.best_action_id(&model.actions).to_owned(),
                expected_value: best.map(|o| o.expected_value),
                propensity: Some(a.decision.propensity),
                withheld: a
                    .decision
                    .withheld()
                    .map(|o| model.actions.id(o.action).to_owned()),
            }),
            ..Self::of_value(&a.value_assessment())
        }
    }

    /// Outputs of a value assessment (ClassifyValueTier).
    pub fn of_value(v: &ValueAssessment) -> Self {
        Self {
            churn_probability: v.churn_probability,
            value: Some(ValueParts {
                realized: v.value.realized,
                potential: v.value.potential,
                influence: v.value.influence,
                total: v.value.total,
                value_at_risk: v.value.value_at_risk,
            }),
            tier: Some(v.tier.tier),
            key_account: Some(v.tier.key_account),
            decision: None,
        }
    }

    /// Outputs of a churn prediction (PredictChurn).
    pub fn of_churn(c: &ChurnPrediction) -> Self {
        Self {
            churn_probability: c.probability,
            value: None,
            tier: None,
            key_account: None,
            decision: None,
        }
    }
}

impl Outputs {
    /// The outputs that differ between `self` (recorded) and `replayed`, each described, e.g.
    /// `churn_probability: recorded 0.2, replayed 0.1`. Numbers match within [`TOLERANCE`].
    pub fn differences(&self, replayed: &Outputs) -> Vec<String> {
        differences(self, replayed)
    }
}

fn differences(recorded: &Outputs, replayed: &Outputs) -> Vec<String> {
    let mut out = Vec::new();
    let mut number = |what: &str, a: Option<f64>, b: Option<f64>| {
        let same = match (a, b) {
            (Some(a), Some(b)) => close(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            out.push(format!(
                "{what}: recorded {}, replayed {}",
                show(a),
                show(b)
            ));
        }
    };
    number(
        "churn_probability",
        Some(recorded.churn_probability),
        Some(replayed.churn_probability),
    );
    let part = |o: &Outputs, f: fn(&ValueParts) -> f64| o.value.as_ref().map(f);
    number(
        "value.realized",
        part(recorded, |v| v.realized),
        part(replayed, |v| v.realized),
    );
    number(
        "value.potential",
        part(recorded, |v| v.potential),
        part(replayed, |v| v.potential),
    );
    number(
        "value.influence",
        part(recorded, |v| v.influence),
        part(replayed, |v| v.influence),
    );
    number(
        "value.total",
        part(recorded, |v| v.total),
        part(replayed, |v| v.total),
    );
    number(
        "value.value_at_risk",
        part(recorded, |v| v.value_at_risk),
        part(replayed, |v| v.value_at_risk),
    );
    number(
        "decision.expected_value",
        recorded.decision.as_ref().and_then(|d| d.expected_value),
        replayed.decision.as_ref().and_then(|d| d.expected_value),
    );
    // Records written before the propensity was recorded have none to compare.
    if let Some(p) = recorded.decision.as_ref().and_then(|d| d.propensity) {
        number(
            "decision.propensity",
            Some(p),
            replayed.decision.as_ref().and_then(|d| d.propensity),
        );
    }
    if recorded.tier != replayed.tier {
        out.push(format!(
            "tier: recorded {:?}, replayed {:?}",
            recorded.tier, replayed.tier
        ));
    }
    if recorded.key_account != replayed.key_account {
        out.push(format!(
            "key_account: recorded {:?}, replayed {:?}",
            recorded.key_account, replayed.key_account
        ));
    }
    let action = |o: &Outputs| o.decision.as_ref().map(|d| d.action.clone());
    if action(recorded) != action(replayed) {
        out.push(format!(
            "decision.action: recorded {:?}, replayed {:?}",
            action(recorded),
            action(replayed)
        ));
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "none".into(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> Outputs {
        Outputs {
            churn_probability: 0.25,
            value: Some(ValueParts {
                realized: 100.0,
                potential: 200.0,
                influence: 0.0,
                total: 300.0,
                value_at_risk: 200.0,
            }),
            tier: Some(crate::domain::ValueTier::B),
            key_account: Some(false),
            decision: Some(Chosen {
                action: "fee_waiver".into(),
                expected_value: Some(3.5),
                propensity: Some(1.0),
                withheld: None,
            }),
        }
    }

    #[test]
    fn equal_outputs_and_rounding_noise_show_no_difference() {
        let mut b = outputs();
        assert!(outputs().differences(&b).is_empty());
        b.churn_probability += 1e-17;
        assert!(outputs().differences(&b).is_empty());
    }

    #[test]
    fn each_changed_output_is_named() {
        let mut b = outputs();
        b.churn_probability = 0.26;
        b.tier = Some(crate::domain::ValueTier::A);
        b.decision = Some(Chosen {
            action: "no_action".into(),
            expected_value: None,
            propensity: Some(1.0),
            withheld: None,
        });
        let diffs = outputs().differences(&b);
        assert_eq!(diffs.len(), 4, "{diffs:?}");
        assert!(diffs[0].starts_with("churn_probability: recorded 0.25, replayed 0.26"));
        assert!(diffs.iter().any(|d| d.starts_with("tier:")));
        assert!(diffs.iter().any(|d| d.starts_with("decision.action:")));
        assert!(diffs
            .iter()
            .any(|d| d == "decision.expected_value: recorded 3.5, replayed none"));
    }
}
