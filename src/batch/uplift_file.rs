//! `bankscore uplift`: every customer's learned uplift per action, computed as the server
//! computes it, so that a bundle's uplift models can be checked against another implementation
//! (or the truth of a synthetic campaign) on the same customers.
//!
//! The output has one row per input row, in order: `customer_id`, `p_control` (the control
//! group model's churn probability), then for each action with a learned model, in catalog
//! order, `p.<action id>` (its churn probability with the action) and `tau.<action id>`
//! (`p_control − p.<action id>`, the churn reduction the action buys). Actions on their catalog
//! prior have no columns: their uplift is not a model of this customer.

use std::path::{Path, PathBuf};

use super::file_format::is_parquet;
use super::read::{ProfileColumns, RowProblem, RowSource, BLOCK_ROWS};
use super::staged::Staged;
use super::FileError;
use crate::domain::CustomerProfile;
use crate::model_store::{load_bundle, BundleError, LoadedModel};

/// What [`write_uplift`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpliftColumns {
    /// The file written.
    pub out: std::path::PathBuf,
    /// Rows written.
    pub rows: u64,
    /// The actions with a learned model, in the order of their columns.
    pub learned: Vec<String>,
}

impl std::fmt::Display for UpliftColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} customers' uplift for {} learned actions ({}) to {}",
            self.rows,
            self.learned.len(),
            self.learned.join(", "),
            self.out.display()
        )
    }
}

/// Why `bankscore uplift` stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum UpliftFileError {
    /// The bundle does not load.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The bundle has no `uplift/` models.
    #[error(
        "{} has no learned uplift (no uplift/ models): train them with `bankscore train-uplift \
         --bundle {} --history <campaign history> --out <new version>`",
        .0.display(),
        .0.display()
    )]
    NoLearnedUplift(PathBuf),
    /// The customers file cannot be read, or the output written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A row with a bad or missing value.
    #[error("{} {place} {position}, field {field}: {reason}; nothing was written", input.display())]
    BadRow {
        /// The customers file.
        input: PathBuf,
        /// `line` (CSV) or `row` (Parquet).
        place: &'static str,
        /// The line or row number.
        position: u64,
        /// The field, named as the API names it.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// Loads the bundle at `bundle_dir` as the server would, reads the customers of `input` (CSV or
/// Parquet, the columns of a training or scoring file), computes each one's learned uplift, and
/// writes `out` (CSV, the columns of the module documentation), whole or not at all.
///
/// # Errors
/// The bundle does not load or has no learned uplift; the input cannot be read; a row has a bad
/// or missing value (named by its line, or row for Parquet, and field: nothing is written);
/// `out` cannot be written.
pub fn write_uplift(
    bundle_dir: &Path,
    input: &Path,
    out: &Path,
) -> Result<UpliftColumns, UpliftFileError> {
    let bundle: LoadedModel = load_bundle(bundle_dir)?;
    let model = &bundle.scoring;
    let Some(uplift) = &model.uplift else {
        return Err(UpliftFileError::NoLearnedUplift(bundle_dir.to_owned()));
    };
    let actions = &model.actions.actions;
    let learned: Vec<usize> = (0..actions.len())
        .filter(|&i| uplift.arm(i).is_some())
        .collect();
    let mut source = RowSource::open(input)?;
    let place = if is_parquet(input) { "row" } else { "line" };
    let mut staged = Staged::new();
    let mut rows = 0u64;
    let mut failure: Option<UpliftFileError> = None;
    let written = staged.write(out, |w| {
        let mut w = csv::Writer::from_writer(w);
        let mut record = vec!["customer_id".to_owned(), "p_control".to_owned()];
        for &i in &learned {
            record.push(format!("p.{}", actions[i].id));
            record.push(format!("tau.{}", actions[i].id));
        }
        w.write_record(&record)?;
        let mut profiles = vec![CustomerProfile::blank(); BLOCK_ROWS];
        let mut problems: Vec<Option<RowProblem>> = vec![None; BLOCK_ROWS];
        let mut p_action = vec![None; actions.len()];
        loop {
            let batch = match source.next_batch() {
                Ok(Some(batch)) => batch,
                Ok(None) => return w.flush(),
                Err(e) => {
                    failure = Some(e.into());
                    return Ok(());
                }
            };
            let columns = ProfileColumns::new(&batch);
            for start in (0..batch.len()).step_by(BLOCK_ROWS) {
                let n = BLOCK_ROWS.min(batch.len() - start);
                columns.fill_block(start, &mut profiles[..n], &mut problems[..n]);
                for (k, (profile, problem)) in profiles[..n].iter().zip(&problems).enumerate() {
                    let i = start + k;
                    let bad = |field: &str, reason: &str| UpliftFileError::BadRow {
                        input: input.to_owned(),
                        place,
                        position: batch.position(i),
                        field: field.to_owned(),
                        reason: reason.to_owned(),
                    };
                    if let Some((field, reason)) = problem {
                        failure = Some(bad(field, reason));
                        return Ok(());
                    }
                    let p_control = match uplift.control().probability(profile) {
                        Ok(p) => p,
                        Err(e) => {
                            let field = format!("profile.extra_features[\"{}\"]", e.key);
                            failure = Some(bad(&field, "is missing"));
                            return Ok(());
                        }
                    };
                    p_action.fill(None);
                    for (a, _, p) in uplift.probabilities(&model.churn, profile) {
                        p_action[a] = Some(p);
                    }
                    record.clear();
                    record.push(columns.customer_id(i).to_owned());
                    record.push(p_control.to_string());
                    for &a in &learned {
                        // Every learned model reads the control model's features, which were
                        // all present above.
                        let p = p_action[a].expect("a learned model scores every customer");
                        record.push(p.to_string());
                        record.push((p_control - p).to_string());
                    }
                    w.write_record(&record)?;
                    rows += 1;
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let unwritten = |(path, e): (PathBuf, std::io::Error)| FileError::io("writing", &path)(e);
    written.map_err(unwritten)?;
    staged.commit().map_err(unwritten)?;
    Ok(UpliftColumns {
        out: out.to_owned(),
        rows,
        learned: learned.iter().map(|&i| actions[i].id.clone()).collect(),
    })
}
