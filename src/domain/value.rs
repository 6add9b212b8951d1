//! Customer value in three parts (realized, potential, influence) and customer lifetime value.

use super::profile::CustomerProfile;

/// Parameters of the value model, frozen in the bundle's `policy.toml`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueParams {
    /// Yearly discount rate `d`, 0 < d < 1.
    pub discount_rate: f64,
    /// CLV horizon `H` in years, 1..=50.
    pub horizon_years: u32,
    /// Value of one referral, >= 0.
    pub value_per_referral: f64,
    /// Yearly retention `r_kept` of a customer who stays a customer, 0 < r <= 1: the bank's
    /// retained-customer rate (by default 1 − the training population's yearly churn rate).
    /// Value at risk discounts with it, never with the customer's own churn risk.
    pub retained_customer_rate: f64,
}

/// Why value parameters are unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueParamsError {
    #[error("value.discount_rate is {0}, expected 0 < d < 1")]
    DiscountRate(f64),
    #[error("value.horizon_years is {0}, expected 1..=50")]
    Horizon(u32),
    #[error("value.value_per_referral is {0}, expected a finite number >= 0")]
    ValuePerReferral(f64),
    #[error("value.retained_customer_rate is {0}, expected 0 < r <= 1")]
    RetainedCustomerRate(f64),
}

impl ValueParams {
    /// Checks every parameter's range.
    ///
    /// # Errors
    /// The first parameter out of range.
    pub fn validate(&self) -> Result<(), ValueParamsError> {
        if !(self.discount_rate > 0.0 && self.discount_rate < 1.0) {
            return Err(ValueParamsError::DiscountRate(self.discount_rate));
        }
        if !(1..=50).contains(&self.horizon_years) {
            return Err(ValueParamsError::Horizon(self.horizon_years));
        }
        if !(self.value_per_referral.is_finite() && self.value_per_referral >= 0.0) {
            return Err(ValueParamsError::ValuePerReferral(self.value_per_referral));
        }
        let r = self.retained_customer_rate;
        if !(r > 0.0 && r <= 1.0) {
            return Err(ValueParamsError::RetainedCustomerRate(r));
        }
        Ok(())
    }
}

/// A customer's value in its three parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerValue {
    /// Trailing-12-month net margin.
    pub realized: f64,
    /// Customer lifetime value over the horizon as things stand: retention `1 − p_churn`.
    pub potential: f64,
    /// Referral value.
    pub influence: f64,
    /// realized + potential + influence.
    pub total: f64,
    /// What leaving would cost the bank: `max(0, CLV_kept + influence)`, where `CLV_kept` is the
    /// lifetime value if the customer stays (retention at the bank's retained-customer rate).
    /// Independent of this customer's churn risk, which enters a decision once, through the uplift.
    pub value_at_risk: f64,
}

/// `CLV = Σ_{t=1..H} m · r^t / (1+d)^t`, summed in closed form as a geometric series.
#[inline]
pub fn lifetime_value(margin: f64, retention: f64, discount_rate: f64, horizon_years: u32) -> f64 {
    let q = retention / (1.0 + discount_rate);
    // q < 1 because retention <= 1 and discount_rate > 0, so the closed form is exact.
    margin * q * (1.0 - q.powi(horizon_years as i32)) / (1.0 - q)
}

/// Values a customer given their churn probability over the next year.
///
/// Potential value (for tiering) is risk-adjusted: retention `1 − p_churn`. Value at risk is the
/// lifetime value if the customer stays: retention `params.retained_customer_rate`, whatever
/// this customer's risk (DOMAIN §1).
#[inline]
pub fn customer_value(params: &ValueParams, p: &CustomerProfile, p_churn: f64) -> CustomerValue {
    let realized = p.annual_margin;
    let potential = lifetime_value(
        p.annual_margin,
        1.0 - p_churn,
        params.discount_rate,
        params.horizon_years,
    );
    let kept = lifetime_value(
        p.annual_margin,
        params.retained_customer_rate,
        params.discount_rate,
        params.horizon_years,
    );
    let influence = f64::from(p.referrals_12m) * params.value_per_referral;
    CustomerValue {
        realized,
        potential,
        influence,
        total: realized + potential + influence,
        value_at_risk: (kept + influence).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::tests::sample_profile;

    fn params() -> ValueParams {
        ValueParams {
            discount_rate: 0.1,
            horizon_years: 3,
            value_per_referral: 50.0,
            retained_customer_rate: 0.9,
        }
    }

    #[test]
    fn lifetime_value_matches_the_sum_by_hand() {
        // m = 100, r = 0.8, d = 0.1, H = 3:
        // 100·0.8/1.1 + 100·0.64/1.21 + 100·0.512/1.331 = 72.7273 + 52.8926 + 38.4673 = 164.0872
        let clv = lifetime_value(100.0, 0.8, 0.1, 3);
        assert!((clv - 164.087_152).abs() < 1e-5, "clv = {clv}");
    }

    #[test]
    fn lifetime_value_approaches_the_gupta_lehmann_closed_form_for_long_horizons() {
        // H → ∞: m·r / (1 + d − r) = 100·0.8 / 0.3 = 266.67
        let clv = lifetime_value(100.0, 0.8, 0.1, 50);
        assert!((clv - 800.0 / 3.0).abs() < 1e-3, "clv = {clv}");
    }

    #[test]
    fn value_parts_add_up_and_churn_risk_lowers_potential_value() {
        let p = sample_profile(); // margin 400, 1 referral
        let safe = customer_value(&params(), &p, 0.05);
        let risky = customer_value(&params(), &p, 0.6);
        assert_eq!(safe.realized, 400.0);
        assert_eq!(safe.influence, 50.0);
        assert!((safe.total - (400.0 + safe.potential + 50.0)).abs() < 1e-9);
        assert!(risky.potential < safe.potential);
    }

    #[test]
    fn value_at_risk_is_the_lifetime_value_if_kept_whatever_the_customers_risk() {
        // m = 400, r_kept = 0.9, d = 0.1, H = 3: q = 0.9/1.1 = 0.818182
        // 400·(0.818182 + 0.669421 + 0.547708) = 400·2.035312 = 814.1247; + influence 50 = 864.1247.
        let p = sample_profile();
        let safe = customer_value(&params(), &p, 0.05);
        let risky = customer_value(&params(), &p, 0.9);
        assert!(
            (safe.value_at_risk - 864.124_718_3).abs() < 1e-6,
            "{}",
            safe.value_at_risk
        );
        assert_eq!(safe.value_at_risk, risky.value_at_risk);
        // Potential value, for tiering, still falls with risk: at p = 0.9 it is a fraction.
        assert!(risky.potential < 0.2 * safe.potential);
    }

    #[test]
    fn a_loss_making_customer_has_no_value_at_risk() {
        let mut p = sample_profile();
        p.annual_margin = -200.0;
        p.referrals_12m = 0;
        let v = customer_value(&params(), &p, 0.2);
        assert!(v.potential < 0.0);
        assert_eq!(v.value_at_risk, 0.0);
    }

    #[test]
    fn out_of_range_parameters_are_named() {
        let mut bad = params();
        bad.discount_rate = 0.0;
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "value.discount_rate is 0, expected 0 < d < 1"
        );
        bad = params();
        bad.horizon_years = 0;
        assert!(bad.validate().is_err());
        bad = params();
        bad.value_per_referral = f64::INFINITY;
        assert!(bad.validate().is_err());
        for r in [0.0, 1.01, f64::NAN] {
            bad = params();
            bad.retained_customer_rate = r;
            assert!(bad.validate().is_err(), "r = {r}");
        }
        assert!(params().validate().is_ok());
    }
}
