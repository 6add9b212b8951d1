//! Validation metrics of a churn model: ROC AUC, log-loss and Brier score.

use crate::model_store::format::{CalibrationBin, LiftPoint, Metrics};

/// Computes the metrics of predicted churn probabilities against outcomes.
pub fn metrics(probabilities: &[f64], labels: &[bool]) -> Metrics {
    Metrics {
        roc_auc: roc_auc(probabilities, labels),
        log_loss: log_loss(probabilities, labels),
        brier: brier(probabilities, labels),
    }
}

/// Area under the ROC curve by the rank-sum (Mann–Whitney) formula; ties share their mean rank.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0, 0u64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += mean_rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = scores.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// Mean negative log-likelihood, with probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    sum / probabilities.len() as f64
}

/// Mean squared error of the probabilities.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    sum / probabilities.len() as f64
}

/// Row indices sorted by predicted probability, highest first.
fn riskiest_first(probabilities: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    order
}

/// Equal-count bins of predicted probability, lowest first: mean predicted vs observed rate.
pub fn calibration(probabilities: &[f64], labels: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut order = riskiest_first(probabilities);
    order.reverse();
    let n = order.len();
    (0..bins)
        .map(|b| {
            let rows = &order[b * n / bins..(b + 1) * n / bins];
            let count = rows.len().max(1) as f64;
            CalibrationBin {
                rows: rows.len() as u64,
                mean_predicted: rows.iter().map(|&r| probabilities[r]).sum::<f64>() / count,
                observed: rows.iter().filter(|&&r| labels[r]).count() as f64 / count,
            }
        })
        .collect()
}

/// Lift and capture rate when targeting the top `shares` of customers by predicted risk.
pub fn lift(probabilities: &[f64], labels: &[bool], shares: &[f64]) -> Vec<LiftPoint> {
    let order = riskiest_first(probabilities);
    let churners = labels.iter().filter(|&&y| y).count() as f64;
    let base_rate = churners / labels.len() as f64;
    shares
        .iter()
        .map(|&share| {
            let top = ((labels.len() as f64 * share).round() as usize).max(1);
            let caught = order[..top].iter().filter(|&&r| labels[r]).count() as f64;
            LiftPoint {
                top_share: share,
                lift: (caught / top as f64) / base_rate,
                capture_rate: caught / churners,
            }
        })
        .collect()
}

/// The 10%, 20%, …, 90% quantiles (nearest rank) of `values`.
pub fn decile_edges(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    let n = v.len();
    // Selection instead of a full sort: each step partitions only what lies above the last edge.
    let mut from = 0;
    (1..10)
        .map(|d| {
            let k = ((n * d) / 10).min(n - 1);
            let (_, edge, _) = v[from..].select_nth_unstable_by(k - from, f64::total_cmp);
            let edge = *edge;
            from = k;
            edge
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_correctly_ordered_pairs_and_half_ties() {
        // Pairs (pos, neg): (0.8,0.1) ok, (0.8,0.4) ok, (0.35,0.1) ok, (0.35,0.4) wrong → 3/4.
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert!(roc_auc(&[0.5], &[true]).is_nan());
    }

    #[test]
    fn log_loss_and_brier_match_hand_values() {
        let p = [0.9, 0.2];
        let y = [true, false];
        let ll = (-(0.9f64.ln()) - 0.8f64.ln()) / 2.0;
        assert!((log_loss(&p, &y) - ll).abs() < 1e-12);
        assert!((brier(&p, &y) - (0.01 + 0.04) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn calibration_bins_hold_equal_counts_and_their_rates() {
        let p = [0.1, 0.2, 0.8, 0.9];
        let y = [false, false, true, false];
        let bins = calibration(&p, &y, 2);
        assert_eq!(bins[0].rows, 2);
        assert!((bins[0].mean_predicted - 0.15).abs() < 1e-12);
        assert_eq!(bins[0].observed, 0.0);
        assert_eq!(bins[1].observed, 0.5);
    }

    #[test]
    fn lift_and_capture_at_the_top_share() {
        // 10 customers, 2 churners, both in the riskiest 2: lift 5, capture 100%.
        let p: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
        let y: Vec<bool> = (0..10).map(|i| i >= 8).collect();
        let l = lift(&p, &y, &[0.2, 0.5]);
        assert_eq!((l[0].lift, l[0].capture_rate), (5.0, 1.0));
        assert_eq!((l[1].lift, l[1].capture_rate), (2.0, 1.0));
    }

    #[test]
    fn decile_edges_of_one_to_hundred() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(
            decile_edges(&v),
            vec![11.0, 21.0, 31.0, 41.0, 51.0, 61.0, 71.0, 81.0, 91.0]
        );
    }
}
