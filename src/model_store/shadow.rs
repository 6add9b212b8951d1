//! Counters of how a challenger's answers differ from the champion's on the same requests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Lock-free shadow comparison counters for one challenger version.
#[derive(Debug, Default)]
pub struct ShadowStats {
    requests: AtomicU64,
    // Σ |Δp| in units of 1e-12, so it can be summed atomically.
    sum_abs_diff_pico: AtomicU64,
    // Bit pattern of the largest |Δp|: for non-negative floats the bit order is the numeric order.
    max_abs_diff_bits: AtomicU64,
    tier_disagreements: AtomicU64,
    action_disagreements: AtomicU64,
}

/// A snapshot of [`ShadowStats`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShadowSummary {
    /// Requests scored by both.
    pub requests: u64,
    /// Mean |p_challenger − p_champion|.
    pub mean_abs_probability_diff: f64,
    /// Largest |p_challenger − p_champion|.
    pub max_abs_probability_diff: f64,
    /// Requests where the tiers differ.
    pub tier_disagreements: u64,
    /// Requests where the chosen actions differ.
    pub action_disagreements: u64,
}

impl ShadowStats {
    /// Records one comparison.
    pub fn record(&self, probability_diff: f64, tier_differs: bool, action_differs: bool) {
        let d = probability_diff.abs();
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.sum_abs_diff_pico
            .fetch_add((d * 1e12) as u64, Ordering::Relaxed);
        self.max_abs_diff_bits
            .fetch_max(d.to_bits(), Ordering::Relaxed);
        if tier_differs {
            self.tier_disagreements.fetch_add(1, Ordering::Relaxed);
        }
        if action_differs {
            self.action_disagreements.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn summary(&self) -> ShadowSummary {
        let requests = self.requests.load(Ordering::Relaxed);
        let sum = self.sum_abs_diff_pico.load(Ordering::Relaxed) as f64 * 1e-12;
        ShadowSummary {
            requests,
            mean_abs_probability_diff: if requests == 0 {
                0.0
            } else {
                sum / requests as f64
            },
            max_abs_probability_diff: f64::from_bits(
                self.max_abs_diff_bits.load(Ordering::Relaxed),
            ),
            tier_disagreements: self.tier_disagreements.load(Ordering::Relaxed),
            action_disagreements: self.action_disagreements.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_holds_mean_max_and_disagreements() {
        let s = ShadowStats::default();
        s.record(0.1, false, true);
        s.record(-0.3, true, false);
        let sum = s.summary();
        assert_eq!(sum.requests, 2);
        assert!((sum.mean_abs_probability_diff - 0.2).abs() < 1e-9);
        assert_eq!(sum.max_abs_probability_diff, 0.3);
        assert_eq!((sum.tier_disagreements, sum.action_disagreements), (1, 1));
    }
}
