//! Next best retention action: eligibility gates, then `EV(a) = τ_a(x) × value_at_risk − cost(a)`.
//!
//! `τ_a(x)` is the reduction in this customer's churn probability that action `a` causes (its
//! uplift). From the bundle's learned uplift models it is `p_control(x) − p_a(x)`; for an action
//! without one it is `p_churn × u(a)`, the catalog's prior share of would-be churners the action
//! keeps. The customer's risk enters once, through `τ`: value at risk is the lifetime value if
//! the customer stays (DOMAIN §1, §5).
//!
//! Length: the worked-number tests of the expected-value rule sit beside it (about half the file).

use super::actions::{check_eligibility, ActionCatalog, IneligibilityRule};
use super::exploration::{ControlGroup, Exploration};
use super::profile::CustomerProfile;
use super::tier::ValueTier;

/// Where an action's uplift for one customer comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UpliftSource {
    /// `τ = p_churn × share`: the catalog's prior share of would-be churners the action keeps
    /// (for the customer's tier).
    Prior {
        /// The prior `u(a)`.
        share: f64,
    },
    /// `τ = p_control − p_action`, from the bundle's learned uplift models.
    Learned {
        /// Churn probability without contact (the control-group model).
        p_control: f64,
        /// Churn probability with the action (the action's model).
        p_action: f64,
    },
}

/// An eligible action with its expected value for one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionOption {
    /// Index into the catalog's actions.
    pub action: usize,
    /// `τ`: the reduction in churn probability the action causes for this customer (negative:
    /// contact makes leaving likelier).
    pub uplift: f64,
    /// How `uplift` was obtained.
    pub source: UpliftSource,
    /// `τ × value_at_risk − cost`.
    pub expected_value: f64,
}

impl ActionOption {
    /// Whether the action may be recommended: it must reduce churn (`τ > 0`) and pay (`EV > 0`).
    #[inline]
    pub fn worth_taking(&self) -> bool {
        self.uplift > 0.0 && self.expected_value > 0.0
    }
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
    /// Index in `ranked` of the action the policy takes: 0 (the highest expected value) unless
    /// the bundle's exploration chose another action worth taking.
    pub chosen: usize,
    /// The probability with which the policy made this decision (1 when deterministic).
    pub propensity: f64,
    /// The customer is in the bundle's control group: the action the policy chose is withheld
    /// ([`Decision::withheld`]) and nothing is done.
    pub control: bool,
}

/// How a bundle's policy decides among the ranked actions: exploration and a control group.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy<'a> {
    /// ε-exploration among actions worth taking.
    pub exploration: Option<&'a Exploration>,
    /// Customers held out to measure what actions achieve.
    pub control_group: Option<&'a ControlGroup>,
}

impl Decision {
    /// The action the policy takes: the highest expected value if it is positive and the action
    /// reduces churn (`τ > 0`), or the action exploration chose among those.
    /// `None` for a customer in the control group.
    #[inline]
    pub fn best(&self) -> Option<&ActionOption> {
        if self.control {
            return None;
        }
        self.ranked.get(self.chosen).filter(|o| o.worth_taking())
    }

    /// The id of the action taken, or [`NO_ACTION`](super::actions::NO_ACTION).
    pub fn best_action_id<'a>(&self, catalog: &'a ActionCatalog) -> &'a str {
        self.best()
            .map_or(super::actions::NO_ACTION, |o| catalog.id(o.action))
    }

    /// For a customer in the control group, the action the policy would have taken.
    pub fn withheld(&self) -> Option<&ActionOption> {
        if !self.control {
            return None;
        }
        self.ranked.get(self.chosen).filter(|o| o.worth_taking())
    }

    /// The runner-up behind the highest expected value when the policy takes it, if any.
    pub fn runner_up(&self) -> Option<&ActionOption> {
        if self.explored() {
            return None;
        }
        self.best().and(self.ranked.get(1))
    }

    /// Whether exploration chose an action other than the highest expected value.
    pub fn explored(&self) -> bool {
        self.chosen > 0
    }
}

/// One customer as the arbitration sees them.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// The profile the eligibility gates read.
    pub profile: &'a CustomerProfile,
    /// The value tier.
    pub tier: ValueTier,
    /// Churn probability (base model).
    pub p_churn: f64,
    /// Lifetime value if kept, plus influence.
    pub value_at_risk: f64,
}

/// Learned uplift for one customer: `learned(i)` gives `(p_control, p_action)` for catalog action
/// `i` when the bundle has a learned model for it. [`NoLearnedUplift`] when it has none.
pub trait LearnedUplift {
    /// `(p_control, p_action)` for catalog action `action`, or `None` to use the prior.
    fn probabilities(&mut self, action: usize) -> Option<(f64, f64)>;
}

/// Every action uses its catalog prior.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLearnedUplift;

impl LearnedUplift for NoLearnedUplift {
    #[inline]
    fn probabilities(&mut self, _action: usize) -> Option<(f64, f64)> {
        None
    }
}

/// Ranks every eligible action by expected value, all on catalog priors.
///
/// Ties keep catalog order, so the same inputs always give the same decision.
pub fn arbitrate(
    catalog: &ActionCatalog,
    customer: Situation<'_>,
    collect_ineligible: bool,
) -> Decision {
    let mut decision = Decision::default();
    arbitrate_into(
        catalog,
        customer,
        &mut NoLearnedUplift,
        Policy::default(),
        collect_ineligible,
        &mut decision,
    );
    decision
}

/// Ranks every eligible action into `decision`, reusing its buffers (customer after customer),
/// with learned uplift where `learned` has it, then chooses: the highest expected value, or with
/// exploration sometimes another action worth taking; a customer of the control group gets none.
/// The decision records its probability under `policy`.
pub fn arbitrate_into(
    catalog: &ActionCatalog,
    customer: Situation<'_>,
    learned: &mut impl LearnedUplift,
    policy: Policy<'_>,
    collect_ineligible: bool,
    decision: &mut Decision,
) {
    let Decision {
        ranked,
        ineligible,
        value_at_risk: at_risk,
        chosen,
        propensity,
        control,
    } = decision;
    ranked.clear();
    ranked.reserve(catalog.actions.len());
    ineligible.clear();
    *at_risk = customer.value_at_risk;
    for (i, action) in catalog.actions.iter().enumerate() {
        match check_eligibility(
            action,
            &catalog.contact_policy,
            customer.profile,
            customer.tier,
            customer.p_churn,
        ) {
            Ok(()) => {
                let (uplift, source) = match learned.probabilities(i) {
                    Some((p_control, p_action)) => (
                        p_control - p_action,
                        UpliftSource::Learned {
                            p_control,
                            p_action,
                        },
                    ),
                    None => {
                        let share = action.uplift_for(customer.tier);
                        (customer.p_churn * share, UpliftSource::Prior { share })
                    }
                };
                ranked.push(ActionOption {
                    action: i,
                    uplift,
                    source,
                    expected_value: uplift * customer.value_at_risk - action.cost,
                });
            }
            Err(rule) if collect_ineligible => ineligible.push(Ineligible { action: i, rule }),
            Err(_) => {}
        }
    }
    // Stable sort: equal EVs keep catalog order.
    ranked.sort_by(|a, b| b.expected_value.total_cmp(&a.expected_value));
    // Actions worth taking are a prefix: EV > 0 implies τ > 0 (value at risk, cost >= 0).
    let k = ranked.iter().take_while(|o| o.worth_taking()).count();
    let id = &customer.profile.customer_id;
    (*chosen, *propensity) = match policy.exploration {
        Some(e) if k > 0 => {
            let c = e.choose(id, k);
            (c.index, c.propensity)
        }
        _ => (0, 1.0),
    };
    // Held out only when there is something to withhold: otherwise no action is certain.
    *control = false;
    if let (Some(group), true) = (policy.control_group, k > 0) {
        if group.contains(id) {
            *control = true;
            *propensity = group.share;
        } else {
            *propensity *= 1.0 - group.share;
        }
    }
}

impl Decision {
    /// Why the decision is what it is, naming actions through `catalog`.
    pub fn explanation(&self, catalog: &ActionCatalog) -> String {
        let name = |o: &ActionOption| catalog.actions[o.action].id.as_str();
        if let Some(held) = self.withheld() {
            return format!(
                "no action: the customer is in the control group; `{}` (expected value {:.2}) is \
                 withheld to measure what retention actions achieve",
                name(held),
                held.expected_value
            );
        }
        if let (true, Some(taken), Some(top)) = (self.explored(), self.best(), self.ranked.first())
        {
            return format!(
                "`{}` chosen by exploration (probability {:.4}), expected value {:.2}; the highest \
                 expected value is `{}`'s ({:.2})",
                name(taken),
                self.propensity,
                taken.expected_value,
                name(top),
                top.expected_value
            );
        }
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
            (None, Some(top)) if top.uplift <= 0.0 => format!(
                "no action: contact would make leaving likelier: the best eligible action `{}` has τ = {:.3}",
                name(top),
                top.uplift
            ),
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

/// Why `option` ranks where it does, with the numbers of the formula, e.g.
/// "EV = τ 0.060000 (p_churn 0.300000 × prior uplift 0.200) × value at risk 1500.00 − cost 25.00 =
/// 65.00". τ and the probabilities have six decimals so that the product can be checked by hand
/// to the cent on values at risk up to about 10,000.
pub fn option_reason(
    catalog: &ActionCatalog,
    option: &ActionOption,
    p_churn: f64,
    value_at_risk: f64,
) -> String {
    let cost = catalog.actions[option.action].cost;
    let tau = option.uplift;
    let verdict = if tau <= 0.0 {
        format!("; contact would make leaving likelier: τ = {tau:.3}, never recommended")
    } else if option.expected_value <= 0.0 {
        "; not worth its cost".to_owned()
    } else {
        String::new()
    };
    let why_tau = match option.source {
        UpliftSource::Prior { share } => {
            format!("p_churn {p_churn:.6} × prior uplift {share:.3}")
        }
        UpliftSource::Learned {
            p_control,
            p_action,
        } => format!("learned: p_churn without contact {p_control:.6} − with it {p_action:.6}"),
    };
    format!(
        "EV = τ {tau:.6} ({why_tau}) × value at risk {value_at_risk:.2} − cost {cost:.2} = {:.2}{verdict}",
        option.expected_value
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

    fn situation(
        profile: &CustomerProfile,
        tier: ValueTier,
        p_churn: f64,
        value_at_risk: f64,
    ) -> Situation<'_> {
        Situation {
            profile,
            tier,
            p_churn,
            value_at_risk,
        }
    }

    /// Learned probabilities for some actions, by catalog index.
    struct Table(Vec<Option<(f64, f64)>>);

    impl LearnedUplift for Table {
        fn probabilities(&mut self, action: usize) -> Option<(f64, f64)> {
            self.0.get(action).copied().flatten()
        }
    }

    #[test]
    fn the_action_with_the_highest_positive_expected_value_wins() {
        // p = 0.3, VaR = 1000: fee_waiver τ = 0.3·0.2 = 0.06, EV 60 − 25 = 35;
        // rm_call τ = 0.3·0.3 = 0.09, EV 90 − 40 = 50.
        let p = sample_profile();
        let d = arbitrate(&catalog(), situation(&p, ValueTier::B, 0.3, 1000.0), false);
        assert_eq!(d.ranked.len(), 2);
        let best = d.best().unwrap();
        assert_eq!(best.action, 1);
        assert!((best.uplift - 0.09).abs() < 1e-12);
        assert!((best.expected_value - 50.0).abs() < 1e-9);
        assert!((d.ranked[1].expected_value - 35.0).abs() < 1e-9);
        let why = d.explanation(&catalog());
        assert!(
            why.contains("`rm_call`") && why.contains("15.00 more than `fee_waiver`"),
            "{why}"
        );
        assert_eq!(
            option_reason(&catalog(), best, 0.3, 1000.0),
            "EV = τ 0.090000 (p_churn 0.300000 × prior uplift 0.300) × value at risk 1000.00 − cost 40.00 = 50.00"
        );
    }

    #[test]
    fn the_customers_risk_counts_once_so_the_riskiest_customer_is_worth_the_most() {
        // Same value at risk 2000, prior 0.3, cost 40: EV = p·0.3·2000 − 40 rises with p, where
        // discounting the value by the same risk again made it peak at p = 0.5.
        let p = sample_profile();
        let ev = |p_churn| {
            arbitrate(
                &catalog(),
                situation(&p, ValueTier::B, p_churn, 2000.0),
                false,
            )
            .best()
            .map(|o| o.expected_value)
        };
        assert!((ev(0.5).unwrap() - 260.0).abs() < 1e-9);
        assert!((ev(0.9).unwrap() - 500.0).abs() < 1e-9);
        assert!(ev(0.9) > ev(0.5));
    }

    #[test]
    fn no_action_when_nothing_is_worth_its_cost() {
        // p = 0.05, VaR = 1000: fee_waiver 10 − 25 = −15; rm_call 15 − 40 = −25.
        let p = sample_profile();
        let d = arbitrate(&catalog(), situation(&p, ValueTier::B, 0.05, 1000.0), false);
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
        let p = sample_profile();
        let d = arbitrate(&c, situation(&p, ValueTier::C, 0.4, 800.0), false);
        assert!(d.best().is_none());
        let why = option_reason(&c, &d.ranked[0], 0.4, 800.0);
        assert!(
            why.contains("contact would make leaving likelier: τ = -0.040"),
            "{why}"
        );
    }

    #[test]
    fn learned_uplift_replaces_the_prior_where_the_bundle_has_a_model() {
        // VaR 1000. fee_waiver learned: p_control 0.30 − p_action 0.22 = τ 0.08, EV 80 − 25 = 55.
        // rm_call prior: τ = 0.3·0.3 = 0.09, EV 90 − 40 = 50.
        let p = sample_profile();
        let mut learned = Table(vec![Some((0.30, 0.22)), None]);
        let mut d = Decision::default();
        arbitrate_into(
            &catalog(),
            situation(&p, ValueTier::B, 0.3, 1000.0),
            &mut learned,
            Policy::default(),
            false,
            &mut d,
        );
        let best = d.best().unwrap();
        assert_eq!(best.action, 0);
        assert!((best.uplift - 0.08).abs() < 1e-12);
        assert!((best.expected_value - 55.0).abs() < 1e-9);
        assert_eq!(
            best.source,
            UpliftSource::Learned {
                p_control: 0.30,
                p_action: 0.22
            }
        );
        assert_eq!(d.ranked[1].source, UpliftSource::Prior { share: 0.3 });
        assert_eq!(
            option_reason(&catalog(), best, 0.3, 1000.0),
            "EV = τ 0.080000 (learned: p_churn without contact 0.300000 − with it 0.220000) × value at risk 1000.00 − cost 25.00 = 55.00"
        );
    }

    #[test]
    fn an_action_that_makes_leaving_likelier_is_never_recommended_even_when_free() {
        // A free action with τ = 0.30 − 0.331 = −0.031: EV −31 (never positive), and with the
        // only other action also harmful the answer is no action, saying why.
        let mut c = catalog();
        c.actions = vec![action("rm_call", 0.0, 0.3), action("fee_waiver", 0.0, 0.2)];
        let p = sample_profile();
        let mut learned = Table(vec![Some((0.30, 0.331)), Some((0.30, 0.35))]);
        let mut d = Decision::default();
        arbitrate_into(
            &c,
            situation(&p, ValueTier::B, 0.3, 1000.0),
            &mut learned,
            Policy::default(),
            false,
            &mut d,
        );
        assert!(d.best().is_none());
        assert_eq!(
            d.explanation(&c),
            "no action: contact would make leaving likelier: the best eligible action `rm_call` has τ = -0.031"
        );
        // With no value at risk a harmful free action has EV 0: still never recommended.
        let zero = ActionOption {
            action: 0,
            uplift: -0.031,
            source: UpliftSource::Prior { share: -0.1 },
            expected_value: 0.0,
        };
        assert!(!zero.worth_taking());
    }

    #[test]
    fn exploration_takes_another_action_worth_taking_and_records_its_probability() {
        // p = 0.3, VaR 1000: rm_call EV 50 and fee_waiver EV 35 are both worth taking (k = 2).
        // ε = 0.5: rm_call 1 − 0.5 + 0.25 = 0.75, fee_waiver 0.25.
        let explore = Exploration {
            epsilon: 0.5,
            salt: "2026-12".into(),
        };
        let mut seen = [0usize; 2];
        for i in 0..400 {
            let mut p = sample_profile();
            p.customer_id = format!("C{i}");
            let mut d = Decision::default();
            arbitrate_into(
                &catalog(),
                situation(&p, ValueTier::B, 0.3, 1000.0),
                &mut NoLearnedUplift,
                Policy {
                    exploration: Some(&explore),
                    control_group: None,
                },
                false,
                &mut d,
            );
            let taken = d.best().unwrap();
            if d.explored() {
                seen[1] += 1;
                assert_eq!(taken.action, 0);
                assert_eq!(d.propensity, 0.25);
                assert_eq!(
                    d.explanation(&catalog()),
                    "`fee_waiver` chosen by exploration (probability 0.2500), expected value 35.00; \
                     the highest expected value is `rm_call`'s (50.00)"
                );
            } else {
                seen[0] += 1;
                assert_eq!(taken.action, 1);
                assert_eq!(d.propensity, 0.75);
            }
        }
        assert!(seen[1] > 60 && seen[1] < 140, "{seen:?}");
        // Without exploration every decision is deterministic.
        let p = sample_profile();
        let d = arbitrate(&catalog(), situation(&p, ValueTier::B, 0.3, 1000.0), false);
        assert_eq!((d.chosen, d.propensity), (0, 1.0));
    }

    #[test]
    fn a_customer_in_the_control_group_gets_no_action_and_the_withheld_one_is_named() {
        // Share 0.5: about half are held out. p = 0.3, VaR 1000: rm_call (EV 50) is worth taking.
        let group = ControlGroup {
            share: 0.5,
            salt: "2026-12".into(),
        };
        let policy = Policy {
            exploration: None,
            control_group: Some(&group),
        };
        let mut held = 0;
        for i in 0..200 {
            let mut p = sample_profile();
            p.customer_id = format!("C{i}");
            let mut d = Decision::default();
            arbitrate_into(
                &catalog(),
                situation(&p, ValueTier::B, 0.3, 1000.0),
                &mut NoLearnedUplift,
                policy,
                false,
                &mut d,
            );
            assert_eq!(d.control, group.contains(&p.customer_id));
            assert_eq!(d.propensity, 0.5);
            if d.control {
                held += 1;
                assert!(d.best().is_none());
                assert_eq!(d.withheld().unwrap().action, 1);
                assert_eq!(
                    d.explanation(&catalog()),
                    "no action: the customer is in the control group; `rm_call` (expected value \
                     50.00) is withheld to measure what retention actions achieve"
                );
            } else {
                assert_eq!(d.best().unwrap().action, 1);
                assert!(d.withheld().is_none());
            }
        }
        assert!((70..130).contains(&held), "{held}");
        // Nothing worth taking: no action for certain, whatever the group.
        let mut d = Decision::default();
        arbitrate_into(
            &catalog(),
            situation(&sample_profile(), ValueTier::B, 0.01, 1000.0),
            &mut NoLearnedUplift,
            policy,
            false,
            &mut d,
        );
        assert!(!d.control && d.propensity == 1.0);
    }

    #[test]
    fn ineligible_actions_are_listed_with_their_rule_only_on_request() {
        let p = sample_profile();
        let d = arbitrate(&catalog(), situation(&p, ValueTier::B, 0.3, 1000.0), true);
        assert_eq!(
            d.ineligible,
            vec![Ineligible {
                action: 2,
                rule: IneligibilityRule::OpenComplaint
            }]
        );
        let quiet = arbitrate(&catalog(), situation(&p, ValueTier::B, 0.3, 1000.0), false);
        assert!(quiet.ineligible.is_empty());
    }

    #[test]
    fn no_consent_leaves_nothing_eligible() {
        let mut p = sample_profile();
        p.contact_consent = false;
        let d = arbitrate(&catalog(), situation(&p, ValueTier::A, 0.9, 1e6), true);
        assert!(d.ranked.is_empty());
        assert_eq!(d.ineligible.len(), 3);
        assert_eq!(
            d.explanation(&catalog()),
            "no action: no action is eligible for this customer"
        );
    }
}
