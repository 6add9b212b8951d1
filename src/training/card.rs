//! The model card written into every bundle: what a model validator reads.

use std::fmt::Write;

use crate::model_store::format::{Evaluation, ModelFile, ModelMetadata, PolicyFile};

/// Renders `MODEL_CARD.md`.
pub fn model_card(
    model: &ModelFile,
    policy: &PolicyFile,
    metadata: &ModelMetadata,
    evaluation: &Evaluation,
) -> String {
    let mut s = String::new();
    let m = &evaluation.metrics;
    let d = &metadata.data;
    let t = &metadata.training;
    let _ = writeln!(s, "# Model card: churn model\n");
    let _ = writeln!(
        s,
        "Trained {} by {}.\n",
        metadata.trained_at, metadata.trained_by
    );
    let _ = writeln!(s, "## Intended use\n");
    let _ = writeln!(
        s,
        "Estimates the probability that a retail-bank customer leaves (churns) within {} months. \
         bankscore uses it for the customer's potential value (CLV with retention 1 − p), the value \
         tier, and the expected value of retention actions. It ranks customers for retention; it is \
         not meant for credit, pricing or any decision about a customer's eligibility for products.\n",
        model.horizon_months
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| training file | `{}` (SHA-256 `{}`) |",
        d.source, d.sha256
    );
    let _ = writeln!(
        s,
        "| rows | {} ({} for fitting, {} for validation: {}) |",
        d.rows, t.train_rows, t.validation_rows, t.validation
    );
    let _ = writeln!(
        s,
        "| label | `{}`, churn rate {:.2}% |",
        d.label,
        d.churn_rate * 100.0
    );
    let _ = writeln!(s, "| method | standardization, logistic regression with L2 = {} (scikit-learn C = {}), class weight {}, seed {} |\n",
        t.l2, 1.0 / t.l2, t.class_weight, t.seed);
    let _ = writeln!(s, "## Metrics (validation)\n");
    let _ = writeln!(
        s,
        "| ROC AUC | log-loss | Brier |\n|---|---|---|\n| {:.4} | {:.4} | {:.4} |\n",
        m.roc_auc, m.log_loss, m.brier
    );
    let _ = writeln!(
        s,
        "| top share targeted | lift | capture rate |\n|---|---|---|"
    );
    for l in &evaluation.lift {
        let _ = writeln!(
            s,
            "| {:.0}% | {:.2} | {:.1}% |",
            l.top_share * 100.0,
            l.lift,
            l.capture_rate * 100.0
        );
    }
    let _ = writeln!(
        s,
        "\n## Calibration (validation deciles of predicted probability)\n"
    );
    let _ = writeln!(
        s,
        "| decile | rows | mean predicted | observed |\n|---|---|---|---|"
    );
    for (i, b) in evaluation.calibration.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} |",
            i + 1,
            b.rows,
            b.mean_predicted,
            b.observed
        );
    }
    let _ = writeln!(s, "\n## Features (by size of effect)\n");
    let _ = writeln!(s, "Coefficients are log-odds of churn per standard deviation (standardized) and per unit of the transformed value (raw).\n");
    let _ = writeln!(s, "| feature | transform | standardized | raw | odds ratio per SD | effect |\n|---|---|---|---|---|---|");
    for c in &evaluation.coefficients {
        let effect = if c.standardized >= 0.0 {
            "raises churn risk"
        } else {
            "lowers churn risk"
        };
        let _ = writeln!(
            s,
            "| `{}` | {:?} | {:+.4} | {:+.6} | {:.3} | {effect} |",
            c.feature, c.transform, c.standardized, c.raw, c.odds_ratio_per_sd
        );
    }
    let v = &policy.value;
    let tiers = &policy.tiers;
    let _ = writeln!(s, "\n## Value and tiers\n");
    let _ = writeln!(s, "CLV over {} years at a {:.1}% discount rate; {} per referral. Tier cut-offs on total value: \
        A ≥ {:.2}, B ≥ {:.2}, key account ≥ {:.2}; sleeping after {} days without own activity.\n",
        v.horizon_years, v.discount_rate * 100.0, v.value_per_referral, tiers.a_min_value, tiers.b_min_value,
        tiers.key_account_min_value, tiers.sleeping_after_days);
    let _ = writeln!(s, "## Limitations\n");
    let _ = writeln!(s, "- A linear model on the log-odds: interactions and thresholds in the data are not captured unless encoded as features.");
    let _ = writeln!(s, "- Probabilities are calibrated to the training population's churn rate{}; a change in that rate or in the customer mix (see the decile edges in `evaluation.json`) calls for recalibration or retraining.",
        if t.class_weight == "none" { "" } else { " (class weighting shifts them upward: use the ranking, or recalibrate)" });
    let _ = writeln!(s, "- Churn risk is not responsiveness: the model says who may leave, not who an action will keep; uplifts in the action catalog are assumptions to validate with the control group.");
    let _ = writeln!(s, "- Contributions explain the score relative to an average customer; they are associations, not causes.");
    s
}
