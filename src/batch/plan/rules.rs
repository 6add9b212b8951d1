//! The rules every campaign follows, whether its customers come from a scored file (`bankscore
//! plan`) or over gRPC (`PlanCampaign`): the settings' ranges, each customer once, at most
//! [`MAX_ACTIONS_PER_CANDIDATE`] candidate actions with finite expected values and costs, at
//! most [`MAX_CAMPAIGN_CANDIDATES`] customers, and the control group assigned by
//! [`in_control_group`] as customers arrive.

use std::collections::HashSet;

use super::{in_control_group, Candidates, Choice, Limits};

/// Customers one campaign may hold.
pub const MAX_CAMPAIGN_CANDIDATES: usize = 50_000_000;
/// Candidate actions one customer may have (options are indexed by a byte).
pub const MAX_ACTIONS_PER_CANDIDATE: usize = u8::MAX as usize;

/// Why a campaign's settings or one of its customers cannot be planned. `field` names the
/// setting or the customer as the API does; the message is the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    /// The budget is negative or not finite.
    #[error("{0} is not a finite amount >= 0")]
    Budget(f64),
    /// The control share is outside 0..=0.5.
    #[error("{0} is outside 0..=0.5")]
    ControlShare(f64),
    /// A control group without a campaign id to hash with.
    #[error("is required for a control group")]
    CampaignIdRequired,
    /// More customers than one campaign may hold.
    #[error("more than {MAX_CAMPAIGN_CANDIDATES} customers in one campaign")]
    TooManyCustomers,
    /// A customer sent twice.
    #[error("the customer appears twice; send each customer once with all their actions")]
    Duplicate {
        /// The customer.
        customer: String,
    },
    /// More candidate actions than a customer may have.
    #[error("{count} actions, at most {MAX_ACTIONS_PER_CANDIDATE}")]
    TooManyActions {
        /// The customer.
        customer: String,
        /// Actions sent.
        count: usize,
    },
    /// A candidate action whose expected value or cost is unusable.
    #[error("`{action}` needs a finite expected value and a finite cost >= 0")]
    BadAction {
        /// The customer.
        customer: String,
        /// The action.
        action: String,
    },
    /// More distinct action ids than the planner indexes.
    #[error("more than 65,535 distinct action ids")]
    TooManyActionIds,
    /// A value at risk that is negative or not finite.
    #[error("{value} is not a finite amount >= 0")]
    BadValueAtRisk {
        /// The customer.
        customer: String,
        /// The value sent.
        value: f64,
    },
}

impl CampaignError {
    /// The setting or customer field the problem is in, e.g. `budget` or
    /// `candidates[C-1].value_at_risk`.
    pub fn field(&self) -> String {
        match self {
            Self::Budget(_) => "budget".into(),
            Self::ControlShare(_) => "control_share".into(),
            Self::CampaignIdRequired => "campaign_id".into(),
            Self::TooManyCustomers | Self::TooManyActionIds => "candidates".into(),
            Self::Duplicate { customer } => format!("candidates[{customer}]"),
            Self::TooManyActions { customer, .. } | Self::BadAction { customer, .. } => {
                format!("candidates[{customer}].actions")
            }
            Self::BadValueAtRisk { customer, .. } => {
                format!("candidates[{customer}].value_at_risk")
            }
        }
    }
}

/// A campaign's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CampaignRules<'a> {
    /// With the customer id, decides the control group.
    pub campaign_id: &'a str,
    /// Total budget.
    pub budget: f64,
    /// Share of customers held out, 0..=0.5.
    pub control_share: f64,
}

impl CampaignRules<'_> {
    /// Checks the settings.
    ///
    /// # Errors
    /// A budget that is negative or not finite, a control share outside 0..=0.5, or a control
    /// group without a campaign id.
    pub fn check(&self) -> Result<(), CampaignError> {
        if !(self.budget.is_finite() && self.budget >= 0.0) {
            return Err(CampaignError::Budget(self.budget));
        }
        if !(0.0..=0.5).contains(&self.control_share) {
            return Err(CampaignError::ControlShare(self.control_share));
        }
        if self.control_share > 0.0 && self.campaign_id.is_empty() {
            return Err(CampaignError::CampaignIdRequired);
        }
        Ok(())
    }
}

/// One candidate action as it arrives: its id, expected value and cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateAction<'a> {
    /// Action id.
    pub action: &'a str,
    /// Expected value.
    pub expected_value: f64,
    /// Cost.
    pub cost: f64,
}

/// A campaign's customers, gathered under the rules as they arrive.
#[derive(Debug)]
pub struct Campaign {
    campaign_id: String,
    budget: f64,
    control_share: f64,
    /// The customers, as the planner reads them.
    pub candidates: Candidates,
    /// Customer ids, in arrival order.
    pub ids: Vec<String>,
    /// Value at risk per customer, in arrival order.
    pub value_at_risk: Vec<f64>,
    seen: HashSet<String>,
}

impl Campaign {
    /// An empty campaign under `rules`.
    ///
    /// # Errors
    /// See [`CampaignRules::check`].
    pub fn new(rules: CampaignRules<'_>) -> Result<Self, CampaignError> {
        rules.check()?;
        Ok(Self {
            campaign_id: rules.campaign_id.to_owned(),
            budget: rules.budget,
            control_share: rules.control_share,
            candidates: Candidates::new(),
            ids: Vec::new(),
            value_at_risk: Vec::new(),
            seen: HashSet::new(),
        })
    }

    /// The budget and, per action the customers have, the capacity `capacity` gives it (`None`:
    /// unlimited): what the planner needs besides the customers.
    pub fn limits(&self, capacity: impl Fn(&str) -> Option<u64>) -> Limits {
        Limits {
            budget: self.budget,
            capacity: self
                .candidates
                .actions
                .iter()
                .map(|a| capacity(a))
                .collect(),
        }
    }

    /// Adds a customer, in the control group when the hash puts them there.
    ///
    /// # Errors
    /// The campaign is full, the customer was already added, has too many actions or one with
    /// an unusable expected value or cost, or an unusable value at risk; nothing is added.
    pub fn add<'a>(
        &mut self,
        customer_id: &str,
        churn_probability: f64,
        value_at_risk: f64,
        actions: impl ExactSizeIterator<Item = CandidateAction<'a>>,
    ) -> Result<(), CampaignError> {
        let customer = || customer_id.to_owned();
        if self.ids.len() >= MAX_CAMPAIGN_CANDIDATES {
            return Err(CampaignError::TooManyCustomers);
        }
        if actions.len() > MAX_ACTIONS_PER_CANDIDATE {
            return Err(CampaignError::TooManyActions {
                customer: customer(),
                count: actions.len(),
            });
        }
        if !(value_at_risk.is_finite() && value_at_risk >= 0.0) {
            return Err(CampaignError::BadValueAtRisk {
                customer: customer(),
                value: value_at_risk,
            });
        }
        if self.seen.contains(customer_id) {
            return Err(CampaignError::Duplicate {
                customer: customer(),
            });
        }
        let mut options = Vec::with_capacity(actions.len());
        for a in actions {
            if !(a.expected_value.is_finite() && a.cost.is_finite() && a.cost >= 0.0) {
                return Err(CampaignError::BadAction {
                    customer: customer(),
                    action: a.action.to_owned(),
                });
            }
            options.push(Choice {
                action: self
                    .candidates
                    .action_index(a.action)
                    .ok_or(CampaignError::TooManyActionIds)?,
                expected_value: a.expected_value,
                cost: a.cost,
            });
        }
        let control = in_control_group(customer_id, &self.campaign_id, self.control_share);
        self.candidates.push(churn_probability, control, options);
        self.seen.insert(customer());
        self.ids.push(customer());
        self.value_at_risk.push(value_at_risk);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(budget: f64, control_share: f64, campaign_id: &str) -> CampaignRules<'_> {
        CampaignRules {
            campaign_id,
            budget,
            control_share,
        }
    }

    fn action(action: &str, expected_value: f64, cost: f64) -> CandidateAction<'_> {
        CandidateAction {
            action,
            expected_value,
            cost,
        }
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        let cases = [
            (
                rules(-1.0, 0.0, ""),
                "budget",
                "-1 is not a finite amount >= 0",
            ),
            (
                rules(f64::NAN, 0.0, ""),
                "budget",
                "NaN is not a finite amount >= 0",
            ),
            (
                rules(10.0, 0.7, "c"),
                "control_share",
                "0.7 is outside 0..=0.5",
            ),
            (
                rules(10.0, 0.1, ""),
                "campaign_id",
                "is required for a control group",
            ),
        ];
        for (r, field, problem) in cases {
            let e = Campaign::new(r).unwrap_err();
            assert_eq!(
                (e.field().as_str(), e.to_string().as_str()),
                (field, problem)
            );
        }
        assert!(Campaign::new(rules(0.0, 0.0, "")).is_ok());
        assert!(Campaign::new(rules(10.0, 0.5, "q1")).is_ok());
    }

    #[test]
    fn a_bad_customer_is_refused_naming_it_and_nothing_of_it_is_added() {
        let mut c = Campaign::new(rules(100.0, 0.0, "")).unwrap();
        c.add(
            "C1",
            0.3,
            500.0,
            [action("rm_call", 40.0, 25.0)].into_iter(),
        )
        .unwrap();
        let twice = c.add("C1", 0.3, 500.0, std::iter::empty()).unwrap_err();
        assert_eq!(twice.field(), "candidates[C1]");
        let bad_cost = c
            .add(
                "C2",
                0.3,
                500.0,
                [action("fee_waiver", 5.0, -1.0)].into_iter(),
            )
            .unwrap_err();
        assert_eq!(
            (bad_cost.field().as_str(), bad_cost.to_string().as_str()),
            (
                "candidates[C2].actions",
                "`fee_waiver` needs a finite expected value and a finite cost >= 0"
            )
        );
        let bad_value = c
            .add("C3", 0.3, f64::INFINITY, std::iter::empty())
            .unwrap_err();
        assert_eq!(bad_value.field(), "candidates[C3].value_at_risk");
        let many = vec![action("rm_call", 1.0, 1.0); MAX_ACTIONS_PER_CANDIDATE + 1];
        let too_many = c.add("C4", 0.3, 1.0, many.into_iter()).unwrap_err();
        assert_eq!(too_many.to_string(), "256 actions, at most 255");
        // The refused customers left nothing behind: C2 can be sent again, well formed.
        c.add(
            "C2",
            0.3,
            10.0,
            [action("fee_waiver", 5.0, 1.0)].into_iter(),
        )
        .unwrap();
        assert_eq!(c.ids, ["C1", "C2"]);
        assert_eq!(c.value_at_risk, [500.0, 10.0]);
        assert_eq!(c.candidates.len(), 2);
    }

    #[test]
    fn the_control_group_is_the_documented_hash_of_campaign_and_customer() {
        let mut c = Campaign::new(rules(100.0, 0.3, "2027-q1")).unwrap();
        for i in 0..500 {
            c.add(&format!("C{i}"), 0.2, 100.0, std::iter::empty())
                .unwrap();
        }
        for (i, id) in c.ids.iter().enumerate() {
            assert_eq!(
                c.candidates.control[i],
                in_control_group(id, "2027-q1", 0.3),
                "{id}"
            );
        }
        let held_out = c.candidates.control.iter().filter(|&&h| h).count();
        assert!((100..200).contains(&held_out), "{held_out} of 500 at 30%");
    }
}
