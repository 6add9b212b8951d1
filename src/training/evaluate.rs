//! Validation metrics of a churn model: ROC AUC, log-loss and Brier score.

use crate::model_store::format::Metrics;

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
}
