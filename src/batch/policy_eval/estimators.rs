//! Off-policy value estimators over logged decisions: the logged policy's mean reward, inverse
//! propensity scoring (IPS), self-normalized IPS (SNIPS) and doubly robust (DR), each with a 95%
//! normal-approximation interval. Pure functions, no I/O.
//!
//! For logged row `i`: arm `a_i` chosen with propensity `μ_i`, reward `r_i`, the target policy's
//! probabilities `π(·|x_i)` and the outcome model's predicted rewards `r̂(x_i, ·)`. With the
//! importance weight `w_i = π(a_i|x_i) / μ_i`:
//!
//! | estimator | per-row term |
//! |---|---|
//! | logged | `r_i` |
//! | IPS | `w_i · r_i` |
//! | DR | `Σ_a π(a|x_i)·r̂(x_i,a) + w_i·(r_i − r̂(x_i,a_i))` |
//! | direct method (model only) | `Σ_a π(a|x_i)·r̂(x_i,a)` |
//!
//! Each estimate is the mean of its terms, with the interval `mean ± 1.96·sd/√n`. SNIPS is
//! `Σ w_i r_i / Σ w_i`; its interval uses the delta method (terms `w_i (r_i − V̂) / w̄`).
//! IPS is unbiased when the propensities are right; DR is unbiased when the propensities *or*
//! the outcome model are right, and its variance is smaller the better `r̂` predicts `r`.

use super::super::outcomes::Z_95;

/// One logged decision as the estimators see it.
#[derive(Debug, Clone, Copy)]
pub struct LoggedDecision<'a> {
    /// The arm the logging policy chose (an index into `target` and `predicted`).
    pub arm: usize,
    /// The probability with which the logging policy chose it, in (0, 1].
    pub propensity: f64,
    /// The reward observed.
    pub reward: f64,
    /// The target policy's probability of each arm for this customer (summing to 1).
    pub target: &'a [f64],
    /// The outcome model's predicted reward of each arm for this customer.
    pub predicted: &'a [f64],
}

/// What the estimators keep of one logged decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    /// `r_i`.
    pub reward: f64,
    /// `w_i = π(a_i|x_i) / μ_i`.
    pub weight: f64,
    /// `Σ_a π(a|x_i)·r̂(x_i,a)`: the target policy's value by the outcome model alone.
    pub direct: f64,
    /// `r̂(x_i, a_i)`: the outcome model's prediction for the logged arm.
    pub predicted: f64,
}

impl Terms {
    /// The terms of one logged decision.
    pub fn of(d: &LoggedDecision<'_>) -> Self {
        Self {
            reward: d.reward,
            weight: d.target[d.arm] / d.propensity,
            direct: d.target.iter().zip(d.predicted).map(|(p, r)| p * r).sum(),
            predicted: d.predicted[d.arm],
        }
    }

    /// The IPS term `w_i · r_i`.
    pub fn ips(&self) -> f64 {
        self.weight * self.reward
    }

    /// The doubly robust term `direct_i + w_i · (r_i − r̂(x_i, a_i))`.
    pub fn doubly_robust(&self) -> f64 {
        self.direct + self.weight * (self.reward - self.predicted)
    }
}

/// A mean with its 95% normal-approximation interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// The estimate.
    pub value: f64,
    /// Its standard error, `sd / √n`.
    pub std_error: f64,
    /// `value − 1.96 · std_error`.
    pub low: f64,
    /// `value + 1.96 · std_error`.
    pub high: f64,
}

impl Interval {
    fn around(value: f64, std_error: f64) -> Self {
        Self {
            value,
            std_error,
            low: value - Z_95 * std_error,
            high: value + Z_95 * std_error,
        }
    }

    /// The mean of `xs` with `sd / √n` (sample sd, `n − 1`); NaN bounds below two values.
    pub fn mean_of(xs: impl Iterator<Item = f64> + Clone) -> Self {
        let (n, sum) = xs.clone().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
        let mean = sum / n as f64;
        let squares: f64 = xs.map(|x| (x - mean) * (x - mean)).sum();
        let sd = (squares / (n as f64 - 1.0)).sqrt();
        Self::around(mean, sd / (n as f64).sqrt())
    }

    /// Whether `x` lies within the interval (bounds included).
    pub fn covers(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// The interval's width, `high − low`.
    pub fn width(&self) -> f64 {
        self.high - self.low
    }
}

/// Every estimate of one evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimates {
    /// Logged decisions.
    pub rows: u64,
    /// The logging policy's value: the mean observed reward.
    pub logged: Interval,
    /// The target policy's value by IPS.
    pub ips: Interval,
    /// The target policy's value by self-normalized IPS; `None` when no weight is positive
    /// (the target policy never chose what was logged).
    pub snips: Option<Interval>,
    /// The target policy's value by the doubly robust estimator.
    pub doubly_robust: Interval,
    /// The target policy's value by the outcome model alone (the direct method; biased when
    /// the model is wrong, shown for comparison).
    pub direct_method: Interval,
    /// Target − logged, paired per row, by IPS: the mean of `w_i r_i − r_i`.
    pub ips_minus_logged: Interval,
    /// Target − logged, paired per row, by DR: the mean of `DR_i − r_i`.
    pub doubly_robust_minus_logged: Interval,
    /// `(Σw)² / Σw²`: how many logged rows the weighted estimates are worth.
    pub effective_sample_size: f64,
    /// Rows whose logged arm the target policy could choose (`w_i > 0`).
    pub rows_with_weight: u64,
    /// The largest weight `w_i`.
    pub max_weight: f64,
}

/// Every estimate over `terms`, one per logged decision.
///
/// # Panics
/// `terms` is empty (callers refuse an empty log first).
pub fn estimate(terms: &[Terms]) -> Estimates {
    assert!(!terms.is_empty(), "no logged decisions to estimate from");
    let n = terms.len() as f64;
    let each = |f: fn(&Terms) -> f64| terms.iter().map(f);
    let sum_w: f64 = each(|t| t.weight).sum();
    let sum_w2: f64 = each(|t| t.weight * t.weight).sum();
    let snips = (sum_w > 0.0).then(|| {
        let value = terms.iter().map(|t| t.weight * t.reward).sum::<f64>() / sum_w;
        let mean_w = sum_w / n;
        let influence = terms
            .iter()
            .map(move |t| t.weight * (t.reward - value) / mean_w);
        Interval::around(value, Interval::mean_of(influence).std_error)
    });
    Estimates {
        rows: terms.len() as u64,
        logged: Interval::mean_of(each(|t| t.reward)),
        ips: Interval::mean_of(each(Terms::ips)),
        snips,
        doubly_robust: Interval::mean_of(each(Terms::doubly_robust)),
        direct_method: Interval::mean_of(each(|t| t.direct)),
        ips_minus_logged: Interval::mean_of(each(|t| t.ips() - t.reward)),
        doubly_robust_minus_logged: Interval::mean_of(each(|t| t.doubly_robust() - t.reward)),
        effective_sample_size: if sum_w2 > 0.0 {
            sum_w * sum_w / sum_w2
        } else {
            0.0
        },
        rows_with_weight: terms.iter().filter(|t| t.weight > 0.0).count() as u64,
        max_weight: each(|t| t.weight).fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(arm: usize, propensity: f64, reward: f64, target: &[f64], predicted: &[f64]) -> Terms {
        Terms::of(&LoggedDecision {
            arm,
            propensity,
            reward,
            target,
            predicted,
        })
    }

    #[test]
    fn each_estimator_has_the_worked_value_on_four_rows() {
        // Two arms; the target always picks arm 1; the log picks each with probability 0.5.
        // r̂ = (100, 150) everywhere.
        let pi = [0.0, 1.0];
        let r_hat = [100.0, 150.0];
        let rows = [
            terms(1, 0.5, 200.0, &pi, &r_hat), // w 2: IPS 400, DR 150 + 2·50 = 250
            terms(1, 0.5, 100.0, &pi, &r_hat), // w 2: IPS 200, DR 150 − 100 = 50
            terms(0, 0.5, 120.0, &pi, &r_hat), // w 0: IPS 0, DR 150
            terms(0, 0.5, 80.0, &pi, &r_hat),  // w 0: IPS 0, DR 150
        ];
        let e = estimate(&rows);
        assert_eq!(e.rows, 4);
        assert!((e.logged.value - 125.0).abs() < 1e-12);
        assert!((e.ips.value - 150.0).abs() < 1e-12);
        assert!((e.doubly_robust.value - 150.0).abs() < 1e-12);
        assert!((e.direct_method.value - 150.0).abs() < 1e-12);
        // SNIPS: (400 + 200) / (2 + 2) = 150.
        assert!((e.snips.unwrap().value - 150.0).abs() < 1e-12);
        // IPS terms 400, 200, 0, 0: mean 150, sd √((250² + 50² + 150² + 150²) / 3) = 191.49,
        // se 95.74, interval 150 ± 187.65.
        assert!((e.ips.std_error - 95.742_710_8).abs() < 1e-6, "{:?}", e.ips);
        assert!((e.ips.low - (150.0 - Z_95 * 95.742_710_8)).abs() < 1e-6);
        // DR terms 250, 50, 150, 150: sd √((100² + 100²) / 3) = 81.65, se 40.82.
        assert!((e.doubly_robust.std_error - 40.824_829_0).abs() < 1e-6);
        // Paired differences DR − r: 50, −50, 30, 70 → mean 25.
        assert!((e.doubly_robust_minus_logged.value - 25.0).abs() < 1e-12);
        // ESS = (2 + 2)² / (4 + 4) = 2; two rows carry weight, the largest 2.
        assert!((e.effective_sample_size - 2.0).abs() < 1e-12);
        assert_eq!((e.rows_with_weight, e.max_weight), (2, 2.0));
    }

    #[test]
    fn the_logging_policy_evaluated_on_its_own_log_is_its_mean_reward() {
        // π = μ: every weight 1, IPS = SNIPS = logged mean, ESS = n.
        let pi = [0.25, 0.75];
        let r_hat = [10.0, 20.0];
        let rows: Vec<Terms> = (0..40)
            .map(|i| {
                let arm = usize::from(i % 4 != 0);
                terms(arm, pi[arm], f64::from(i), &pi, &r_hat)
            })
            .collect();
        let e = estimate(&rows);
        assert!((e.ips.value - e.logged.value).abs() < 1e-9);
        assert!((e.snips.unwrap().value - e.logged.value).abs() < 1e-9);
        assert!((e.effective_sample_size - 40.0).abs() < 1e-9);
        assert!(e.ips_minus_logged.value.abs() < 1e-9);
        assert!(e.ips_minus_logged.std_error.abs() < 1e-9);
    }

    #[test]
    fn a_perfect_outcome_model_leaves_doubly_robust_without_variance_from_the_weights() {
        // r = r̂ exactly: the correction vanishes and DR equals the direct method, with the
        // spread of the customers alone, while IPS carries the weights' noise.
        let pi = [1.0, 0.0];
        let rows: Vec<Terms> = (0..100)
            .map(|i| {
                let r_hat = [f64::from(i), 5.0];
                let arm = i as usize % 2;
                terms(arm, 0.5, r_hat[arm], &pi, &r_hat)
            })
            .collect();
        let e = estimate(&rows);
        assert!((e.doubly_robust.value - 49.5).abs() < 1e-9);
        assert_eq!(e.doubly_robust, e.direct_method);
        assert!(e.doubly_robust.width() < e.ips.width());
    }

    #[test]
    fn snips_is_absent_when_the_target_never_chose_a_logged_arm() {
        let pi = [0.0, 1.0];
        let r_hat = [1.0, 2.0];
        let rows = [
            terms(0, 0.5, 3.0, &pi, &r_hat),
            terms(0, 0.5, 4.0, &pi, &r_hat),
        ];
        let e = estimate(&rows);
        assert_eq!(e.snips, None);
        assert_eq!(e.effective_sample_size, 0.0);
        assert_eq!(e.ips.value, 0.0);
        // DR falls back on the model: 2 − 0 correction.
        assert!((e.doubly_robust.value - 2.0).abs() < 1e-12);
    }
}
