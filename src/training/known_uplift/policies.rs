//! What decisions are worth when the truth is known: the segment `rm_call` drives away, and
//! campaigns planned at the same budget by three policies, each valued with the true uplift:
//! `Σ over targeted customers of τ_true(x, a) × value_at_risk(x) − cost(a)`.

use super::Assessed;
use crate::batch::plan::{self, Assignment, Candidates, Choice, Limits};
use crate::domain::Decision;
use crate::training::campaign_history::{CampaignCustomer, CAMPAIGN_ACTIONS};

/// Index of `rm_call` among the campaign actions.
const RM_CALL: usize = 1;

/// Age below which `rm_call` raises churn (`campaign_history::log_odds_shift`).
const HARMED_BELOW_AGE: u32 = 35;

/// How the two bundles treat the customers `rm_call` drives away (under 35).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HarmfulSegment {
    /// Customers under 35.
    pub customers: usize,
    /// Of them, those whose learned τ for `rm_call` is negative.
    pub learned_negative: usize,
    /// Of them, those whose best action with learned uplift is `rm_call`.
    pub learned_recommended: usize,
    /// Of them, those whose best action on the catalog priors is `rm_call`.
    pub prior_recommended: usize,
    /// True value of the prior's `rm_call` recommendations to them: Σ τ_true × value at risk −
    /// cost (negative: the calls lose customers and cost money).
    pub prior_true_value: f64,
}

/// Counts how the learned and the prior decisions treat the customers under 35.
pub fn rm_call_under_35(customers: &[CampaignCustomer], assessed: &Assessed) -> HarmfulSegment {
    let recommends = |d: &Decision| d.best().is_some_and(|o| o.action == RM_CALL);
    let mut out = HarmfulSegment {
        customers: 0,
        learned_negative: 0,
        learned_recommended: 0,
        prior_recommended: 0,
        prior_true_value: 0.0,
    };
    for (i, c) in customers.iter().enumerate() {
        if c.profile.age_years >= HARMED_BELOW_AGE {
            continue;
        }
        out.customers += 1;
        out.learned_negative +=
            usize::from(assessed.learned_tau[i][RM_CALL].is_some_and(|t| t < 0.0));
        out.learned_recommended += usize::from(recommends(&assessed.learned[i]));
        if recommends(&assessed.prior[i]) {
            out.prior_recommended += 1;
            out.prior_true_value +=
                c.true_uplift[RM_CALL] * assessed.value_at_risk[i] - assessed.costs[RM_CALL];
        }
    }
    out
}

/// A way of choosing whom to target within a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `plan::greedy` on the expected values with learned uplift.
    LearnedUplift,
    /// `plan::greedy` on the expected values of the same bundle with its catalog priors only.
    PriorUplift,
    /// `plan::naive` on the priors: highest churn probability first, each customer's best
    /// action, until the budget runs out.
    HighestRiskFirst,
}

impl Policy {
    /// The three, in the order they are reported.
    pub const ALL: [Policy; 3] = [
        Policy::LearnedUplift,
        Policy::PriorUplift,
        Policy::HighestRiskFirst,
    ];

    /// A short description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Self::LearnedUplift => "(a) learned uplift, greedy by EV",
            Self::PriorUplift => "(b) catalog priors, greedy by EV",
            Self::HighestRiskFirst => "(c) highest churn risk first, prior's best action",
        }
    }
}

/// A policy's plan at one budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyValue {
    /// The policy.
    pub policy: Policy,
    /// Customers targeted.
    pub targeted: u64,
    /// Money spent (≤ the budget).
    pub cost: f64,
    /// Total EV the plan expected, by its own τ.
    pub expected_value: f64,
    /// Total EV with the true τ: value actually retained, net of cost.
    pub true_value: f64,
    /// Targeted customers per campaign action.
    pub per_action: [u64; CAMPAIGN_ACTIONS.len()],
}

/// The three policies' plans at `budget` (no per-action capacity, no control group), valued
/// with the true τ.
pub fn compare_policies(
    customers: &[CampaignCustomer],
    assessed: &Assessed,
    budget: f64,
) -> [PolicyValue; 3] {
    let limits = Limits {
        budget,
        capacity: vec![None; CAMPAIGN_ACTIONS.len()],
    };
    let learned = candidates(assessed, &assessed.learned);
    let prior = candidates(assessed, &assessed.prior);
    Policy::ALL.map(|policy| {
        let (c, plan) = match policy {
            Policy::LearnedUplift => (&learned, plan::greedy(&learned, &limits)),
            Policy::PriorUplift => (&prior, plan::greedy(&prior, &limits)),
            Policy::HighestRiskFirst => (&prior, plan::naive(&prior, &limits)),
        };
        let mut true_value = 0.0;
        let mut per_action = [0; CAMPAIGN_ACTIONS.len()];
        for (i, a) in plan.assignments.iter().enumerate() {
            if let Assignment::Target(k) = a {
                let o = c.options(i)[*k as usize];
                let action = o.action as usize;
                true_value += customers[i].true_uplift[action] * assessed.value_at_risk[i] - o.cost;
                per_action[action] += 1;
            }
        }
        PolicyValue {
            policy,
            targeted: plan.totals.targeted,
            cost: plan.totals.cost,
            expected_value: plan.totals.expected_value,
            true_value,
            per_action,
        }
    })
}

/// Every customer's actions worth taking (τ > 0 and EV > 0), action indices in campaign order.
fn candidates(assessed: &Assessed, decisions: &[Decision]) -> Candidates {
    let mut c = Candidates::new();
    for id in CAMPAIGN_ACTIONS {
        c.action_index(id);
    }
    for (i, d) in decisions.iter().enumerate() {
        let options = d
            .ranked
            .iter()
            .filter(|o| o.worth_taking())
            .map(|o| Choice {
                action: o.action as u16,
                expected_value: o.expected_value,
                cost: assessed.costs[o.action],
            });
        c.push(assessed.p_churn[i], false, options);
    }
    c
}
