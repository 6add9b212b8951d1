//! The validated customer profile and the named features a churn model can read from it.
//!
//! Length: the profile's field table and its accessors are one list per field; their tests sit
//! beside them.

use std::collections::HashMap;

/// Everything bankscore knows about one customer, validated at the edge.
///
/// Every typed field is present and in range; `extra_features` holds only finite values.
/// (Deserializing, used by the CLI's `call` for a profile file, does not check ranges; the server does.)
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerProfile {
    /// The bank's customer identifier (non-empty).
    pub customer_id: String,
    /// Age in whole years.
    pub age_years: u32,
    /// Months since the first product was opened.
    pub tenure_months: u32,
    /// Products currently held.
    pub products_held: u32,
    /// Mortgage held with the bank.
    pub has_mortgage: bool,
    /// Salary credited to an account here.
    pub salary_credited: bool,
    /// Active direct debits and card auto-payments.
    pub direct_debits: u32,
    /// Average total balance over 3 months (>= 0).
    pub total_balance: f64,
    /// Relative balance change over 3 months (>= -1).
    pub balance_trend_3m: f64,
    /// Digital logins in the last 30 days.
    pub digital_logins_30d: u32,
    /// Customer-initiated transactions in the last 30 days.
    pub transactions_30d: u32,
    /// Relative change of monthly transactions over 3 months (>= -1).
    pub transactions_trend_3m: f64,
    /// Complaints in the last 12 months.
    pub complaints_12m: u32,
    /// A complaint is open.
    pub open_complaint: bool,
    /// Fees went up in the last 6 months.
    pub fee_increase_6m: bool,
    /// Products closed in the last 12 months.
    pub products_closed_12m: u32,
    /// Has a personal relationship manager.
    pub has_relationship_manager: bool,
    /// Days since the bank last contacted the customer.
    pub days_since_last_contact: u32,
    /// Days since the last self-initiated activity.
    pub days_since_last_activity: u32,
    /// Retention contacts in the last 30 days.
    pub contacts_30d: u32,
    /// Trailing-12-month net margin (may be negative).
    pub annual_margin: f64,
    /// Referrals made in the last 12 months.
    pub referrals_12m: u32,
    /// Consented to marketing and retention contact.
    pub contact_consent: bool,
    /// Further named numeric features (finite).
    #[serde(default)]
    pub extra_features: HashMap<String, f64>,
}

/// A typed profile field a churn model may use as a feature.
///
/// The name of each variant, in snake_case, is the feature name used in model bundles, in
/// training CSV headers and in the gRPC `CustomerProfile` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinFeature {
    AgeYears,
    TenureMonths,
    ProductsHeld,
    HasMortgage,
    SalaryCredited,
    DirectDebits,
    TotalBalance,
    BalanceTrend3m,
    DigitalLogins30d,
    Transactions30d,
    TransactionsTrend3m,
    Complaints12m,
    OpenComplaint,
    FeeIncrease6m,
    ProductsClosed12m,
    HasRelationshipManager,
    DaysSinceLastContact,
    DaysSinceLastActivity,
    Contacts30d,
    AnnualMargin,
    Referrals12m,
    ContactConsent,
}

impl BuiltinFeature {
    /// All typed features, in `CustomerProfile` order.
    pub const ALL: [BuiltinFeature; 22] = [
        Self::AgeYears,
        Self::TenureMonths,
        Self::ProductsHeld,
        Self::HasMortgage,
        Self::SalaryCredited,
        Self::DirectDebits,
        Self::TotalBalance,
        Self::BalanceTrend3m,
        Self::DigitalLogins30d,
        Self::Transactions30d,
        Self::TransactionsTrend3m,
        Self::Complaints12m,
        Self::OpenComplaint,
        Self::FeeIncrease6m,
        Self::ProductsClosed12m,
        Self::HasRelationshipManager,
        Self::DaysSinceLastContact,
        Self::DaysSinceLastActivity,
        Self::Contacts30d,
        Self::AnnualMargin,
        Self::Referrals12m,
        Self::ContactConsent,
    ];

    /// The feature's name in bundles, CSV headers and the API.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// A human-readable label for explanations.
    pub fn label(self) -> &'static str {
        self.describe().1
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::AgeYears => ("age_years", "age (years)"),
            Self::TenureMonths => ("tenure_months", "tenure (months)"),
            Self::ProductsHeld => ("products_held", "products held"),
            Self::HasMortgage => ("has_mortgage", "has a mortgage"),
            Self::SalaryCredited => ("salary_credited", "salary credited here"),
            Self::DirectDebits => ("direct_debits", "direct debits and auto-payments"),
            Self::TotalBalance => ("total_balance", "total balance"),
            Self::BalanceTrend3m => ("balance_trend_3m", "balance trend (3 months)"),
            Self::DigitalLogins30d => ("digital_logins_30d", "digital logins (30 days)"),
            Self::Transactions30d => ("transactions_30d", "transactions (30 days)"),
            Self::TransactionsTrend3m => ("transactions_trend_3m", "transaction trend (3 months)"),
            Self::Complaints12m => ("complaints_12m", "complaints (12 months)"),
            Self::OpenComplaint => ("open_complaint", "open complaint"),
            Self::FeeIncrease6m => ("fee_increase_6m", "fee increase (6 months)"),
            Self::ProductsClosed12m => ("products_closed_12m", "products closed (12 months)"),
            Self::HasRelationshipManager => {
                ("has_relationship_manager", "has a relationship manager")
            }
            Self::DaysSinceLastContact => (
                "days_since_last_contact",
                "days since the bank's last contact",
            ),
            Self::DaysSinceLastActivity => {
                ("days_since_last_activity", "days since last own activity")
            }
            Self::Contacts30d => ("contacts_30d", "retention contacts (30 days)"),
            Self::AnnualMargin => ("annual_margin", "annual net margin"),
            Self::Referrals12m => ("referrals_12m", "referrals (12 months)"),
            Self::ContactConsent => ("contact_consent", "consent to contact"),
        }
    }

    /// Looks a feature up by its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The profile's value of this feature; booleans read as 0 or 1.
    #[inline]
    pub fn value(self, p: &CustomerProfile) -> f64 {
        with_getter!(self, |get| get(p))
    }

    /// Whether the field is a count, a yes/no flag or an amount.
    pub fn kind(self) -> FeatureKind {
        match self {
            Self::TotalBalance
            | Self::BalanceTrend3m
            | Self::TransactionsTrend3m
            | Self::AnnualMargin => FeatureKind::Amount,
            Self::HasMortgage
            | Self::SalaryCredited
            | Self::OpenComplaint
            | Self::FeeIncrease6m
            | Self::HasRelationshipManager
            | Self::ContactConsent => FeatureKind::Flag,
            _ => FeatureKind::Count,
        }
    }

    /// The transform training applies by default: `log1p` for heavy-tailed amounts and counts.
    pub fn default_transform(self) -> Transform {
        match self {
            Self::TotalBalance | Self::Transactions30d | Self::DigitalLogins30d => Transform::Log1p,
            _ => Transform::Identity,
        }
    }
}

/// The type of a typed profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// A whole number >= 0.
    Count,
    /// Yes or no.
    Flag,
    /// A real number.
    Amount,
}

/// The prefix that names a feature read from `extra_features`.
pub const EXTRA_PREFIX: &str = "extra.";

/// Evaluates `$body` with `$get` bound to the getter of field `$f` (booleans read as 0 or 1) as
/// a closure of its own type, so a loop over many profiles in `$body` inlines the load instead
/// of matching on the field per value.
macro_rules! with_getter {
    ($f:expr, |$get:ident| $body:expr) => {{
        use $crate::domain::profile::BuiltinFeature as B;
        use $crate::domain::CustomerProfile as P;
        match $f {
            B::AgeYears => {
                let $get = |p: &P| -> f64 { f64::from(p.age_years) };
                $body
            }
            B::TenureMonths => {
                let $get = |p: &P| -> f64 { f64::from(p.tenure_months) };
                $body
            }
            B::ProductsHeld => {
                let $get = |p: &P| -> f64 { f64::from(p.products_held) };
                $body
            }
            B::HasMortgage => {
                let $get = |p: &P| -> f64 {
                    if p.has_mortgage {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
            B::SalaryCredited => {
                let $get = |p: &P| -> f64 {
                    if p.salary_credited {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
            B::DirectDebits => {
                let $get = |p: &P| -> f64 { f64::from(p.direct_debits) };
                $body
            }
            B::TotalBalance => {
                let $get = |p: &P| -> f64 { p.total_balance };
                $body
            }
            B::BalanceTrend3m => {
                let $get = |p: &P| -> f64 { p.balance_trend_3m };
                $body
            }
            B::DigitalLogins30d => {
                let $get = |p: &P| -> f64 { f64::from(p.digital_logins_30d) };
                $body
            }
            B::Transactions30d => {
                let $get = |p: &P| -> f64 { f64::from(p.transactions_30d) };
                $body
            }
            B::TransactionsTrend3m => {
                let $get = |p: &P| -> f64 { p.transactions_trend_3m };
                $body
            }
            B::Complaints12m => {
                let $get = |p: &P| -> f64 { f64::from(p.complaints_12m) };
                $body
            }
            B::OpenComplaint => {
                let $get = |p: &P| -> f64 {
                    if p.open_complaint {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
            B::FeeIncrease6m => {
                let $get = |p: &P| -> f64 {
                    if p.fee_increase_6m {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
            B::ProductsClosed12m => {
                let $get = |p: &P| -> f64 { f64::from(p.products_closed_12m) };
                $body
            }
            B::HasRelationshipManager => {
                let $get = |p: &P| -> f64 {
                    if p.has_relationship_manager {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
            B::DaysSinceLastContact => {
                let $get = |p: &P| -> f64 { f64::from(p.days_since_last_contact) };
                $body
            }
            B::DaysSinceLastActivity => {
                let $get = |p: &P| -> f64 { f64::from(p.days_since_last_activity) };
                $body
            }
            B::Contacts30d => {
                let $get = |p: &P| -> f64 { f64::from(p.contacts_30d) };
                $body
            }
            B::AnnualMargin => {
                let $get = |p: &P| -> f64 { p.annual_margin };
                $body
            }
            B::Referrals12m => {
                let $get = |p: &P| -> f64 { f64::from(p.referrals_12m) };
                $body
            }
            B::ContactConsent => {
                let $get = |p: &P| -> f64 {
                    if p.contact_consent {
                        1.0
                    } else {
                        0.0
                    }
                };
                $body
            }
        }
    }};
}
pub(crate) use with_getter;

/// Where a model feature's raw value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSource {
    /// A typed profile field.
    Builtin(BuiltinFeature),
    /// `extra_features[key]`.
    Extra(String),
}

impl FeatureSource {
    /// Parses a bundle feature name: a typed field name or `extra.<key>`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.strip_prefix(EXTRA_PREFIX) {
            Some(key) if !key.is_empty() => Some(Self::Extra(key.to_owned())),
            Some(_) => None,
            None => BuiltinFeature::from_name(name).map(Self::Builtin),
        }
    }
}

/// A monotone transform applied to a raw feature value before standardization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// The raw value.
    Identity,
    /// `ln(1 + max(x, 0))`: tames heavy tails of amounts and counts.
    Log1p,
}

impl Transform {
    /// Applies the transform.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Log1p => x.max(0.0).ln_1p(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A plausible mid-value customer used across the core's tests.
    pub(crate) fn sample_profile() -> CustomerProfile {
        CustomerProfile {
            customer_id: "C-0001".into(),
            age_years: 42,
            tenure_months: 60,
            products_held: 3,
            has_mortgage: false,
            salary_credited: true,
            direct_debits: 4,
            total_balance: 12_000.0,
            balance_trend_3m: -0.1,
            digital_logins_30d: 12,
            transactions_30d: 40,
            transactions_trend_3m: 0.0,
            complaints_12m: 0,
            open_complaint: false,
            fee_increase_6m: false,
            products_closed_12m: 0,
            has_relationship_manager: false,
            days_since_last_contact: 90,
            days_since_last_activity: 2,
            contacts_30d: 0,
            annual_margin: 400.0,
            referrals_12m: 1,
            contact_consent: true,
            extra_features: HashMap::new(),
        }
    }

    #[test]
    fn every_builtin_feature_round_trips_through_its_name() {
        for f in BuiltinFeature::ALL {
            assert_eq!(BuiltinFeature::from_name(f.name()), Some(f), "{f:?}");
        }
    }

    #[test]
    fn feature_sources_parse_typed_and_extra_names_and_reject_others() {
        assert_eq!(
            FeatureSource::parse("tenure_months"),
            Some(FeatureSource::Builtin(BuiltinFeature::TenureMonths))
        );
        assert_eq!(
            FeatureSource::parse("extra.app_rating"),
            Some(FeatureSource::Extra("app_rating".into()))
        );
        assert_eq!(FeatureSource::parse("extra."), None);
        assert_eq!(FeatureSource::parse("shoe_size"), None);
    }

    #[test]
    fn booleans_read_as_zero_or_one() {
        let p = sample_profile();
        assert_eq!(BuiltinFeature::SalaryCredited.value(&p), 1.0);
        assert_eq!(BuiltinFeature::OpenComplaint.value(&p), 0.0);
    }

    #[test]
    fn log1p_clamps_negative_values_to_zero() {
        assert_eq!(Transform::Log1p.apply(-5.0), 0.0);
        assert!((Transform::Log1p.apply(std::f64::consts::E - 1.0) - 1.0).abs() < 1e-12);
    }
}
