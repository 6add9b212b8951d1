//! Value tiers: ABC cut-offs frozen in the bundle, key accounts, and the sleeping rule.

use std::fmt;

/// Tier policy, frozen in the bundle's `policy.toml` (cut-offs computed on the training population).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    /// Total value at or above which a customer is in tier A.
    pub a_min_value: f64,
    /// Total value at or above which a customer is in tier B (below A).
    pub b_min_value: f64,
    /// Total value at or above which a tier-A customer is a key account.
    pub key_account_min_value: f64,
    /// Days without self-initiated activity after which a customer is sleeping.
    pub sleeping_after_days: u32,
}

/// Why a tier policy is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TierPolicyError {
    #[error("tiers.{field} is {value}, expected a finite number")]
    NotFinite { field: &'static str, value: f64 },
    #[error(
        "tiers: expected key_account_min_value ({key}) >= a_min_value ({a}) > b_min_value ({b})"
    )]
    Order { key: f64, a: f64, b: f64 },
    #[error("tiers.sleeping_after_days is {0}, expected 1..=3650")]
    SleepingDays(u32),
}

impl TierPolicy {
    /// Checks the cut-offs are finite and ordered.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), TierPolicyError> {
        for (field, value) in [
            ("a_min_value", self.a_min_value),
            ("b_min_value", self.b_min_value),
            ("key_account_min_value", self.key_account_min_value),
        ] {
            if !value.is_finite() {
                return Err(TierPolicyError::NotFinite { field, value });
            }
        }
        if !(self.key_account_min_value >= self.a_min_value && self.a_min_value > self.b_min_value)
        {
            return Err(TierPolicyError::Order {
                key: self.key_account_min_value,
                a: self.a_min_value,
                b: self.b_min_value,
            });
        }
        if !(1..=3650).contains(&self.sleeping_after_days) {
            return Err(TierPolicyError::SleepingDays(self.sleeping_after_days));
        }
        Ok(())
    }
}

/// A customer's value tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ValueTier {
    /// The customers who make the first ~80% of value.
    A,
    /// The next ~15%.
    B,
    /// The rest.
    C,
    /// Dormant, whatever the value.
    #[serde(rename = "sleeping")]
    Sleeping,
}

impl ValueTier {
    /// Every tier.
    pub const ALL: [ValueTier; 4] = [Self::A, Self::B, Self::C, Self::Sleeping];

    /// Position in [`ValueTier::ALL`], for per-tier tables.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl ValueTier {
    /// The tier's name in files and tensors: `A`, `B`, `C` or `sleeping`.
    pub fn name(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::Sleeping => "sleeping",
        }
    }
}

impl fmt::Display for ValueTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule that decided a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierRule {
    /// Total value >= A cut-off.
    ACutoff,
    /// B cut-off <= total value < A cut-off.
    BCutoff,
    /// Total value < B cut-off.
    BelowBCutoff,
    /// Days since last activity >= sleeping threshold.
    Sleeping,
}

/// A tier with the rule and threshold that decided it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierAssignment {
    /// The tier.
    pub tier: ValueTier,
    /// The deciding rule.
    pub rule: TierRule,
    /// What the rule compared against (value, or days for the sleeping rule).
    pub threshold: f64,
    /// Top of tier A.
    pub key_account: bool,
    /// The customer's total value.
    pub total_value: f64,
    /// The customer's days since last activity.
    pub days_inactive: u32,
}

impl TierAssignment {
    /// One sentence for the retention team.
    pub fn explanation(&self) -> String {
        let v = self.total_value;
        let t = self.threshold;
        match self.rule {
            TierRule::Sleeping => format!(
                "sleeping: no own activity for {} days (threshold {t} days), whatever the value",
                self.days_inactive
            ),
            TierRule::ACutoff if self.key_account => {
                format!("tier A key account: total value {v:.2} >= A cut-off {t:.2} and above the key-account cut-off")
            }
            TierRule::ACutoff => format!("tier A: total value {v:.2} >= A cut-off {t:.2}"),
            TierRule::BCutoff => {
                format!("tier B: total value {v:.2} >= B cut-off {t:.2} and below the A cut-off")
            }
            TierRule::BelowBCutoff => format!("tier C: total value {v:.2} < B cut-off {t:.2}"),
        }
    }
}

impl TierPolicy {
    /// Places a customer: the sleeping rule first, then the ABC cut-offs on total value.
    #[inline]
    pub fn classify(&self, total_value: f64, days_inactive: u32) -> TierAssignment {
        let (tier, rule, threshold) = if days_inactive >= self.sleeping_after_days {
            (
                ValueTier::Sleeping,
                TierRule::Sleeping,
                f64::from(self.sleeping_after_days),
            )
        } else if total_value >= self.a_min_value {
            (ValueTier::A, TierRule::ACutoff, self.a_min_value)
        } else if total_value >= self.b_min_value {
            (ValueTier::B, TierRule::BCutoff, self.b_min_value)
        } else {
            (ValueTier::C, TierRule::BelowBCutoff, self.b_min_value)
        };
        TierAssignment {
            tier,
            rule,
            threshold,
            key_account: tier == ValueTier::A && total_value >= self.key_account_min_value,
            total_value,
            days_inactive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TierPolicy {
        TierPolicy {
            a_min_value: 2_000.0,
            b_min_value: 500.0,
            key_account_min_value: 10_000.0,
            sleeping_after_days: 180,
        }
    }

    #[test]
    fn cut_offs_place_customers_in_a_b_and_c() {
        let p = policy();
        assert_eq!(p.classify(2_000.0, 0).tier, ValueTier::A);
        assert_eq!(p.classify(1_999.99, 0).tier, ValueTier::B);
        assert_eq!(p.classify(500.0, 0).rule, TierRule::BCutoff);
        let c = p.classify(499.0, 0);
        assert_eq!(
            (c.tier, c.rule, c.threshold),
            (ValueTier::C, TierRule::BelowBCutoff, 500.0)
        );
    }

    #[test]
    fn a_sleeping_customer_is_sleeping_whatever_its_value() {
        let t = policy().classify(50_000.0, 180);
        assert_eq!(t.tier, ValueTier::Sleeping);
        assert_eq!(t.threshold, 180.0);
        assert!(!t.key_account);
        assert!(t.explanation().contains("180 days"));
    }

    #[test]
    fn key_accounts_are_the_top_of_tier_a() {
        assert!(policy().classify(10_000.0, 3).key_account);
        assert!(!policy().classify(9_999.0, 3).key_account);
    }

    #[test]
    fn unordered_or_non_finite_cut_offs_are_refused() {
        let mut p = policy();
        p.b_min_value = 3_000.0;
        assert!(matches!(p.validate(), Err(TierPolicyError::Order { .. })));
        p = policy();
        p.a_min_value = f64::NAN;
        assert!(matches!(
            p.validate(),
            Err(TierPolicyError::NotFinite {
                field: "a_min_value",
                ..
            })
        ));
        p = policy();
        p.sleeping_after_days = 0;
        assert!(p.validate().is_err());
        assert!(policy().validate().is_ok());
    }
}
