//! What `bankscore train` and `bankscore train-uplift` tell the model owner once the new bundle
//! is written and loads: the reports, rendered by `Display`.

use std::fmt;
use std::path::Path;

use super::TrainedBundle;
use crate::model_store::format::UpliftFile;

/// A trained and written bundle, as `bankscore train` reports it (`Display`, or JSON with serde:
/// the training summary, the evaluation, the tier cut-offs and the checksum).
#[derive(Debug, Clone, Copy)]
pub struct TrainReport<'a> {
    /// Where the bundle was written.
    pub out: &'a Path,
    /// Seconds the training took.
    pub seconds: f64,
    /// The bundle.
    pub bundle: &'a TrainedBundle,
    /// Golden examples of the bundle as loaded back.
    pub golden_examples: usize,
    /// Checksum of the bundle as loaded back.
    pub checksum: &'a str,
}

impl serde::Serialize for TrainReport<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            out: &'a Path,
            seconds: f64,
            fit_seconds: f64,
            training: &'a crate::model_store::format::TrainingSummary,
            data: &'a crate::model_store::format::DataSummary,
            ignored_columns: &'a [String],
            evaluation: &'a crate::model_store::format::Evaluation,
            tiers: &'a crate::domain::TierPolicy,
            golden_examples: usize,
            checksum: &'a str,
        }
        let b = self.bundle;
        Json {
            out: self.out,
            seconds: self.seconds,
            fit_seconds: b.fit_seconds,
            training: &b.metadata.training,
            data: &b.metadata.data,
            ignored_columns: &b.ignored_columns,
            evaluation: &b.evaluation,
            tiers: &b.policy.tiers,
            golden_examples: self.golden_examples,
            checksum: self.checksum,
        }
        .serialize(serializer)
    }
}

impl fmt::Display for TrainReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bundle;
        let (e, t) = (&b.evaluation, &b.metadata.training);
        let m = e.metrics;
        writeln!(
            f,
            "trained {} in {:.1} s (fit {:.2} s): {} training rows, {} validation rows ({}), churn rate {:.3}",
            self.out.display(),
            self.seconds,
            b.fit_seconds,
            t.train_rows,
            t.validation_rows,
            t.validation,
            b.metadata.data.churn_rate
        )?;
        for ignored in &b.ignored_columns {
            writeln!(f, "left out (not numeric): {ignored}")?;
        }
        writeln!(
            f,
            "validation: ROC AUC {:.4}, log-loss {:.4}, Brier {:.4}",
            m.roc_auc, m.log_loss, m.brier
        )?;
        for l in &e.lift {
            writeln!(
                f,
                "  top {:.0}%: lift {:.2}, capture {:.1}%",
                l.top_share * 100.0,
                l.lift,
                l.capture_rate * 100.0
            )?;
        }
        writeln!(f, "calibration (decile: mean predicted → observed):")?;
        for (i, c) in e.calibration.iter().enumerate() {
            writeln!(
                f,
                "  {:>2}: {:.4} → {:.4}",
                i + 1,
                c.mean_predicted,
                c.observed
            )?;
        }
        writeln!(f, "coefficients, log-odds of churn (by size of effect):")?;
        writeln!(
            f,
            "  {:<28} {:<9} {:>12} {:>12}",
            "feature", "transform", "standardized", "raw"
        )?;
        for c in &e.coefficients {
            writeln!(
                f,
                "  {:<28} {:<9} {:>+12.4} {:>+12.6}",
                c.feature,
                format!("{:?}", c.transform),
                c.standardized,
                c.raw
            )?;
        }
        writeln!(
            f,
            "  (standardized: per standard deviation of the transformed value; raw: per unit of it)"
        )?;
        let tiers = b.policy.tiers;
        writeln!(
            f,
            "tier cut-offs: A >= {:.2}, B >= {:.2}, key account >= {:.2}, sleeping after {} days",
            tiers.a_min_value,
            tiers.b_min_value,
            tiers.key_account_min_value,
            tiers.sleeping_after_days
        )?;
        writeln!(
            f,
            "{} golden examples; model card {}; checksum {}",
            self.golden_examples,
            self.out.join("MODEL_CARD.md").display(),
            self.checksum
        )
    }
}

/// A bundle with learned uplift, as `bankscore train-uplift` reports it (`Display`, or JSON with
/// serde: the whole `uplift/evaluation.json`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct UpliftReport<'a> {
    /// Where the new bundle was written.
    pub out: &'a Path,
    /// Its `uplift/evaluation.json`.
    pub file: &'a UpliftFile,
}

impl fmt::Display for UpliftReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.file;
        let evaluated_on = match r.training.validation.as_str() {
            "split" => "held-out rows",
            file => file,
        };
        writeln!(
            f,
            "wrote {} with learned uplift ({} history rows, {} in the control group; evaluated on {}):",
            self.out.display(),
            r.history.rows,
            r.history.control_rows,
            evaluated_on
        )?;
        for a in &r.actions {
            match &a.evaluation {
                Some(e) => writeln!(
                    f,
                    "  {:<22} learned  treated {:>7}  Qini {:+.4}  AUUC {:+.4}",
                    a.action, a.treated_rows, e.qini_coefficient, e.auuc
                )?,
                None => writeln!(
                    f,
                    "  {:<22} prior    treated {:>7}  ({})",
                    a.action,
                    a.treated_rows,
                    a.reason.as_deref().unwrap_or("too little data")
                )?,
            }
        }
        writeln!(
            f,
            "check it with `bankscore validate {}`",
            self.out.display()
        )
    }
}
