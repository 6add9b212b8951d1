//! The model card written into every bundle: what a model validator reads.

use std::fmt::Write;

use crate::model_store::format::{Evaluation, ModelFile, ModelMetadata, PolicyFile, TopShareLift};

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
    let _ = writeln!(s, "CLV over {} years at a {:.1}% discount rate; {} per referral. Potential value (for tiers) \
        uses the customer's own retention 1 − p_churn; value at risk (for retention decisions) is the lifetime value \
        if the customer stays, at the retained-customer rate {:.4} a year. Tier cut-offs on total value: \
        A ≥ {:.2}, B ≥ {:.2}, key account ≥ {:.2}; sleeping after {} days without own activity.\n",
        v.horizon_years, v.discount_rate * 100.0, v.value_per_referral, v.retained_customer_rate,
        tiers.a_min_value, tiers.b_min_value, tiers.key_account_min_value, tiers.sleeping_after_days);
    let _ = writeln!(s, "## Limitations\n");
    let _ = writeln!(s, "- A linear model on the log-odds: interactions and thresholds in the data are not captured unless encoded as features.");
    let _ = writeln!(s, "- Probabilities are calibrated to the training population's churn rate{}; a change in that rate or in the customer mix (see the decile edges in `evaluation.json`) calls for recalibration or retraining.",
        if t.class_weight == "none" { "" } else { " (class weighting shifts them upward: use the ranking, or recalibrate)" });
    let _ = writeln!(s, "- Churn risk is not responsiveness: the model says who may leave, not who an action will keep; uplifts in the action catalog are assumptions to validate with the control group.");
    let _ = writeln!(s, "- Contributions explain the score relative to an average customer; they are associations, not causes.");
    s
}

/// The heading the uplift section of a model card starts with.
pub(super) const UPLIFT_HEADING: &str = "\n## Learned uplift\n";

/// Which rows the uplift evaluation below ran on.
fn evaluated_on(t: &crate::model_store::format::UpliftTraining) -> String {
    if t.validation == "split" {
        format!(
            "{:.0}% of each arm held out for the evaluation (seed {})",
            t.validation_share * 100.0,
            t.seed
        )
    } else {
        format!(
            "every arm fitted on all its rows and evaluated on the campaign history `{}`",
            t.validation
        )
    }
}

/// An evaluation's figure for the top `share` by predicted τ, or "–" when it was not computed.
fn top_share(
    e: &crate::model_store::format::UpliftEvaluation,
    share: f64,
    figure: impl Fn(&TopShareLift) -> String,
) -> String {
    e.top
        .iter()
        .find(|t| (t.top_share - share).abs() < 1e-9)
        .map_or_else(|| "–".to_owned(), figure)
}

/// The model card's section on learned uplift: what was learned from which history, and how each
/// action's uplift ranks customers on held-out rows.
pub(super) fn uplift_section(report: &crate::model_store::format::UpliftFile) -> String {
    use crate::model_store::format::UpliftKind;
    let mut s = String::from(UPLIFT_HEADING);
    let h = &report.history;
    let t = &report.training;
    let _ = writeln!(s, "\nA T-learner trained {} from `{}` ({} rows, sha256 `{}`): one churn model on the control \
        group ({} customers, {} churners) and one per action on its treated customers, each in `model.json`'s format \
        and features (`uplift/`). For customer x, τ_a(x) = p_control(x) − p_a(x): the churn reduction action a buys; \
        EV = τ × value at risk − cost, and an action with τ ≤ 0 is never recommended. L2 {}; each arm needs {} churners \
        and {} stayers; {}.\n",
        report.trained_at, h.source, h.rows, h.sha256, h.control_rows, h.control_churners,
        t.l2, t.min_churners, t.min_churners, evaluated_on(t));
    let _ = writeln!(s, "| action | uplift | treated | churners | Qini | AUUC | reduction top 10% | top 20% | top 30% | everyone |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    let learned = || {
        report
            .actions
            .iter()
            .filter_map(|a| match (&a.uplift, &a.evaluation) {
                (UpliftKind::Learned, Some(e)) => Some((a, e)),
                _ => None,
            })
    };
    for a in &report.actions {
        match (&a.uplift, &a.evaluation) {
            (UpliftKind::Learned, Some(e)) => {
                let top = |t: &TopShareLift| format!("{:+.4}", t.observed_reduction);
                let everyone = e.top.first().map_or(0.0, |t| t.observed_reduction_everyone);
                let _ = writeln!(
                    s,
                    "| `{}` | learned | {} | {} | {:.4} | {:.4} | {} | {} | {} | {:+.4} |",
                    a.action,
                    a.treated_rows,
                    a.treated_churners,
                    e.qini_coefficient,
                    e.auuc,
                    top_share(e, 0.1, top),
                    top_share(e, 0.2, top),
                    top_share(e, 0.3, top),
                    everyone
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "| `{}` | catalog prior ({}) | {} | {} | – | – | – | – | – | – |",
                    a.action,
                    a.reason.as_deref().unwrap_or("too little data"),
                    a.treated_rows,
                    a.treated_churners
                );
            }
        }
    }
    let _ = writeln!(s, "\nReductions are observed churn among held-out control customers minus among held-out treated \
        customers, for the share with the highest predicted τ.\n");
    let _ = writeln!(s, "Churners kept per 1,000 customers when the top share by predicted τ is targeted, against the \
        same share targeted at random:\n");
    let _ = writeln!(
        s,
        "| action | top 10% | random 10% | top 20% | random 20% | top 30% | random 30% |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for (a, e) in learned() {
        let saved = |t: &TopShareLift| format!("{:.1}", t.churners_saved_per_1000);
        let random = |t: &TopShareLift| format!("{:.1}", t.random_saved_per_1000);
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            a.action,
            top_share(e, 0.1, saved),
            top_share(e, 0.1, random),
            top_share(e, 0.2, saved),
            top_share(e, 0.2, random),
            top_share(e, 0.3, saved),
            top_share(e, 0.3, random)
        );
    }
    let _ = writeln!(s, "\nUplift by decile of predicted τ (1 = highest): observed control churn − treated churn in \
        each decile of the held-out rows (`uplift/evaluation.json` has the counts and rates):\n");
    let _ = writeln!(s, "| action | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (a, e) in learned() {
        let mut row = format!("| `{}` |", a.action);
        for d in &e.deciles {
            let _ = write!(row, " {:+.4} |", d.observed_uplift);
        }
        let _ = writeln!(s, "{row}");
    }
    s
}
