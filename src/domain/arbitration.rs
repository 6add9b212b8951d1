//! Next best retention action: eligibility gates, then `EV = p_churn × uplift × value_at_risk − cost`.

use super::actions::{check_eligibility, ActionCatalog, IneligibilityRule};
use super::profile::CustomerProfile;
use super::tier::ValueTier;

/// An eligible action with its expected value for one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionOption {
    /// Index into the catalog's actions.
    pub action: usize,
    /// Uplift for the customer's tier.
    pub uplift: f64,
    /// Expected value of taking the action.
    pub expected_value: f64,
}

/// An action excluded for a customer and the first rule that excluded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ineligible {
    /// Index into the catalog's actions.
    pub action: usize,
    /// The excluding rule.
    pub rule: IneligibilityRule,
}

/// The arbitration's answer for one customer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Eligible actions, highest expected value first.
    pub ranked: Vec<ActionOption>,
    /// Excluded actions (only collected on request).
    pub ineligible: Vec<Ineligible>,
    /// Value at risk the expected values use.
    pub value_at_risk: f64,
}

impl Decision {
    /// The winning action: the highest expected value, if it is positive.
    #[inline]
    pub fn best(&self) -> Option<&ActionOption> {
        self.ranked.first().filter(|o| o.expected_value > 0.0)
    }

    /// The runner-up behind the best action, if any.
    pub fn runner_up(&self) -> Option<&ActionOption> {
        self.best().and(self.ranked.get(1))
    }
}

/// Ranks every eligible action by expected value.
///
/// Ties keep catalog order, so the same inputs always give the same decision.
pub fn arbitrate(
    catalog: &ActionCatalog,
    p: &CustomerProfile,
    tier: ValueTier,
    p_churn: f64,
    value_at_risk: f64,
    collect_ineligible: bool,
) -> Decision {
    let mut decision = Decision::default();
    arbitrate_into(
        catalog,
        p,
        tier,
        p_churn,
        value_at_risk,
        collect_ineligible,
        &mut decision,
    );
    decision
}

/// [`arbitrate`] into `decision`, reusing its buffers (offline scoring, customer after customer).
pub fn arbitrate_into(
    catalog: &ActionCatalog,
    p: &CustomerProfile,
    tier: ValueTier,
    p_churn: f64,
    value_at_risk: f64,
    collect_ineligible: bool,
    decision: &mut Decision,
) {
    let Decision {
        ranked,
        ineligible,
        value_at_risk: at_risk,
    } = decision;
    ranked.clear();
    ranked.reserve(catalog.actions.len());
    ineligible.clear();
    *at_risk = value_at_risk;
    for (i, action) in catalog.actions.iter().enumerate() {
        match check_eligibility(action, &catalog.contact_policy, p, tier, p_churn) {
            Ok(()) => {
                let uplift = action.uplift_for(tier);
                ranked.push(ActionOption {
                    action: i,
                    uplift,
                    expected_value: p_churn * uplift * value_at_risk - action.cost,
                });
            }
            Err(rule) if collect_ineligible => ineligible.push(Ineligible { action: i, rule }),
            Err(_) => {}
        }
    }
    // Stable sort: equal EVs keep catalog order.
    ranked.sort_by(|a, b| b.expected_value.total_cmp(&a.expected_value));
}

impl Decision {
    /// Why the decision is what it is, naming actions through `catalog`.
    pub fn explanation(&self, catalog: &ActionCatalog) -> String {
        let name = |o: &ActionOption| catalog.actions[o.action].id.as_str();
        match (self.best(), self.ranked.first()) {
            (Some(best), _) => match self.runner_up() {
                Some(next) => format!(
                    "`{}` has the highest expected value ({:.2}), {:.2} more than `{}`",
                    name(best),
                    best.expected_value,
                    best.expected_value - next.expected_value,
                    name(next)
                ),
                None => format!(
                    "`{}` is the only eligible action and its expected value ({:.2}) is positive",
                    name(best),
                    best.expected_value
                ),
            },
            (None, Some(top)) => format!(
                "no action: the best eligible action `{}` has expected value {:.2} <= 0, not worth its cost",
                name(top),
                top.expected_value
            ),
            (None, None) => {
                "no action: no action is eligible for this customer".to_owned()
            }
        }
    }
}

/// Why `option` ranks where it does, e.g. "EV 0.30 × 0.20 × 1500.00 − 25.00 = 65.00".
pub fn option_reason(
    catalog: &ActionCatalog,
    option: &ActionOption,
    p_churn: f64,
    value_at_risk: f64,
) -> String {
    let cost = catalog.actions[option.action].cost;
    let verdict = if option.uplift < 0.0 {
        "; negative uplift: contact would push the customer to leave"
    } else if option.expected_value <= 0.0 {
        "; not worth its cost"
    } else {
        ""
    };
    format!(
        "EV = p_churn {p_churn:.4} × uplift {:.3} × value at risk {value_at_risk:.2} − cost {cost:.2} = {:.2}{verdict}",
        option.uplift, option.expected_value
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actions::tests::{action, policy};
    use crate::domain::profile::tests::sample_profile;

    fn catalog() -> ActionCatalog {
        let mut complaint = action("resolve_complaint", 30.0, 0.5);
        complaint.eligibility.requires_open_complaint = true;
        ActionCatalog {
            contact_policy: policy(),
            actions: vec![
                action("fee_waiver", 25.0, 0.2),
                action("rm_call", 40.0, 0.3),
                complaint,
            ],
        }
    }

    #[test]
    fn the_action_with_the_highest_positive_expected_value_wins() {
        // p = 0.3, VaR = 1000: fee_waiver 0.3·0.2·1000 − 25 = 35; rm_call 0.3·0.3·1000 − 40 = 50.
        let d = arbitrate(
            &catalog(),
            &sample_profile(),
            ValueTier::B,
            0.3,
            1000.0,
            false,
        );
        assert_eq!(d.ranked.len(), 2);
        let best = d.best().unwrap();
        assert_eq!(best.action, 1);
        assert!((best.expected_value - 50.0).abs() < 1e-9);
        assert!((d.ranked[1].expected_value - 35.0).abs() < 1e-9);
        let why = d.explanation(&catalog());
        assert!(
            why.contains("`rm_call`") && why.contains("15.00 more than `fee_waiver`"),
            "{why}"
        );
    }

    #[test]
    fn no_action_when_nothing_is_worth_its_cost() {
        // p = 0.05, VaR = 1000: fee_waiver 10 − 25 = −15; rm_call 15 − 40 = −25.
        let d = arbitrate(
            &catalog(),
            &sample_profile(),
            ValueTier::B,
            0.05,
            1000.0,
            false,
        );
        assert!(d.best().is_none());
        assert_eq!(d.ranked.len(), 2);
        assert!(d
            .explanation(&catalog())
            .starts_with("no action: the best eligible action `fee_waiver`"));
    }

    #[test]
    fn negative_uplift_means_do_not_contact() {
        let mut c = catalog();
        c.actions = vec![action("mass_mailing", 0.0, -0.1)];
        let d = arbitrate(&c, &sample_profile(), ValueTier::C, 0.4, 800.0, false);
        assert!(d.best().is_none());
        let why = option_reason(&c, &d.ranked[0], 0.4, 800.0);
        assert!(why.contains("negative uplift"), "{why}");
    }

    #[test]
    fn ineligible_actions_are_listed_with_their_rule_only_on_request() {
        let d = arbitrate(
            &catalog(),
            &sample_profile(),
            ValueTier::B,
            0.3,
            1000.0,
            true,
        );
        assert_eq!(
            d.ineligible,
            vec![Ineligible {
                action: 2,
                rule: IneligibilityRule::OpenComplaint
            }]
        );
        let quiet = arbitrate(
            &catalog(),
            &sample_profile(),
            ValueTier::B,
            0.3,
            1000.0,
            false,
        );
        assert!(quiet.ineligible.is_empty());
    }

    #[test]
    fn no_consent_leaves_nothing_eligible() {
        let mut p = sample_profile();
        p.contact_consent = false;
        let d = arbitrate(&catalog(), &p, ValueTier::A, 0.9, 1e6, true);
        assert!(d.ranked.is_empty());
        assert_eq!(d.ineligible.len(), 3);
        assert_eq!(
            d.explanation(&catalog()),
            "no action: no action is eligible for this customer"
        );
    }
}
