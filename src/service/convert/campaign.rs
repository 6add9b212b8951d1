//! `PlanCampaign` replies: each customer's assignment and the plan's totals.

use crate::batch::plan::{Assignment, Candidates, Totals};
use crate::service::pb;

/// A plan's totals.
pub fn plan_totals(t: Totals) -> pb::PlanTotals {
    pb::PlanTotals {
        targeted: t.targeted,
        cost: t.cost,
        expected_value: t.expected_value,
    }
}

/// Customer `i`'s place in the plan (its propensity and value at risk are the caller's to set).
pub fn plan_assignment(c: &Candidates, id: &str, i: usize, a: Assignment) -> pb::PlanAssignment {
    let mut out = pb::PlanAssignment {
        customer_id: id.to_owned(),
        ..Default::default()
    };
    match a {
        Assignment::None => out.set_decision(pb::PlanDecision::None),
        Assignment::Control => {
            out.set_decision(pb::PlanDecision::Control);
            out.withheld_action_id = c.would_be_action(i).unwrap_or_default().to_owned();
        }
        Assignment::Target(k) => {
            let o = c.options(i)[k as usize];
            out.set_decision(pb::PlanDecision::Target);
            out.action_id = c.actions[o.action as usize].clone();
            out.expected_value = o.expected_value;
            out.cost = o.cost;
        }
    }
    out
}
