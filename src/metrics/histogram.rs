//! A lock-free histogram with explicit bucket bounds: one atomic per bucket and an integer sum,
//! so recording never takes a lock.

use std::sync::atomic::{AtomicU64, Ordering};

use super::exposition::{le_label, Exposition};

/// Latency buckets in seconds, 50 µs to 5 s: unary calls take tens of microseconds, bulk streams
/// seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// Churn probability buckets: 0.1 wide from 0 to 1.
pub const PROBABILITY_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// Buckets of |p_challenger − p_champion|: fine near zero, where well-behaved challengers sit.
pub const DIFF_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Counts of observations per bucket (`value <= bound`, the last bucket open) and their sum.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    // Not cumulative: the observation lands in one bucket; the exposition accumulates.
    counts: Box<[AtomicU64]>,
    // Σ values in units of `unit`, so the sum is one integer atomic.
    sum_units: AtomicU64,
    unit: f64,
}

impl Histogram {
    /// A histogram over `bounds` (ascending) whose sum is kept in multiples of `unit`.
    pub fn new(bounds: &'static [f64], unit: f64) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_units: AtomicU64::new(0),
            unit,
        }
    }

    /// Latency in seconds, summed in nanoseconds.
    pub fn latency() -> Self {
        Self::new(LATENCY_BUCKETS, 1e-9)
    }

    /// A probability or probability difference, summed in units of 1e-9.
    pub fn probability(bounds: &'static [f64]) -> Self {
        Self::new(bounds, 1e-9)
    }

    /// Records one observation (negative values count as zero in the sum).
    #[inline]
    pub fn observe(&self, value: f64) {
        let bucket = self.bounds.partition_point(|b| *b < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_units
            .fetch_add((value / self.unit).round() as u64, Ordering::Relaxed);
    }

    /// Adds the observations of a local histogram over the same bounds.
    pub fn merge(&self, local: &LocalHistogram) {
        debug_assert_eq!(
            local.bounds, self.bounds,
            "merging histograms of other bounds"
        );
        for (shared, &c) in self.counts.iter().zip(&local.counts) {
            if c > 0 {
                shared.fetch_add(c, Ordering::Relaxed);
            }
        }
        self.sum_units
            .fetch_add((local.sum / self.unit).round() as u64, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` samples with `labels` (the family
    /// header is the caller's).
    pub fn write(&self, e: &mut Exposition, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        let les = self
            .bounds
            .iter()
            .map(|b| le_label(*b))
            .chain(std::iter::once("+Inf".to_owned()));
        for (count, le) in self.counts.iter().zip(les) {
            cumulative += count.load(Ordering::Relaxed);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            e.sample(&bucket, &with_le, cumulative as f64);
        }
        let sum = self.sum_units.load(Ordering::Relaxed) as f64 * self.unit;
        e.sample(&format!("{name}_sum"), labels, sum);
        e.sample(&format!("{name}_count"), labels, cumulative as f64);
    }
}

/// A histogram filled by one thread (a bulk chunk), merged into a [`Histogram`] once.
#[derive(Debug, Clone)]
pub struct LocalHistogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
}

impl LocalHistogram {
    /// An empty histogram over `bounds`.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&mut self, value: f64) {
        self.counts[self.bounds.partition_point(|b| *b < value)] += 1;
        self.sum += value;
    }
}

impl Default for LocalHistogram {
    /// Over [`PROBABILITY_BUCKETS`].
    fn default() -> Self {
        Self::new(PROBABILITY_BUCKETS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::Kind;

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        let h = Histogram::probability(PROBABILITY_BUCKETS);
        for v in [0.05, 0.1, 0.15, 0.95] {
            h.observe(v);
        }
        let mut e = Exposition::default();
        e.family("p", Kind::Histogram, "P.");
        h.write(&mut e, "p", &[("m", "v1")]);
        let text = e.finish();
        assert!(text.contains("p_bucket{m=\"v1\",le=\"0.1\"} 2\n"), "{text}");
        assert!(text.contains("p_bucket{m=\"v1\",le=\"0.2\"} 3\n"), "{text}");
        assert!(text.contains("p_bucket{m=\"v1\",le=\"0.9\"} 3\n"), "{text}");
        assert!(
            text.contains("p_bucket{m=\"v1\",le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("p_sum{m=\"v1\"} 1.25\n"), "{text}");
        assert!(text.contains("p_count{m=\"v1\"} 4\n"), "{text}");
        assert_eq!(h.count(), 4);
    }

    #[test]
    fn a_merged_local_histogram_counts_as_if_observed_directly() {
        let (direct, merged) = (
            Histogram::probability(PROBABILITY_BUCKETS),
            Histogram::probability(PROBABILITY_BUCKETS),
        );
        let mut local = LocalHistogram::default();
        for v in [0.05, 0.31, 0.99] {
            direct.observe(v);
            local.observe(v);
        }
        merged.merge(&local);
        let render = |h: &Histogram| {
            let mut e = Exposition::default();
            h.write(&mut e, "p", &[]);
            e.finish()
        };
        assert_eq!(render(&direct), render(&merged));
    }
}
