//! What stops `bankscore evaluate-policy`: each error names the file, and the column and row
//! where there is one (row 1 is the first row after the header, on line 2).

use std::path::PathBuf;

use crate::domain::FieldProblem;
use crate::model_store::BundleError;

/// Why a policy evaluation stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyEvalError {
    /// The candidate bundle does not load.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A file could not be opened, read or written, or is not CSV.
    #[error(transparent)]
    File(#[from] crate::batch::FileError),
    /// A required column is not in the header.
    #[error("{} line 1: no `{column}` column ({why})", path.display())]
    MissingColumn {
        /// The log.
        path: PathBuf,
        /// The column.
        column: String,
        /// What the column is for.
        why: &'static str,
    },
    /// An `action` that is neither `control` nor an action of the candidate's catalog.
    #[error("{} row {row} (line {line}), column `action`: `{value}` is not `control` nor an action of the candidate bundle's catalog ({known})", path.display())]
    UnknownAction {
        /// The log.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// Its line.
        line: u64,
        /// The value found.
        value: String,
        /// The catalog's action ids, comma-separated.
        known: String,
    },
    /// A propensity that is missing, not a number, or outside (0, 1].
    #[error("{} row {row} (line {line}), column `propensity`: `{value}` is not a probability in (0, 1] (the probability with which the logging policy chose this row's action)", path.display())]
    BadPropensity {
        /// The log.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// Its line.
        line: u64,
        /// The value found.
        value: String,
    },
    /// An outcome other than 0, 1, true or false.
    #[error("{} row {row} (line {line}), column `churned`: `{value}` is not 0, 1, true or false", path.display())]
    BadOutcome {
        /// The log.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// Its line.
        line: u64,
        /// The value found.
        value: String,
    },
    /// A customer column that is not a number.
    #[error("{} row {row} (line {line}), column `{column}`: `{value}` is not a number", path.display())]
    NotANumber {
        /// The log.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// Its line.
        line: u64,
        /// The column.
        column: String,
        /// The value found.
        value: String,
    },
    /// A customer value the scoring API would refuse.
    #[error("{} row {row} (line {line}), column `{column}`: {problem}", path.display())]
    BadField {
        /// The log.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// Its line.
        line: u64,
        /// The column.
        column: String,
        /// The rule the value breaks.
        problem: FieldProblem,
    },
    /// The log has a header and no rows.
    #[error("{}: no logged decisions after the header", path.display())]
    EmptyLog {
        /// The log.
        path: PathBuf,
    },
}
