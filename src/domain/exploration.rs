//! Exploration: with probability ε a decision takes one of the customer's actions worth taking
//! chosen uniformly, instead of the best one, so that every such action keeps being tried and a
//! new policy can be evaluated offline on the logged decisions (inverse propensity, doubly
//! robust). The draw is a hash of the customer id and a salt, so the same customer gets the same
//! decision from the same bundle (a replay reproduces it) and a new salt redraws everyone.
//!
//! With `k` actions worth taking, the best one is chosen with probability `1 − ε + ε/k` and
//! each other one with `ε/k`; that probability (the propensity) is recorded with the decision.
//!
//! A real-time control group works the same way: a share of customers, drawn by a hash of their
//! id and a salt, get no action even when one is worth taking, so that what the actions achieve
//! can be measured against them (`bankscore outcomes`).

/// The `[exploration]` table of `policy.toml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exploration {
    /// Share of decisions that explore, 0 <= ε < 1 (e.g. 0.05).
    pub epsilon: f64,
    /// With the customer id, decides who explores and what; change it to redraw (e.g. per month).
    pub salt: String,
}

/// Why an exploration table is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplorationError {
    #[error("exploration.epsilon is {0}, expected 0 <= ε < 1")]
    Epsilon(f64),
    #[error("control_group.share is {0}, expected 0 < share < 1")]
    ControlShare(f64),
}

/// Which of `k` actions worth taking (ranked best first) a decision takes, and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// Index among the `k`, 0 = the best.
    pub index: usize,
    /// The probability with which the policy chose it.
    pub propensity: f64,
}

/// The `[control_group]` table of `policy.toml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlGroup {
    /// Share of customers held out, 0 < share < 1 (e.g. 0.05).
    pub share: f64,
    /// With the customer id, decides who is held out; change it to draw a new group.
    pub salt: String,
}

impl ControlGroup {
    /// Checks the share's range.
    ///
    /// # Errors
    /// The share outside 0..1 (exclusive) or not a number.
    pub fn validate(&self) -> Result<(), ExplorationError> {
        if self.share > 0.0 && self.share < 1.0 {
            Ok(())
        } else {
            Err(ExplorationError::ControlShare(self.share))
        }
    }

    /// Whether `customer_id` is in the control group.
    pub fn contains(&self, customer_id: &str) -> bool {
        // A draw independent of exploration's for the same salt.
        let h = fnv1a(self.salt.as_bytes(), customer_id.as_bytes()) ^ 0x5bd1_e995_c0a7_f00d;
        unit(splitmix(h)) < self.share
    }
}

impl Exploration {
    /// Checks ε's range.
    ///
    /// # Errors
    /// ε outside 0..1 or not a number.
    pub fn validate(&self) -> Result<(), ExplorationError> {
        if (0.0..1.0).contains(&self.epsilon) {
            Ok(())
        } else {
            Err(ExplorationError::Epsilon(self.epsilon))
        }
    }

    /// The choice for `customer_id` among `k >= 1` actions worth taking.
    pub fn choose(&self, customer_id: &str, k: usize) -> Choice {
        let uniform = 1.0 / k as f64;
        let best = Choice {
            index: 0,
            propensity: 1.0 - self.epsilon + self.epsilon * uniform,
        };
        if k < 2 || self.epsilon == 0.0 {
            return Choice {
                propensity: if k < 2 { 1.0 } else { best.propensity },
                ..best
            };
        }
        let h = fnv1a(self.salt.as_bytes(), customer_id.as_bytes());
        let explore = unit(splitmix(h)) < self.epsilon;
        if !explore {
            return best;
        }
        let index = (splitmix(h ^ 0x9e37_79b9_7f4a_7c15) % k as u64) as usize;
        Choice {
            index,
            propensity: if index == 0 {
                best.propensity
            } else {
                self.epsilon * uniform
            },
        }
    }
}

/// FNV-1a over `salt`, a separator and `id`.
fn fnv1a(salt: &[u8], id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in salt.iter().chain(&[0u8]).chain(id) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's finalizer: spreads FNV's bits over the whole word.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The top 53 bits as a number in [0, 1).
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(epsilon: f64) -> Exploration {
        Exploration {
            epsilon,
            salt: "2026-12".into(),
        }
    }

    #[test]
    fn the_best_action_has_probability_one_minus_epsilon_plus_its_uniform_share() {
        // ε = 0.1, k = 4: best 0.9 + 0.025 = 0.925, each other 0.025.
        let p = policy(0.1);
        let mut counts = [0usize; 4];
        for i in 0..40_000 {
            let c = p.choose(&format!("C{i}"), 4);
            counts[c.index] += 1;
            let want = if c.index == 0 { 0.925 } else { 0.025 };
            assert!((c.propensity - want).abs() < 1e-12, "{c:?}");
        }
        // Observed shares match the recorded propensities (4 sd of a binomial share: ~0.003).
        assert!(
            (counts[0] as f64 / 40_000.0 - 0.925).abs() < 0.006,
            "{counts:?}"
        );
        for &n in &counts[1..] {
            assert!((n as f64 / 40_000.0 - 0.025).abs() < 0.004, "{counts:?}");
        }
    }

    #[test]
    fn the_same_customer_and_salt_give_the_same_choice_and_a_new_salt_redraws() {
        let p = policy(0.5);
        let first: Vec<usize> = (0..200)
            .map(|i| p.choose(&format!("C{i}"), 3).index)
            .collect();
        let again: Vec<usize> = (0..200)
            .map(|i| p.choose(&format!("C{i}"), 3).index)
            .collect();
        assert_eq!(first, again);
        let other = Exploration {
            salt: "2027-01".into(),
            ..p
        };
        let redrawn: Vec<usize> = (0..200)
            .map(|i| other.choose(&format!("C{i}"), 3).index)
            .collect();
        assert_ne!(first, redrawn);
    }

    #[test]
    fn one_action_or_no_exploration_is_deterministic() {
        assert_eq!(
            policy(0.3).choose("C1", 1),
            Choice {
                index: 0,
                propensity: 1.0
            }
        );
        let none = policy(0.0).choose("C1", 5);
        assert_eq!(
            none,
            Choice {
                index: 0,
                propensity: 1.0
            }
        );
    }

    #[test]
    fn the_control_group_is_about_its_share_reproducible_and_redrawn_by_a_new_salt() {
        let group = ControlGroup {
            share: 0.1,
            salt: "2026-12".into(),
        };
        let members: Vec<bool> = (0..20_000)
            .map(|i| group.contains(&format!("C{i}")))
            .collect();
        let share = members.iter().filter(|&&m| m).count() as f64 / 20_000.0;
        assert!((share - 0.1).abs() < 0.009, "{share}");
        assert!((0..20_000).all(|i| group.contains(&format!("C{i}")) == members[i]));
        let next = ControlGroup {
            salt: "2027-01".into(),
            ..group.clone()
        };
        let moved = (0..20_000)
            .filter(|&i| next.contains(&format!("C{i}")) != members[i])
            .count();
        assert!(moved > 2_000, "{moved}");
        for bad in [0.0, 1.0, f64::NAN] {
            assert!(ControlGroup {
                share: bad,
                salt: "x".into()
            }
            .validate()
            .is_err());
        }
    }

    #[test]
    fn epsilon_must_be_a_share_below_one() {
        for bad in [-0.1, 1.0, f64::NAN] {
            assert!(policy(bad).validate().is_err(), "{bad}");
        }
        assert_eq!(
            policy(1.5).validate().unwrap_err().to_string(),
            "exploration.epsilon is 1.5, expected 0 <= ε < 1"
        );
        assert!(policy(0.05).validate().is_ok());
    }
}
