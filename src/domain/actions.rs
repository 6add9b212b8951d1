//! The retention action catalog: actions, their levels, costs, uplifts and eligibility rules.
//!
//! Length: the catalog's validation tests sit beside it (about 120 lines).

use super::profile::CustomerProfile;
use super::tier::ValueTier;

/// The level of a retention action (DOMAIN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionLevel {
    /// Fee waivers, rate bonuses, cashback.
    Financial,
    /// Relationship-manager calls, personal care.
    Social,
    /// Bundles, salary switch, auto-pay set-up.
    Structural,
    /// Resolving an open complaint.
    ServiceRecovery,
    /// Reactivation offers for lapsed or sleeping customers.
    WinBack,
}

/// Who may receive an action. Every rule defaults to "no restriction" except consent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Eligibility {
    /// Tiers offered the action; empty means every tier.
    pub tiers: Vec<ValueTier>,
    /// Only customers who consented to contact (default true).
    pub requires_consent: bool,
    /// Only customers with an open complaint.
    pub requires_open_complaint: bool,
    /// Only customers whose salary is not credited here.
    pub requires_salary_not_credited: bool,
    /// Minimum products held.
    pub min_products: u32,
    /// Maximum products held.
    pub max_products: u32,
    /// Minimum churn probability.
    pub min_churn_probability: f64,
}

impl Default for Eligibility {
    fn default() -> Self {
        Self {
            tiers: Vec::new(),
            requires_consent: true,
            requires_open_complaint: false,
            requires_salary_not_credited: false,
            min_products: 0,
            max_products: u32::MAX,
            min_churn_probability: 0.0,
        }
    }
}

/// A retention action the bank can take.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionAction {
    /// Stable identifier, e.g. `fee_waiver`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Action level.
    pub level: ActionLevel,
    /// Cost per customer, >= 0.
    pub cost: f64,
    /// Share of would-be churners the action keeps, -1..=1 (negative: contact triggers churn).
    pub uplift: f64,
    /// Per-tier uplift overrides, keyed by tier (`A`, `B`, `C`, `sleeping`).
    #[serde(default)]
    pub uplift_by_tier: std::collections::BTreeMap<ValueTier, f64>,
    /// Who may receive it.
    #[serde(default)]
    pub eligibility: Eligibility,
}

impl RetentionAction {
    /// The uplift for a customer of `tier`.
    #[inline]
    pub fn uplift_for(&self, tier: ValueTier) -> f64 {
        self.uplift_by_tier
            .get(&tier)
            .copied()
            .unwrap_or(self.uplift)
    }
}

/// The contact policy that applies to every action.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    /// Minimum days since the bank's last contact before a new one.
    pub cooldown_days: u32,
    /// At most this many retention contacts in 30 days.
    pub max_contacts_30d: u32,
}

/// The catalog, as edited by the business in `actions.toml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCatalog {
    /// Contact policy.
    pub contact_policy: ContactPolicy,
    /// The actions, in any order.
    #[serde(rename = "action")]
    pub actions: Vec<RetentionAction>,
}

/// Why a catalog is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog has no actions")]
    Empty,
    #[error("action #{index}: id is empty")]
    EmptyId { index: usize },
    #[error("action `{id}` is defined twice")]
    DuplicateId { id: String },
    #[error("action `{id}`: {field} is {value}, expected {expected}")]
    OutOfRange {
        id: String,
        field: String,
        value: f64,
        expected: &'static str,
    },
    #[error("action `{id}`: eligibility.min_products {min} > max_products {max}")]
    ProductRange { id: String, min: u32, max: u32 },
}

/// The id a decision without an action is known by, in replies, files, audit and metrics.
pub const NO_ACTION: &str = "no_action";

impl ActionCatalog {
    /// The id of action `index` of the catalog.
    ///
    /// # Panics
    /// `index` is not an action of the catalog (indexes come from the catalog itself).
    pub fn id(&self, index: usize) -> &str {
        &self.actions[index].id
    }

    /// Checks ids, costs, uplifts and eligibility ranges.
    ///
    /// # Errors
    /// The first problem found, naming the action and field.
    pub fn validate(&self) -> Result<(), CatalogError> {
        if self.actions.is_empty() {
            return Err(CatalogError::Empty);
        }
        for (index, a) in self.actions.iter().enumerate() {
            if a.id.is_empty() {
                return Err(CatalogError::EmptyId { index });
            }
            if self.actions[..index].iter().any(|o| o.id == a.id) {
                return Err(CatalogError::DuplicateId { id: a.id.clone() });
            }
            let out_of_range = |field: String, value: f64, expected| CatalogError::OutOfRange {
                id: a.id.clone(),
                field,
                value,
                expected,
            };
            if !(a.cost.is_finite() && a.cost >= 0.0) {
                return Err(out_of_range("cost".into(), a.cost, "a finite number >= 0"));
            }
            let uplifts = std::iter::once(("uplift".to_owned(), a.uplift)).chain(
                a.uplift_by_tier
                    .iter()
                    .map(|(t, u)| (format!("uplift_by_tier.{t}"), *u)),
            );
            for (field, u) in uplifts {
                if !(-1.0..=1.0).contains(&u) {
                    return Err(out_of_range(field, u, "a number in -1..=1"));
                }
            }
            let e = &a.eligibility;
            if !(0.0..=1.0).contains(&e.min_churn_probability) {
                return Err(out_of_range(
                    "eligibility.min_churn_probability".into(),
                    e.min_churn_probability,
                    "a probability in 0..=1",
                ));
            }
            if e.min_products > e.max_products {
                return Err(CatalogError::ProductRange {
                    id: a.id.clone(),
                    min: e.min_products,
                    max: e.max_products,
                });
            }
        }
        Ok(())
    }
}

/// The rule that excluded an action for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IneligibilityRule {
    /// No consent to contact.
    Consent,
    /// Contacted within the cool-down.
    ContactCooldown,
    /// Contact limit for 30 days reached.
    ContactLimit,
    /// The action is not offered to the tier.
    Tier,
    /// The action needs an open complaint.
    OpenComplaint,
    /// Products held out of range.
    ProductsHeld,
    /// Salary already credited here.
    SalaryAlreadyCredited,
    /// Churn probability below the action's minimum.
    ChurnBelowMinimum,
}

impl IneligibilityRule {
    /// One sentence explaining the rule for `action`.
    pub fn explanation(self, action: &RetentionAction, policy: &ContactPolicy) -> String {
        let e = &action.eligibility;
        match self {
            Self::Consent => "the customer has not consented to contact".into(),
            Self::ContactCooldown => format!(
                "contacted less than {} days ago (contact cool-down)",
                policy.cooldown_days
            ),
            Self::ContactLimit => format!(
                "already {} or more retention contacts in the last 30 days",
                policy.max_contacts_30d
            ),
            Self::Tier => {
                let tiers: Vec<String> = e.tiers.iter().map(ToString::to_string).collect();
                format!("offered only to tiers {}", tiers.join(", "))
            }
            Self::OpenComplaint => "needs an open complaint to resolve".into(),
            Self::ProductsHeld => format!(
                "needs {}..={} products held",
                e.min_products, e.max_products
            ),
            Self::SalaryAlreadyCredited => "the salary is already credited here".into(),
            Self::ChurnBelowMinimum => format!(
                "churn probability below the action's minimum {}",
                e.min_churn_probability
            ),
        }
    }
}

/// Checks whether `action` may be offered; gates run before any expected value is computed.
///
/// # Errors
/// The first rule, in a fixed order (contact policy first), that excludes the action.
#[inline]
pub fn check_eligibility(
    action: &RetentionAction,
    policy: &ContactPolicy,
    p: &CustomerProfile,
    tier: ValueTier,
    p_churn: f64,
) -> Result<(), IneligibilityRule> {
    let e = &action.eligibility;
    let rule = if e.requires_consent && !p.contact_consent {
        IneligibilityRule::Consent
    } else if p.days_since_last_contact < policy.cooldown_days {
        IneligibilityRule::ContactCooldown
    } else if p.contacts_30d >= policy.max_contacts_30d {
        IneligibilityRule::ContactLimit
    } else if !e.tiers.is_empty() && !e.tiers.contains(&tier) {
        IneligibilityRule::Tier
    } else if e.requires_open_complaint && !p.open_complaint {
        IneligibilityRule::OpenComplaint
    } else if !(e.min_products..=e.max_products).contains(&p.products_held) {
        IneligibilityRule::ProductsHeld
    } else if e.requires_salary_not_credited && p.salary_credited {
        IneligibilityRule::SalaryAlreadyCredited
    } else if p_churn < e.min_churn_probability {
        IneligibilityRule::ChurnBelowMinimum
    } else {
        return Ok(());
    };
    Err(rule)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::profile::tests::sample_profile;

    pub(crate) fn action(id: &str, cost: f64, uplift: f64) -> RetentionAction {
        RetentionAction {
            id: id.into(),
            name: id.replace('_', " "),
            level: ActionLevel::Financial,
            cost,
            uplift,
            uplift_by_tier: Default::default(),
            eligibility: Eligibility::default(),
        }
    }

    pub(crate) fn policy() -> ContactPolicy {
        ContactPolicy {
            cooldown_days: 30,
            max_contacts_30d: 2,
        }
    }

    #[test]
    fn the_contact_policy_gates_every_action() {
        let a = action("fee_waiver", 10.0, 0.2);
        let mut p = sample_profile();
        assert_eq!(
            check_eligibility(&a, &policy(), &p, ValueTier::B, 0.3),
            Ok(())
        );
        p.days_since_last_contact = 5;
        assert_eq!(
            check_eligibility(&a, &policy(), &p, ValueTier::B, 0.3),
            Err(IneligibilityRule::ContactCooldown)
        );
        p.days_since_last_contact = 60;
        p.contacts_30d = 2;
        assert_eq!(
            check_eligibility(&a, &policy(), &p, ValueTier::B, 0.3),
            Err(IneligibilityRule::ContactLimit)
        );
        p.contact_consent = false;
        assert_eq!(
            check_eligibility(&a, &policy(), &p, ValueTier::B, 0.3),
            Err(IneligibilityRule::Consent)
        );
    }

    #[test]
    fn action_rules_exclude_with_their_own_reason() {
        let p = sample_profile(); // 3 products, salary credited, no open complaint
        let check = |e: Eligibility| {
            let mut a = action("x", 1.0, 0.1);
            a.eligibility = e;
            check_eligibility(&a, &policy(), &p, ValueTier::C, 0.1)
        };
        let tiers = Eligibility {
            tiers: vec![ValueTier::A],
            ..Default::default()
        };
        assert_eq!(check(tiers), Err(IneligibilityRule::Tier));
        let complaint = Eligibility {
            requires_open_complaint: true,
            ..Default::default()
        };
        assert_eq!(check(complaint), Err(IneligibilityRule::OpenComplaint));
        let products = Eligibility {
            max_products: 2,
            ..Default::default()
        };
        assert_eq!(check(products), Err(IneligibilityRule::ProductsHeld));
        let salary = Eligibility {
            requires_salary_not_credited: true,
            ..Default::default()
        };
        assert_eq!(check(salary), Err(IneligibilityRule::SalaryAlreadyCredited));
        let risk = Eligibility {
            min_churn_probability: 0.2,
            ..Default::default()
        };
        assert_eq!(check(risk), Err(IneligibilityRule::ChurnBelowMinimum));
    }

    #[test]
    fn tier_overrides_replace_the_base_uplift() {
        let mut a = action("rm_call", 40.0, 0.1);
        a.uplift_by_tier.insert(ValueTier::A, 0.3);
        assert_eq!(a.uplift_for(ValueTier::A), 0.3);
        assert_eq!(a.uplift_for(ValueTier::C), 0.1);
    }

    #[test]
    fn catalog_validation_names_the_action_and_field() {
        let catalog = |actions| ActionCatalog {
            contact_policy: policy(),
            actions,
        };
        assert_eq!(catalog(vec![]).validate(), Err(CatalogError::Empty));
        let err = catalog(vec![action("a", -1.0, 0.1)])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "action `a`: cost is -1, expected a finite number >= 0"
        );
        let mut a = action("a", 1.0, 0.1);
        a.uplift_by_tier.insert(ValueTier::B, 1.5);
        let err = catalog(vec![a]).validate().unwrap_err();
        assert!(err.to_string().contains("uplift_by_tier.B is 1.5"), "{err}");
        let dup = catalog(vec![action("a", 1.0, 0.1), action("a", 2.0, 0.1)]);
        assert!(matches!(
            dup.validate(),
            Err(CatalogError::DuplicateId { .. })
        ));
        assert!(catalog(vec![action("a", 1.0, -0.05)]).validate().is_ok());
    }
}
