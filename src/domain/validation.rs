//! The rules every profile field obeys, shared by the gRPC edge and offline file scoring so both
//! refuse exactly the same inputs with the same words.
//!
//! Length: every field's rule and the tests that each edge is accepted and each value beyond it
//! refused sit together (about 110 lines of tests).

use super::profile::{BuiltinFeature, CustomerProfile, FeatureKind};

/// Longest customer id or extra-feature key, in bytes.
pub const MAX_KEY_LEN: usize = 128;

/// Largest amount of money (balance, or margin in either direction): far beyond any customer,
/// and far enough below `f64::MAX` that lifetime value (at most 50 years of margin) and churn
/// contributions stay finite.
pub const MAX_AMOUNT: f64 = 1e15;
/// Largest 3-month trend (a relative change, -1 = everything gone): for the same reason, a
/// bound a real ratio never reaches rather than `f64::MAX`.
pub const MAX_TREND: f64 = 1e9;

/// Why a value cannot stand for a profile field (the field is named by the caller).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldProblem {
    #[error("is required")]
    Missing,
    #[error("is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    #[error("{0} is not a whole number >= 0")]
    NotWhole(f64),
    #[error("{0} is not a yes/no value (0 or 1)")]
    NotFlag(f64),
    #[error("{value} is below the minimum {min}")]
    Below { value: f64, min: f64 },
    #[error("{value} is above the maximum {max}")]
    Above { value: f64, max: f64 },
    #[error("{value} is outside {min}..={max}")]
    Outside { value: f64, min: f64, max: f64 },
}

const DAYS: f64 = 36_500.0;

impl BuiltinFeature {
    /// The smallest and largest value the field accepts (both included).
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Self::AgeYears => (18.0, 120.0),
            Self::TenureMonths => (0.0, 1_200.0),
            Self::ProductsHeld | Self::ProductsClosed12m => (0.0, 100.0),
            Self::DirectDebits | Self::Complaints12m | Self::Contacts30d => (0.0, 1_000.0),
            Self::DigitalLogins30d => (0.0, 100_000.0),
            Self::Transactions30d => (0.0, 1_000_000.0),
            Self::DaysSinceLastContact | Self::DaysSinceLastActivity => (0.0, DAYS),
            Self::Referrals12m => (0.0, 10_000.0),
            Self::TotalBalance => (0.0, MAX_AMOUNT),
            Self::BalanceTrend3m | Self::TransactionsTrend3m => (-1.0, MAX_TREND),
            Self::AnnualMargin => (-MAX_AMOUNT, MAX_AMOUNT),
            Self::HasMortgage
            | Self::SalaryCredited
            | Self::OpenComplaint
            | Self::FeeIncrease6m
            | Self::HasRelationshipManager
            | Self::ContactConsent => (0.0, 1.0),
        }
    }

    /// The rule the field's values obey.
    pub fn rule(self) -> FieldRule {
        let (min, max) = self.bounds();
        FieldRule {
            kind: self.kind(),
            min,
            max,
        }
    }

    /// Checks that `v` is a valid value of the field: see [`FieldRule::check`].
    ///
    /// # Errors
    /// The first rule `v` breaks.
    #[inline]
    pub fn check(self, v: f64) -> Result<(), FieldProblem> {
        self.rule().check(v)
    }
}

/// What a typed field accepts: its kind and its bounds (both included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldRule {
    /// Count, flag or amount.
    pub kind: FeatureKind,
    /// Smallest value accepted.
    pub min: f64,
    /// Largest value accepted.
    pub max: f64,
}

impl FieldRule {
    /// Checks that `v` is finite, whole for counts, 0 or 1 for flags, within the bounds.
    ///
    /// # Errors
    /// The first rule `v` breaks.
    #[inline]
    pub fn check(&self, v: f64) -> Result<(), FieldProblem> {
        let Self { kind, min, max } = *self;
        if !v.is_finite() {
            return Err(FieldProblem::NotFinite(v));
        }
        match kind {
            FeatureKind::Flag if v != 0.0 && v != 1.0 => Err(FieldProblem::NotFlag(v)),
            // Above 2^53 every f64 is whole; below, a round trip through u64 tells.
            FeatureKind::Count if v < 0.0 || (v < 9.0e15 && (v as u64) as f64 != v) => {
                Err(FieldProblem::NotWhole(v))
            }
            FeatureKind::Count if min > 0.0 && !(min..=max).contains(&v) => {
                Err(FieldProblem::Outside { value: v, min, max })
            }
            _ if v < min => Err(FieldProblem::Below { value: v, min }),
            _ if v > max => Err(FieldProblem::Above { value: v, max }),
            _ => Ok(()),
        }
    }

    /// Whether [`FieldRule::check`] accepts `v`, computed without a branch, so a column of
    /// values can be checked in one straight loop (offline files).
    #[inline(always)]
    pub fn accepts(&self, v: f64) -> bool {
        let Self { kind, min, max } = *self;
        let (flag, count) = (kind == FeatureKind::Flag, kind == FeatureKind::Count);
        // Whole numbers: through i32 when the bounds fit in it (a conversion SSE2 does two at a
        // time; a value outside i32 is outside the bounds too), else through i64.
        let whole = if min >= f64::from(i32::MIN) && max <= f64::from(i32::MAX) {
            (v as i32) as f64 == v
        } else {
            (v >= 9.0e15) | ((v as i64) as f64 == v)
        };
        v.is_finite()
            & (v >= min)
            & (v <= max)
            & (!flag | (v == 0.0) | (v == 1.0))
            & (!count | ((v >= 0.0) & whole))
    }
}

/// Checks a customer id: present and at most [`MAX_KEY_LEN`] bytes.
///
/// # Errors
/// [`FieldProblem::Missing`] or [`FieldProblem::TooLong`].
pub fn check_customer_id(id: &str) -> Result<(), FieldProblem> {
    match id.len() {
        0 => Err(FieldProblem::Missing),
        n if n > MAX_KEY_LEN => Err(FieldProblem::TooLong { max: MAX_KEY_LEN }),
        _ => Ok(()),
    }
}

impl CustomerProfile {
    /// A profile with every typed field at its smallest valid value and no id: the start of
    /// one built field by field with [`CustomerProfile::set`].
    pub fn blank() -> Self {
        Self {
            customer_id: String::new(),
            age_years: BuiltinFeature::AgeYears.bounds().0 as u32,
            tenure_months: 0,
            products_held: 0,
            has_mortgage: false,
            salary_credited: false,
            direct_debits: 0,
            total_balance: 0.0,
            balance_trend_3m: 0.0,
            digital_logins_30d: 0,
            transactions_30d: 0,
            transactions_trend_3m: 0.0,
            complaints_12m: 0,
            open_complaint: false,
            fee_increase_6m: false,
            products_closed_12m: 0,
            has_relationship_manager: false,
            days_since_last_contact: 0,
            days_since_last_activity: 0,
            contacts_30d: 0,
            annual_margin: 0.0,
            referrals_12m: 0,
            contact_consent: false,
            extra_features: std::collections::HashMap::new(),
        }
    }

    /// Sets a typed field from a value that passed [`BuiltinFeature::check`].
    #[inline]
    pub fn set(&mut self, f: BuiltinFeature, v: f64) {
        debug_assert!(f.check(v).is_ok(), "{f:?} = {v} was not checked");
        f.setter()(self, v);
    }
}

/// Evaluates `$body` with `$set` bound to the setter of field `$f` as a closure of its own type,
/// so a loop over a column in `$body` inlines the store (a `fn` pointer from
/// [`BuiltinFeature::setter`] costs an indirect call per value).
macro_rules! with_setter {
    ($f:expr, |$set:ident| $body:expr) => {{
        use $crate::domain::profile::BuiltinFeature as B;
        use $crate::domain::CustomerProfile as P;
        match $f {
            B::AgeYears => {
                let $set = |p: &mut P, v: f64| p.age_years = v as u32;
                $body
            }
            B::TenureMonths => {
                let $set = |p: &mut P, v: f64| p.tenure_months = v as u32;
                $body
            }
            B::ProductsHeld => {
                let $set = |p: &mut P, v: f64| p.products_held = v as u32;
                $body
            }
            B::HasMortgage => {
                let $set = |p: &mut P, v: f64| p.has_mortgage = v == 1.0;
                $body
            }
            B::SalaryCredited => {
                let $set = |p: &mut P, v: f64| p.salary_credited = v == 1.0;
                $body
            }
            B::DirectDebits => {
                let $set = |p: &mut P, v: f64| p.direct_debits = v as u32;
                $body
            }
            B::TotalBalance => {
                let $set = |p: &mut P, v: f64| p.total_balance = v;
                $body
            }
            B::BalanceTrend3m => {
                let $set = |p: &mut P, v: f64| p.balance_trend_3m = v;
                $body
            }
            B::DigitalLogins30d => {
                let $set = |p: &mut P, v: f64| p.digital_logins_30d = v as u32;
                $body
            }
            B::Transactions30d => {
                let $set = |p: &mut P, v: f64| p.transactions_30d = v as u32;
                $body
            }
            B::TransactionsTrend3m => {
                let $set = |p: &mut P, v: f64| p.transactions_trend_3m = v;
                $body
            }
            B::Complaints12m => {
                let $set = |p: &mut P, v: f64| p.complaints_12m = v as u32;
                $body
            }
            B::OpenComplaint => {
                let $set = |p: &mut P, v: f64| p.open_complaint = v == 1.0;
                $body
            }
            B::FeeIncrease6m => {
                let $set = |p: &mut P, v: f64| p.fee_increase_6m = v == 1.0;
                $body
            }
            B::ProductsClosed12m => {
                let $set = |p: &mut P, v: f64| p.products_closed_12m = v as u32;
                $body
            }
            B::HasRelationshipManager => {
                let $set = |p: &mut P, v: f64| p.has_relationship_manager = v == 1.0;
                $body
            }
            B::DaysSinceLastContact => {
                let $set = |p: &mut P, v: f64| p.days_since_last_contact = v as u32;
                $body
            }
            B::DaysSinceLastActivity => {
                let $set = |p: &mut P, v: f64| p.days_since_last_activity = v as u32;
                $body
            }
            B::Contacts30d => {
                let $set = |p: &mut P, v: f64| p.contacts_30d = v as u32;
                $body
            }
            B::AnnualMargin => {
                let $set = |p: &mut P, v: f64| p.annual_margin = v;
                $body
            }
            B::Referrals12m => {
                let $set = |p: &mut P, v: f64| p.referrals_12m = v as u32;
                $body
            }
            B::ContactConsent => {
                let $set = |p: &mut P, v: f64| p.contact_consent = v == 1.0;
                $body
            }
        }
    }};
}
pub(crate) use with_setter;

impl BuiltinFeature {
    /// The function that stores a checked value into this field: chosen once, then applied
    /// value after value.
    pub fn setter(self) -> fn(&mut CustomerProfile, f64) {
        with_setter!(self, |set| set as fn(&mut CustomerProfile, f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::tests::sample_profile;

    #[test]
    fn setting_every_field_from_its_value_rebuilds_the_profile() {
        let p = sample_profile();
        let mut q = CustomerProfile::blank();
        for f in BuiltinFeature::ALL {
            f.check(f.value(&p)).unwrap();
            q.set(f, f.value(&p));
        }
        q.customer_id.clone_from(&p.customer_id);
        assert_eq!(q, p);
    }

    #[test]
    fn accepts_agrees_with_check_on_every_field() {
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            0.5,
            1.0,
            1.5,
            2.0,
            -1.0,
            -1.5,
            9.0e15,
            9.0e15 + 2.0,
            1e16,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
        ];
        for f in BuiltinFeature::ALL {
            let (min, max) = f.bounds();
            let edges = [
                min,
                max,
                min - 1.0,
                max + 1.0,
                min - 0.5,
                max - 0.5,
                min + 0.5,
            ];
            for v in specials.into_iter().chain(edges) {
                assert_eq!(
                    f.rule().accepts(v),
                    f.check(v).is_ok(),
                    "{} = {v}",
                    f.name()
                );
            }
        }
    }

    #[test]
    fn each_rule_refuses_its_kind_of_bad_value() {
        use BuiltinFeature as B;
        let cases = [
            (B::TenureMonths, f64::NAN, "NaN is not a finite number"),
            (B::TenureMonths, 2.5, "2.5 is not a whole number >= 0"),
            (B::TenureMonths, -1.0, "-1 is not a whole number >= 0"),
            (B::TenureMonths, 1_201.0, "1201 is above the maximum 1200"),
            (B::AgeYears, 17.0, "17 is outside 18..=120"),
            (B::HasMortgage, 2.0, "2 is not a yes/no value (0 or 1)"),
            (B::TotalBalance, -0.5, "-0.5 is below the minimum 0"),
            (B::BalanceTrend3m, -1.5, "-1.5 is below the minimum -1"),
            (B::AnnualMargin, f64::INFINITY, "inf is not a finite number"),
        ];
        for (f, v, message) in cases {
            assert_eq!(f.check(v).unwrap_err().to_string(), message, "{f:?} = {v}");
        }
        assert!(B::AnnualMargin.check(-1e9).is_ok());
        assert!(B::AgeYears.check(120.0).is_ok());
    }

    #[test]
    fn amounts_and_trends_stop_well_short_of_where_scoring_would_overflow() {
        use BuiltinFeature as B;
        for (f, v) in [
            (B::AnnualMargin, f64::MIN),
            (B::TotalBalance, f64::MAX),
            (B::BalanceTrend3m, f64::MAX),
            (B::TransactionsTrend3m, 2.0 * MAX_TREND),
        ] {
            assert!(
                matches!(
                    f.check(v),
                    Err(FieldProblem::Below { .. } | FieldProblem::Above { .. })
                ),
                "{f:?} = {v}"
            );
        }
        assert!(B::AnnualMargin.check(-MAX_AMOUNT).is_ok());
        assert!(B::TotalBalance.check(MAX_AMOUNT).is_ok());
        assert!(B::BalanceTrend3m.check(MAX_TREND).is_ok());
    }

    #[test]
    fn customer_ids_must_be_present_and_short() {
        assert_eq!(check_customer_id(""), Err(FieldProblem::Missing));
        assert!(check_customer_id(&"x".repeat(MAX_KEY_LEN)).is_ok());
        assert_eq!(
            check_customer_id(&"x".repeat(MAX_KEY_LEN + 1)),
            Err(FieldProblem::TooLong { max: MAX_KEY_LEN })
        );
    }
}
