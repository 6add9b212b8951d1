//! The population stability index: how far a live distribution over fixed bins has moved from
//! the training distribution over the same bins.
//!
//! `PSI = Σ_bins (a − e) · ln(a / e)`, with `a` the live share and `e` the training share of a
//! bin. The usual reading: below [`WATCH`] the population is stable, from [`WATCH`] to
//! [`SHIFTED`] it is worth watching, above [`SHIFTED`] it has shifted and the model's scores
//! should not be trusted without a look.

/// PSI from which a variable is worth watching.
pub const WATCH: f64 = 0.10;
/// PSI above which a variable has shifted.
pub const SHIFTED: f64 = 0.25;
/// Share given to an empty bin (live or training), so that `ln(a / e)` stays finite: an empty
/// live bin that training filled to 10% then contributes `(0.1 − 1e-4) · ln(1000) ≈ 0.69`.
pub const EMPTY_BIN_SHARE: f64 = 1e-4;

/// The band a PSI value falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// PSI < 0.10.
    Stable,
    /// 0.10 ≤ PSI ≤ 0.25.
    Watch,
    /// PSI > 0.25.
    Shifted,
}

impl Band {
    /// The band of `psi`.
    pub fn of(psi: f64) -> Self {
        if psi < WATCH {
            Self::Stable
        } else if psi <= SHIFTED {
            Self::Watch
        } else {
            Self::Shifted
        }
    }

    /// 0 stable, 1 watch, 2 shifted: the value of the band gauge.
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// The PSI of live `counts` per bin against the `expected` shares of the same bins.
///
/// Returns `None` when there is no live observation yet (the index is undefined then).
///
/// # Panics
/// `counts` and `expected` differ in length.
pub fn psi(counts: &[u64], expected: &[f64]) -> Option<f64> {
    assert_eq!(counts.len(), expected.len(), "one expected share per bin");
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let n = total as f64;
    Some(
        counts
            .iter()
            .zip(expected)
            .map(|(&c, &e)| {
                let a = (c as f64 / n).max(EMPTY_BIN_SHARE);
                let e = e.max(EMPTY_BIN_SHARE);
                (a - e) * (a / e).ln()
            })
            .sum(),
    )
}

/// The bin of `value` among decile `edges` (ascending): the number of edges at or below it, so
/// a value equal to an edge belongs to the bin above, as the nearest-rank deciles put it there.
#[inline]
pub fn bin(edges: &[f64], value: f64) -> usize {
    edges.partition_point(|e| *e <= value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECILES: [f64; 10] = [0.1; 10];

    #[test]
    fn a_live_distribution_equal_to_training_has_a_psi_of_zero() {
        assert_eq!(psi(&[100; 10], &DECILES), Some(0.0));
        assert_eq!(Band::of(0.0), Band::Stable);
    }

    #[test]
    fn a_known_shift_has_its_hand_computed_psi() {
        // Live shares 0.2, 0.2, 0.2, 0.2, 0.2 in the lowest five bins, nothing above:
        // 5 · (0.2 − 0.1) · ln 2 + 5 · (1e-4 − 0.1) · ln(1e-4 / 0.1)
        // = 0.346 574 + 5 · 0.0999 · 6.907 755 = 0.346 574 + 3.450 424 = 3.796 998.
        let counts = [20, 20, 20, 20, 20, 0, 0, 0, 0, 0];
        let p = psi(&counts, &DECILES).unwrap();
        assert!((p - 3.796_998).abs() < 1e-5, "{p}");
        assert_eq!(Band::of(p), Band::Shifted);
    }

    #[test]
    fn a_mild_shift_falls_in_the_watch_band() {
        // Shares 0.15 and 0.05 in two bins, 0.1 elsewhere:
        // 0.05 · ln 1.5 + (−0.05) · ln 0.5 = 0.020 273 + 0.034 657 = 0.054 931 (stable);
        // shares 0.2, 0.05, 0.05: 0.1 · ln 2 + 2 · (−0.05) · ln 0.5 = 0.2 · ln 2 = 0.138 629.
        let stable = psi(&[15, 5, 10, 10, 10, 10, 10, 10, 10, 10], &DECILES).unwrap();
        assert!((stable - 0.054_931).abs() < 1e-6, "{stable}");
        assert_eq!(Band::of(stable), Band::Stable);
        let watch = psi(&[40, 10, 10, 20, 20, 20, 20, 20, 20, 20], &DECILES).unwrap();
        assert!((watch - 0.138_629).abs() < 1e-6, "{watch}");
        assert_eq!(Band::of(watch), Band::Watch);
    }

    #[test]
    fn no_live_observation_has_no_psi() {
        assert_eq!(psi(&[0; 10], &DECILES), None);
    }

    #[test]
    fn a_value_on_an_edge_belongs_to_the_bin_above() {
        let edges = [1.0, 2.0, 3.0];
        assert_eq!(bin(&edges, 0.5), 0);
        assert_eq!(bin(&edges, 1.0), 1);
        assert_eq!(bin(&edges, 2.5), 2);
        assert_eq!(bin(&edges, 9.0), 3);
    }
}
