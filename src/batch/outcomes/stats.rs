//! The arithmetic of lift: churn rates, their difference with a Wald interval, and what the
//! difference is worth. Pure functions over counts, no I/O.

/// The two-sided 95% normal quantile, `Φ⁻¹(0.975)`.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Below this many customers in either group, a difference is "too small to tell".
pub const MIN_CUSTOMERS: u64 = 30;

/// Below this many churners in either group, a difference is "too small to tell" (the normal
/// approximation behind the Wald interval needs a few events on each side).
pub const MIN_CHURNERS: u64 = 5;

/// Customers with a known outcome, and how many of them churned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Tally {
    /// Customers with a known outcome.
    pub customers: u64,
    /// Of whom churned.
    pub churned: u64,
}

impl Tally {
    /// Adds one customer's outcome.
    pub fn add(&mut self, churned: bool) {
        self.customers += 1;
        self.churned += u64::from(churned);
    }

    /// The churn rate, `None` without customers.
    pub fn rate(&self) -> Option<f64> {
        (self.customers > 0).then(|| self.churned as f64 / self.customers as f64)
    }

    /// Whether the group is big enough for the normal approximation.
    pub fn large_enough(&self) -> bool {
        self.customers >= MIN_CUSTOMERS && self.churned >= MIN_CHURNERS
    }
}

/// A point estimate with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Lower bound of the 95% interval.
    pub low: f64,
    /// Upper bound of the 95% interval.
    pub high: f64,
}

/// `control churn − targeted churn` with its Wald 95% interval,
/// `d ± z·√(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c)`; `None` when either group is empty.
pub fn reduction(control: Tally, targeted: Tally) -> Option<Estimate> {
    let (pc, pt) = (control.rate()?, targeted.rate()?);
    let se = (pt * (1.0 - pt) / targeted.customers as f64
        + pc * (1.0 - pc) / control.customers as f64)
        .sqrt();
    let d = pc - pt;
    Some(Estimate {
        value: d,
        low: d - Z_95 * se,
        high: d + Z_95 * se,
    })
}

/// What one action (or the whole campaign) did: its targeted customers against the control
/// customers who would have been offered the same.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Lift {
    /// The action id; `None` for the campaign as a whole.
    pub action: Option<String>,
    /// Targeted customers with a known outcome.
    pub targeted: Tally,
    /// Control customers (with a known outcome) who would have been offered this action.
    pub control: Tally,
    /// Sum of `value_at_risk` over the targeted customers with a known outcome.
    pub targeted_value_at_risk: f64,
    /// Sum of `cost` over the targeted customers with a known outcome.
    pub cost: f64,
    /// Targeted customers without an outcome yet (left out of every figure above).
    pub targeted_no_outcome: u64,
    /// Control customers without an outcome yet.
    pub control_no_outcome: u64,
}

impl Lift {
    /// An empty tally for `action`.
    pub fn new(action: Option<String>) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }

    /// Reduction in churn, control minus targeted (a share, not percentage points).
    pub fn reduction(&self) -> Option<Estimate> {
        reduction(self.control, self.targeted)
    }

    /// Whether either group is too small for the interval to mean much.
    pub fn too_small(&self) -> bool {
        !(self.targeted.large_enough() && self.control.large_enough())
    }

    /// Churners saved: reduction × targeted customers.
    pub fn churners_saved(&self) -> Option<f64> {
        Some(self.reduction()?.value * self.targeted.customers as f64)
    }

    /// Mean `value_at_risk` of the targeted customers.
    pub fn mean_value_at_risk(&self) -> Option<f64> {
        (self.targeted.customers > 0)
            .then(|| self.targeted_value_at_risk / self.targeted.customers as f64)
    }

    /// Retained value: churners saved × mean value at risk of the targeted.
    pub fn retained_value(&self) -> Option<f64> {
        Some(self.churners_saved()? * self.mean_value_at_risk()?)
    }

    /// Return on the money spent, `(retained value − cost) / cost`; `None` when nothing was
    /// spent or the reduction is unknown.
    pub fn roi(&self) -> Option<f64> {
        let retained = self.retained_value()?;
        (self.cost > 0.0).then(|| (retained - self.cost) / self.cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(customers: u64, churned: u64) -> Tally {
        Tally { customers, churned }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_reduction_of_eight_points_has_the_wald_interval_worked_by_hand() {
        // 200 targeted, 24 churned (12%); 100 control, 20 churned (20%): d = 0.20 − 0.12 = 0.08.
        // Var = 0.12·0.88/200 + 0.20·0.80/100 = 0.000528 + 0.0016 = 0.002128,
        // SE = √0.002128 = 0.0461303, z·SE = 1.959964 × 0.0461303 = 0.0904136,
        // CI = 0.08 ± 0.0904136 = (−0.0104136, 0.1704136): −1.0 to 17.0 pp, zero inside.
        let r = reduction(tally(100, 20), tally(200, 24)).unwrap();
        assert!(close(r.value, 0.08), "{r:?}");
        assert!((r.low - -0.010_413_6).abs() < 1e-7, "{r:?}");
        assert!((r.high - 0.170_413_6).abs() < 1e-7, "{r:?}");
    }

    #[test]
    fn saved_churners_retained_value_and_roi_follow_from_the_reduction() {
        // Same groups; every targeted customer has 2,500 at risk and cost 50.
        // Saved = 0.08 × 200 = 16; retained = 16 × 2,500 = 40,000; cost = 10,000;
        // ROI = (40,000 − 10,000) / 10,000 = 3.0.
        let lift = Lift {
            action: Some("fee_waiver".into()),
            targeted: tally(200, 24),
            control: tally(100, 20),
            targeted_value_at_risk: 200.0 * 2_500.0,
            cost: 200.0 * 50.0,
            ..Lift::default()
        };
        assert!(close(lift.churners_saved().unwrap(), 16.0));
        assert!(close(lift.mean_value_at_risk().unwrap(), 2_500.0));
        assert!(close(lift.retained_value().unwrap(), 40_000.0));
        assert!(close(lift.roi().unwrap(), 3.0));
        assert!(!lift.too_small());
    }

    #[test]
    fn an_action_that_drives_customers_away_has_a_negative_reduction_and_roi() {
        // 10.0% of contacted customers churned against 6.4% of the untouched control
        // (the field study in the domain brief): d = 0.064 − 0.100 = −0.036.
        // Var = 0.1·0.9/1000 + 0.064·0.936/1000 = 0.00009 + 0.0000599 = 0.0001499,
        // SE = 0.0122435, z·SE = 0.0239969: CI −6.0 to −1.2 pp, zero outside.
        let lift = Lift {
            targeted: tally(1000, 100),
            control: tally(1000, 64),
            targeted_value_at_risk: 1000.0 * 1_000.0,
            cost: 1000.0 * 10.0,
            ..Lift::default()
        };
        let r = lift.reduction().unwrap();
        assert!(close(r.value, -0.036));
        assert!((r.low - -0.059_996_7).abs() < 1e-6, "{r:?}");
        assert!((r.high - -0.012_003_3).abs() < 1e-6, "{r:?}");
        // Saved = −36; retained = −36,000; ROI = (−36,000 − 10,000) / 10,000 = −4.6.
        assert!(close(lift.roi().unwrap(), -4.6));
    }

    #[test]
    fn groups_under_thirty_customers_or_five_churners_are_too_small_to_tell() {
        let big = tally(1000, 100);
        for (small, why) in [
            (tally(29, 10), "29 customers"),
            (tally(500, 4), "4 churners"),
            (tally(0, 0), "empty"),
        ] {
            let as_control = Lift {
                targeted: big,
                control: small,
                ..Lift::default()
            };
            let as_targeted = Lift {
                targeted: small,
                control: big,
                ..Lift::default()
            };
            assert!(as_control.too_small(), "control with {why}");
            assert!(as_targeted.too_small(), "targeted with {why}");
        }
        assert!(!Lift {
            targeted: tally(30, 5),
            control: tally(30, 5),
            ..Lift::default()
        }
        .too_small());
    }

    #[test]
    fn without_control_customers_or_spending_there_is_no_reduction_or_roi() {
        let no_control = Lift {
            targeted: tally(100, 10),
            cost: 500.0,
            ..Lift::default()
        };
        assert_eq!(no_control.reduction(), None);
        assert_eq!(no_control.roi(), None);
        let free = Lift {
            targeted: tally(100, 10),
            control: tally(100, 20),
            targeted_value_at_risk: 100.0,
            ..Lift::default()
        };
        assert!(close(free.retained_value().unwrap(), 10.0));
        assert_eq!(free.roi(), None, "nothing spent: no ROI");
    }
}
