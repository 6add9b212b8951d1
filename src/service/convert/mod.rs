//! The one conversion layer between the gRPC messages and the core, for every service: requests
//! are validated into domain types (errors name the field), answers are rendered into replies.
//! Scoring (unary and stream) here; `admin`, `campaign` and `outcomes` for the other services.

use std::collections::HashMap;

use super::error::FieldError;
use super::pb;

mod admin;
mod campaign;
mod outcomes;
mod scoring;

use crate::domain::profile::BuiltinFeature;
use crate::domain::validation::{check_customer_id, FieldProblem};
use crate::domain::CustomerProfile;
pub use admin::models_listing;
pub use campaign::{plan_assignment, plan_totals};
pub use outcomes::check_outcomes;
pub use scoring::{
    churn, churn_reply, decision, recommendation_reply, score_reply, stream_assessment,
    value_tier_reply,
};

/// Most `extra_features` entries a profile may carry.
pub const MAX_EXTRA_FEATURES: usize = 256;
pub use crate::domain::validation::MAX_KEY_LEN;

fn invalid(field: &str, problem: impl std::fmt::Display) -> FieldError {
    FieldError::new(field, problem)
}

/// Unwraps a required field.
fn required<T>(value: Option<T>, field: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| invalid(field, "is required"))
}

/// A typed number field, present and valid by the rules files obey too.
fn checked<T: Copy + Into<f64>>(f: BuiltinFeature, value: Option<T>) -> Result<T, FieldError> {
    value
        .ok_or(FieldProblem::Missing)
        .and_then(|v| f.check(v.into()).map(|()| v))
        .map_err(|problem| invalid(&format!("profile.{}", f.name()), problem))
}

/// A yes/no field, present.
fn flag(f: BuiltinFeature, value: Option<bool>) -> Result<bool, FieldError> {
    value.ok_or_else(|| invalid(&format!("profile.{}", f.name()), FieldProblem::Missing))
}

impl TryFrom<pb::CustomerProfile> for CustomerProfile {
    type Error = FieldError;

    fn try_from(p: pb::CustomerProfile) -> Result<Self, FieldError> {
        check_customer_id(&p.customer_id).map_err(|e| invalid("profile.customer_id", e))?;
        if p.extra_features.len() > MAX_EXTRA_FEATURES {
            return Err(invalid(
                "profile.extra_features",
                format_args!(
                    "{} entries, at most {MAX_EXTRA_FEATURES} allowed",
                    p.extra_features.len()
                ),
            ));
        }
        for (key, value) in &p.extra_features {
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(invalid(
                    "profile.extra_features",
                    format_args!("key must be 1..={MAX_KEY_LEN} bytes"),
                ));
            }
            if !value.is_finite() {
                return Err(invalid(
                    &format!("profile.extra_features[\"{key}\"]"),
                    FieldProblem::NotFinite(*value),
                ));
            }
        }
        use BuiltinFeature as B;
        Ok(Self {
            age_years: checked(B::AgeYears, p.age_years)?,
            tenure_months: checked(B::TenureMonths, p.tenure_months)?,
            products_held: checked(B::ProductsHeld, p.products_held)?,
            has_mortgage: flag(B::HasMortgage, p.has_mortgage)?,
            salary_credited: flag(B::SalaryCredited, p.salary_credited)?,
            direct_debits: checked(B::DirectDebits, p.direct_debits)?,
            total_balance: checked(B::TotalBalance, p.total_balance)?,
            balance_trend_3m: checked(B::BalanceTrend3m, p.balance_trend_3m)?,
            digital_logins_30d: checked(B::DigitalLogins30d, p.digital_logins_30d)?,
            transactions_30d: checked(B::Transactions30d, p.transactions_30d)?,
            transactions_trend_3m: checked(B::TransactionsTrend3m, p.transactions_trend_3m)?,
            complaints_12m: checked(B::Complaints12m, p.complaints_12m)?,
            open_complaint: flag(B::OpenComplaint, p.open_complaint)?,
            fee_increase_6m: flag(B::FeeIncrease6m, p.fee_increase_6m)?,
            products_closed_12m: checked(B::ProductsClosed12m, p.products_closed_12m)?,
            has_relationship_manager: flag(B::HasRelationshipManager, p.has_relationship_manager)?,
            days_since_last_contact: checked(B::DaysSinceLastContact, p.days_since_last_contact)?,
            days_since_last_activity: checked(
                B::DaysSinceLastActivity,
                p.days_since_last_activity,
            )?,
            contacts_30d: checked(B::Contacts30d, p.contacts_30d)?,
            annual_margin: checked(B::AnnualMargin, p.annual_margin)?,
            referrals_12m: checked(B::Referrals12m, p.referrals_12m)?,
            contact_consent: flag(B::ContactConsent, p.contact_consent)?,
            extra_features: p.extra_features.into_iter().collect::<HashMap<_, _>>(),
            customer_id: p.customer_id,
        })
    }
}

/// Validates a request's profile.
///
/// # Errors
/// The missing or bad field.
pub fn profile(p: Option<pb::CustomerProfile>) -> Result<CustomerProfile, FieldError> {
    required(p, "profile")?.try_into()
}

/// The number of churn reasons a request asks for: 0 means 3.
///
/// # Errors
/// `max_reasons` above [`crate::domain::churn::MAX_REASONS`].
pub fn max_reasons(n: u32) -> Result<usize, FieldError> {
    match n as usize {
        0 => Ok(3),
        n if n <= crate::domain::churn::MAX_REASONS => Ok(n),
        n => Err(invalid(
            "max_reasons",
            format_args!(
                "{n} is above the maximum {}",
                crate::domain::churn::MAX_REASONS
            ),
        )),
    }
}

/// The number of churn reasons a stream asks for: 0 means none.
///
/// # Errors
/// `max_reasons` above [`crate::domain::churn::MAX_REASONS`].
pub fn stream_reasons(n: u32) -> Result<usize, FieldError> {
    match n {
        0 => Ok(0),
        n => max_reasons(n),
    }
}

impl From<&CustomerProfile> for pb::CustomerProfile {
    fn from(p: &CustomerProfile) -> Self {
        Self {
            customer_id: p.customer_id.clone(),
            age_years: Some(p.age_years),
            tenure_months: Some(p.tenure_months),
            products_held: Some(p.products_held),
            has_mortgage: Some(p.has_mortgage),
            salary_credited: Some(p.salary_credited),
            direct_debits: Some(p.direct_debits),
            total_balance: Some(p.total_balance),
            balance_trend_3m: Some(p.balance_trend_3m),
            digital_logins_30d: Some(p.digital_logins_30d),
            transactions_30d: Some(p.transactions_30d),
            transactions_trend_3m: Some(p.transactions_trend_3m),
            complaints_12m: Some(p.complaints_12m),
            open_complaint: Some(p.open_complaint),
            fee_increase_6m: Some(p.fee_increase_6m),
            products_closed_12m: Some(p.products_closed_12m),
            has_relationship_manager: Some(p.has_relationship_manager),
            days_since_last_contact: Some(p.days_since_last_contact),
            days_since_last_activity: Some(p.days_since_last_activity),
            contacts_30d: Some(p.contacts_30d),
            annual_margin: Some(p.annual_margin),
            referrals_12m: Some(p.referrals_12m),
            contact_consent: Some(p.contact_consent),
            extra_features: p.extra_features.clone().into_iter().collect(),
        }
    }
}
