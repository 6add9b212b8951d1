//! Does learned τ rank customers like the true τ? Spearman's rank correlation against the known
//! answer, and the Qini coefficient on a fresh campaign against random rankings of its rows.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{meant_for, Assessed};
use crate::domain::CustomerProfile;
use crate::training::campaign_history::{CampaignCustomer, CAMPAIGN_ACTIONS};
use crate::training::uplift_eval::{auuc, qini_coefficient, UpliftEvalError, UpliftObservation};

/// Spearman's rank correlation of `x` and `y` (Pearson's on ranks, tied values sharing their
/// mean rank); `None` when there are fewer than two pairs or either side is constant.
///
/// # Panics
/// `x` and `y` differ in length.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "Spearman needs pairs");
    if x.len() < 2 {
        return None;
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let mean = (x.len() as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        let (da, db) = (a - mean, b - mean);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// 1-based ranks, ties at their mean rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut rank = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let mean = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            rank[i] = mean;
        }
        start = end;
    }
    rank
}

/// How learned τ ranks a population against the true τ, for one action.
#[derive(Debug, Clone, PartialEq)]
pub struct RankAgreement {
    /// Index into the campaign actions.
    pub action: usize,
    /// Spearman over every customer.
    pub everyone: Option<f64>,
    /// The customers the action is meant for ([`meant_for`]).
    pub segment: &'static str,
    /// How many of them there are.
    pub segment_customers: usize,
    /// Spearman among them.
    pub within_segment: Option<f64>,
}

/// Spearman of learned against true τ, over everyone and within each action's segment, for
/// every action with a learned model.
pub fn rank_agreement(customers: &[CampaignCustomer], assessed: &Assessed) -> Vec<RankAgreement> {
    (0..CAMPAIGN_ACTIONS.len())
        .filter_map(|a| {
            let segment = meant_for(a);
            let (mut learned, mut truth) = (Vec::new(), Vec::new());
            let (mut seg_learned, mut seg_truth) = (Vec::new(), Vec::new());
            for (c, tau) in customers.iter().zip(&assessed.learned_tau) {
                let t = tau[a]?;
                learned.push(t);
                truth.push(c.true_uplift[a]);
                if (segment.contains)(&c.profile) {
                    seg_learned.push(t);
                    seg_truth.push(c.true_uplift[a]);
                }
            }
            Some(RankAgreement {
                action: a,
                everyone: spearman(&learned, &truth),
                segment: segment.name,
                segment_customers: seg_learned.len(),
                within_segment: spearman(&seg_learned, &seg_truth),
            })
        })
        .collect()
}

/// An action's Qini coefficient on a fresh campaign beside random rankings of the same rows.
#[derive(Debug, Clone, PartialEq)]
pub struct QiniAgainstRandom {
    /// Index into the campaign actions.
    pub action: usize,
    /// Customers who got the action.
    pub treated_rows: usize,
    /// Customers of the control group.
    pub control_rows: usize,
    /// Qini coefficient of the learned τ.
    pub qini: f64,
    /// AUUC of the learned τ.
    pub auuc: f64,
    /// 99th percentile of the Qini coefficients of random rankings.
    pub random_p99: f64,
    /// The highest of them.
    pub random_max: f64,
    /// Permutation p-value: `(1 + random rankings scoring at least the learned one) / (1 + shuffles)`.
    pub p_value: f64,
}

/// The Qini coefficient of the learned τ of `action` on the customers of `customers` who got it
/// or are in the control group and whose profile `within` accepts, and the distribution of the Qini coefficient of `shuffles`
/// random rankings of the same rows (seeded): the null hypothesis that the ranking carries no
/// information about whom the action keeps. Learned τ is continuous, so a random ranking is a
/// uniformly random order of the rows, scored as [`qini_coefficient`] scores a ranking without
/// ties (a point after every row), in O(rows) each.
///
/// # Errors
/// The rows cannot be evaluated (see [`UpliftEvalError`]), e.g. the action has no learned τ.
pub fn qini_against_random(
    customers: &[CampaignCustomer],
    learned_tau: &[[Option<f64>; CAMPAIGN_ACTIONS.len()]],
    action: usize,
    within: impl Fn(&CustomerProfile) -> bool,
    shuffles: usize,
    seed: u64,
) -> Result<QiniAgainstRandom, UpliftEvalError> {
    let rows: Vec<UpliftObservation> = customers
        .iter()
        .zip(learned_tau)
        .filter(|(c, _)| (c.arm.is_none() || c.arm == Some(action)) && within(&c.profile))
        .filter_map(|(c, tau)| {
            Some(UpliftObservation {
                predicted_uplift: tau[action]?,
                treated: c.arm.is_some(),
                churned: c.churned,
            })
        })
        .collect();
    let qini = qini_coefficient(&rows)?;
    let learned_auuc = auuc(&rows)?;
    let bounds = QiniBounds::of(&rows);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut random: Vec<f64> = (0..shuffles)
        .map(|_| {
            order.shuffle(&mut rng);
            bounds.coefficient(qini_area(&rows, &order))
        })
        .collect();
    random.sort_by(f64::total_cmp);
    let at_least = random.iter().filter(|&&q| q >= qini).count();
    let treated_rows = rows.iter().filter(|o| o.treated).count();
    Ok(QiniAgainstRandom {
        action,
        treated_rows,
        control_rows: rows.len() - treated_rows,
        qini,
        auuc: learned_auuc,
        random_p99: percentile(&random, 0.99),
        random_max: random.last().copied().unwrap_or(f64::NAN),
        p_value: (1 + at_least) as f64 / (1 + shuffles) as f64,
    })
}

/// Area under the Qini curve of the rows taken in `order`, a point after every row:
/// `Q(n) = y_t − y_c · n_t / n_c` (`uplift_eval`'s definitions, stayed = not churned).
fn qini_area(rows: &[UpliftObservation], order: &[usize]) -> f64 {
    let (mut n_t, mut n_c, mut y_t, mut y_c) = (0.0, 0.0, 0.0, 0.0);
    let (mut area, mut last) = (0.0, 0.0);
    for &r in order {
        let o = &rows[r];
        let stayed = if o.churned { 0.0 } else { 1.0 };
        if o.treated {
            n_t += 1.0;
            y_t += stayed;
        } else {
            n_c += 1.0;
            y_c += stayed;
        }
        let q = qini_value(n_t, n_c, y_t, y_c);
        area += (last + q) / 2.0;
        last = q;
    }
    area
}

fn qini_value(n_t: f64, n_c: f64, y_t: f64, y_c: f64) -> f64 {
    y_t - if n_c == 0.0 { 0.0 } else { y_c * n_t / n_c }
}

/// The areas that turn a Qini area into the coefficient: random targeting's and the perfect
/// ranking's (treated stayers first, churners, control stayers last).
struct QiniBounds {
    random: f64,
    perfect: f64,
}

impl QiniBounds {
    fn of(rows: &[UpliftObservation]) -> Self {
        let count = |treated: bool, churned: bool| {
            rows.iter()
                .filter(|o| o.treated == treated && o.churned == churned)
                .count() as f64
        };
        let (ts, tc, cs, cc) = (
            count(true, false),
            count(true, true),
            count(false, false),
            count(false, true),
        );
        let n = rows.len() as f64;
        let end = qini_value(ts + tc, cs + cc, ts, cs);
        // Points (0, 0), (ts, ts), (ts + tc + cc, ts), (n, end); an empty group adds no width.
        let perfect = ts * ts / 2.0 + (tc + cc) * ts + cs * (ts + end) / 2.0;
        Self {
            random: n * end / 2.0,
            perfect,
        }
    }

    fn coefficient(&self, area: f64) -> f64 {
        (area - self.random) / (self.perfect - self.random)
    }
}

/// The `q` quantile of sorted values (nearest rank); NaN for none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_is_one_for_any_increasing_relation_and_minus_one_reversed() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [1.0, 4.0, 9.0, 16.0, 100.0];
        assert_eq!(spearman(&x, &y), Some(1.0));
        let reversed: Vec<f64> = y.iter().map(|v| -v).collect();
        assert_eq!(spearman(&x, &reversed), Some(-1.0));
    }

    #[test]
    fn spearman_gives_ties_their_mean_rank() {
        // Ranks of x: 1, 2.5, 2.5, 4; of y: 1, 2, 3, 4. Deviations from 2.5: x −1.5, 0, 0, 1.5;
        // y −1.5, −0.5, 0.5, 1.5. Σxy = 4.5, Σx² = 4.5, Σy² = 5: ρ = 4.5 / √22.5 = 0.9487.
        let rho = spearman(&[0.0, 1.0, 1.0, 2.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((rho - 4.5 / 22.5_f64.sqrt()).abs() < 1e-12, "{rho}");
    }

    #[test]
    fn spearman_is_undefined_for_a_constant_side_or_a_single_pair() {
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearman(&[1.0], &[2.0]), None);
    }

    #[test]
    fn the_qini_coefficient_of_an_order_without_ties_matches_uplift_evals() {
        // 300 rows with distinct scores and outcomes from a fixed pattern; ranked by score, the
        // O(rows) area must give scikit-uplift's coefficient as `qini_coefficient` computes it.
        let rows: Vec<UpliftObservation> = (0..300)
            .map(|i| UpliftObservation {
                predicted_uplift: ((i * 37) % 300) as f64 / 300.0,
                treated: (i * 7) % 3 != 0,
                churned: (i * 11) % 5 < 1 + usize::from(i % 2 == 0),
            })
            .collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| {
            rows[b]
                .predicted_uplift
                .total_cmp(&rows[a].predicted_uplift)
        });
        let fast = QiniBounds::of(&rows).coefficient(qini_area(&rows, &order));
        let exact = qini_coefficient(&rows).unwrap();
        assert!((fast - exact).abs() < 1e-12, "{fast} against {exact}");
    }

    #[test]
    fn the_99th_percentile_is_the_nearest_rank() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.99), 198.0);
        assert_eq!(percentile(&v, 1.0), 200.0);
        assert_eq!(percentile(&v[..1], 0.99), 1.0);
    }
}
