//! What stops `bankscore outcomes`: each error names the file, and the column and line where
//! there is one.

use std::path::PathBuf;

/// Why `bankscore outcomes` stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum OutcomesError {
    /// A file could not be opened, read or written, or is not CSV.
    #[error(transparent)]
    File(#[from] crate::batch::FileError),
    /// A required column is not in the header.
    #[error("{} line 1: no `{column}` column", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// The same customer twice in one file.
    #[error("{} line {line}, column customer_id: customer `{customer_id}` appears twice (first on line {first_line})", path.display())]
    DuplicateCustomer {
        /// The file.
        path: PathBuf,
        /// Line of the second appearance.
        line: u64,
        /// Line of the first.
        first_line: u64,
        /// The customer.
        customer_id: String,
    },
    /// An outcome that is not 0, 1, true or false.
    #[error("{} line {line}, column churned: `{value}` is not 0, 1, true or false", path.display())]
    BadOutcome {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The value found.
        value: String,
    },
    /// A decision other than target, control or none.
    #[error("{} line {line}, column decision: `{value}` is not target, control or none", path.display())]
    UnknownDecision {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The value found.
        value: String,
    },
    /// A number that does not parse or is not finite.
    #[error("{} line {line}, column {column}: `{value}` is not a finite number", path.display())]
    BadNumber {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// A `target` row without its action.
    #[error("{} line {line}, column action: a target row must name its action", path.display())]
    MissingAction {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
    },
    /// `--history` was asked for without `--customers`.
    #[error("--history needs --customers: the customers file the campaign was scored from, whose columns the history carries")]
    HistoryNeedsCustomers,
    /// A customer of the decisions is not in the customers file.
    #[error("{} line {line}, column customer_id: customer `{customer_id}` is not in {}", decisions.display(), customers.display())]
    MissingCustomer {
        /// The decisions file.
        decisions: PathBuf,
        /// Its line.
        line: u64,
        /// The customers file.
        customers: PathBuf,
        /// The customer.
        customer_id: String,
    },
    /// A JSON line (an audit record, or an outcome of the outcomes log) that cannot be used.
    #[error("{} line {line}, field {field}: {message}", path.display())]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The field at fault (`record` for the line as a whole).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Customer ids in clear but no key to hash them into the audit log's customer hashes.
    #[error("{}: a CSV of customer ids joins with the audit log only under its hash key: set BANKSCORE_AUDIT_HASH_KEY (or give the outcomes log ReportOutcomes writes, already hashed)", path.display())]
    NoHashKey {
        /// The observed outcomes file.
        path: PathBuf,
    },
    /// No real-time decision was in the bundle's control group.
    #[error("{}: no decision record withholds an action (`outputs.decision.withheld`), so lift cannot be measured (give the bundle's policy.toml a [control_group] share and salt)", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoRealTimeControl {
        /// The audit files.
        files: Vec<PathBuf>,
    },
    /// The plan has no control group, so there is nothing to measure against.
    #[error("{}, column decision: no `control` rows, so the campaign's lift cannot be measured (plan it with --campaign-id and --control-share)", path.display())]
    NoControl {
        /// The decisions file.
        path: PathBuf,
    },
}
