//! `bankscore outcomes`: what a campaign did, measured against its control group, and the
//! campaign's rows as history for the next uplift model.
//!
//! The steps: `read_decisions` (the plan file) → `read_outcomes` (who churned) → `join`
//! (per action and for the whole campaign: targeted against the control customers who would have
//! been offered the same action) → `read_customers` (with `--history`) → render the report, the
//! HTML page and the history → write them all, or nothing (`batch::staged`).
//!
//! Real-time decisions take the same path from another input ([`run_audit`]): the audit log's
//! decision records (`realtime`) and the outcomes reported as they happened (`observed`), joined
//! by the customer's keyed hash; the history's customer columns come from the recorded inputs.
//!
//! Files: `error` (what can go wrong), `read` (the plan and the outcomes), `realtime` (decisions
//! from the audit log), `observed` (outcomes for them), `history` (the customers file and the
//! history written from it), `stats` (the arithmetic), `report` (Markdown and the terminal
//! table) and `html` (the HTML page with its chart).

mod error;
mod history;
mod html;
mod observed;
mod read;
mod realtime;
mod report;
mod stats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use history::{read_customers, write_history, Customers};
use read::{read_decisions, read_outcomes};

pub use error::OutcomesError;
pub use realtime::AuditCoverage;
pub use stats::{reduction, Estimate, Lift, Tally, MIN_CHURNERS, MIN_CUSTOMERS, Z_95};

use super::staged::Staged;
use crate::audit::HashKey;

/// What the plan decided for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Offered `action`.
    Target,
    /// Held out; `action` is what they would have been offered.
    Control,
    /// Neither.
    None,
}

/// One row of the plan file.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// The customer.
    pub customer_id: String,
    /// Line in the plan file.
    pub line: u64,
    /// The decision.
    pub decision: Decision,
    /// Offered (target) or would-be (control) action; empty when none.
    pub action: String,
    /// Cost of the offered action (0 unless targeted).
    pub cost: f64,
    /// Lifetime value if the customer stays.
    pub value_at_risk: f64,
    /// Probability with which the plan chose this decision.
    pub propensity: f64,
}

/// The inputs and outputs of one run.
#[derive(Debug, Clone, Default)]
pub struct OutcomesFiles {
    /// The plan file (`bankscore plan --out`).
    pub decisions: PathBuf,
    /// `customer_id,churned`.
    pub outcomes: PathBuf,
    /// The customers file the campaign was scored from (needed for `history`).
    pub customers: Option<PathBuf>,
    /// The campaign's name in the report; the plan file's name when absent.
    pub campaign: Option<String>,
    /// Markdown report to write.
    pub report: PathBuf,
    /// HTML report to write.
    pub html: Option<PathBuf>,
    /// Campaign history to write.
    pub history: Option<PathBuf>,
}

/// The inputs and outputs of one run over real-time decisions.
#[derive(Debug, Clone, Default)]
pub struct AuditOutcomesFiles {
    /// Audit log files (`audit.path` and its rotated files), read in this order.
    pub audit: Vec<PathBuf>,
    /// The outcomes log `ReportOutcomes` writes, or a CSV `customer_id,churned`.
    pub observed: PathBuf,
    /// Where the recorded model versions are (`<name>/<version>/`), for the actions' costs.
    pub models_dir: PathBuf,
    /// The audit log's hash key, needed only when `observed` is a CSV of clear ids.
    pub hash_key: Option<HashKey>,
    /// The name in the report; the first audit file's name when absent.
    pub campaign: Option<String>,
    /// Measure only the outcomes reported for this `campaign_id` (and those reported without
    /// one); the outcomes log's other campaigns are left out and counted.
    pub campaign_id: Option<String>,
    /// Markdown report to write.
    pub report: PathBuf,
    /// HTML report to write.
    pub html: Option<PathBuf>,
    /// History to write, its customer columns from the recorded inputs.
    pub history: Option<PathBuf>,
}

/// Everything measured: the decisions, how many found an outcome, and the lift per action and
/// for the campaign.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Measured {
    /// The campaign's name.
    pub campaign: String,
    /// The plan file's name, or the first audit file's (for the report).
    pub decisions_file: String,
    /// With decisions from the audit log: what was read and left out.
    pub audit: Option<AuditCoverage>,
    /// Rows per decision: target, control, none.
    pub decisions: [u64; 3],
    /// Rows without an outcome per decision: target, control, none.
    pub no_outcome: [u64; 3],
    /// Outcomes for customers not in the plan.
    pub unmatched_outcomes: u64,
    /// Control customers (with an outcome) who had no positive action, so no would-be action:
    /// they are left out of every comparison.
    pub control_without_action: u64,
    /// Per action, by action id.
    pub per_action: Vec<Lift>,
    /// The campaign: every targeted customer against every control customer with a would-be
    /// action.
    pub campaign_lift: Lift,
}

/// What a run wrote besides the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutcomesRun {
    /// The figures.
    pub measured: Measured,
    /// Rows written to the history file, when asked for.
    pub history_rows: Option<u64>,
}

/// Joins a plan with observed outcomes and writes the report (and the HTML page and the
/// campaign history when asked), all or nothing.
///
/// # Errors
/// See [`OutcomesError`]: each names the file, and the column and line where there is one.
pub fn run(files: &OutcomesFiles) -> Result<OutcomesRun, OutcomesError> {
    if files.history.is_some() && files.customers.is_none() {
        return Err(OutcomesError::HistoryNeedsCustomers);
    }
    let decisions = read_decisions(&files.decisions)?;
    let outcomes = read_outcomes(&files.outcomes)?;
    let (measured, joined) = join(
        &files.decisions,
        files.campaign.as_deref(),
        &decisions,
        outcomes,
    );
    let history = match (&files.history, &files.customers) {
        (Some(path), Some(customers)) => Some((
            path.as_path(),
            read_customers(customers, &files.decisions, &decisions, &joined)?,
        )),
        _ => None,
    };
    let outputs = Outputs {
        report: &files.report,
        html: files.html.as_deref(),
        history,
    };
    write_outputs(measured, outputs, &decisions, &joined)
}

/// Joins the audit log's decision records with the outcomes observed since and writes the
/// report (and the HTML page and the history when asked), all or nothing. See `realtime` for
/// which records count and how each is assigned to target, control or none.
///
/// # Errors
/// See [`OutcomesError`]: each names the file, and the field and line where there is one.
pub fn run_audit(files: &AuditOutcomesFiles) -> Result<OutcomesRun, OutcomesError> {
    let first = files.audit.first().cloned().unwrap_or_default();
    let (observed, other_campaign_outcomes) = observed::read_observed(
        &files.observed,
        files.hash_key.as_ref(),
        files.campaign_id.as_deref(),
    )?;
    let d =
        realtime::read_audit_decisions(&files.audit, &files.models_dir, files.history.is_some())?;
    let (mut measured, joined) = join(&first, files.campaign.as_deref(), &d.rows, observed);
    measured.audit = Some(AuditCoverage {
        other_campaign_outcomes,
        ..d.coverage
    });
    let history = match &files.history {
        Some(path) => Some((
            path.as_path(),
            realtime::customers_of(&files.audit, &d, &joined)?,
        )),
        None => None,
    };
    let outputs = Outputs {
        report: &files.report,
        html: files.html.as_deref(),
        history,
    };
    write_outputs(measured, outputs, &d.rows, &joined)
}

/// Where a run writes, and the history's customer columns.
struct Outputs<'a> {
    report: &'a Path,
    html: Option<&'a Path>,
    history: Option<(&'a Path, Customers)>,
}

/// Renders and writes the report, HTML page and history, all or nothing.
fn write_outputs(
    measured: Measured,
    files: Outputs<'_>,
    decisions: &[DecisionRow],
    joined: &[Option<bool>],
) -> Result<OutcomesRun, OutcomesError> {
    let mut staged = Staged::new();
    let io = |(path, source): (PathBuf, std::io::Error)| {
        OutcomesError::from(crate::batch::FileError::io("writing", &path)(source))
    };
    let markdown = report::markdown(&measured);
    staged
        .write(files.report, |w| w.write_all(markdown.as_bytes()))
        .map_err(io)?;
    if let Some(html) = files.html {
        let page = html::page(&measured);
        staged
            .write(html, |w| w.write_all(page.as_bytes()))
            .map_err(io)?;
    }
    let mut history_rows = None;
    if let Some((path, customers)) = &files.history {
        staged
            .write(path, |w| write_history(w, customers, decisions, joined))
            .map_err(io)?;
        history_rows = Some(
            decisions
                .iter()
                .zip(joined)
                .filter(|(d, c)| d.decision != Decision::None && c.is_some())
                .count() as u64,
        );
    }
    staged.commit().map_err(io)?;
    Ok(OutcomesRun {
        measured,
        history_rows,
    })
}

/// Tallies each decision against its outcome (both keyed by `customer_id`). Returns the figures
/// and, per decision row, its outcome (`None`: no outcome yet).
fn join(
    decisions_file: &Path,
    campaign: Option<&str>,
    decisions: &[DecisionRow],
    mut outcomes: HashMap<String, (bool, u64)>,
) -> (Measured, Vec<Option<bool>>) {
    let file_name = |p: &Path| {
        p.file_name()
            .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
    };
    let mut per_action: std::collections::BTreeMap<&str, Lift> = Default::default();
    let mut campaign_lift = Lift::new(None);
    let (mut counts, mut no_outcome, mut control_without_action) = ([0u64; 3], [0u64; 3], 0);
    let mut joined = Vec::with_capacity(decisions.len());
    for row in decisions {
        let churned = outcomes.remove(&row.customer_id).map(|(c, _)| c);
        joined.push(churned);
        let kind = row.decision as usize;
        counts[kind] += 1;
        if churned.is_none() {
            no_outcome[kind] += 1;
        }
        if row.decision == Decision::None {
            continue;
        }
        if row.action.is_empty() {
            control_without_action += u64::from(churned.is_some());
            continue;
        }
        let lift = per_action
            .entry(&row.action)
            .or_insert_with(|| Lift::new(Some(row.action.clone())));
        for lift in [lift, &mut campaign_lift] {
            match (row.decision, churned) {
                (Decision::Target, Some(c)) => {
                    lift.targeted.add(c);
                    lift.targeted_value_at_risk += row.value_at_risk;
                    lift.cost += row.cost;
                }
                (Decision::Target, None) => lift.targeted_no_outcome += 1,
                (_, Some(c)) => lift.control.add(c),
                (_, None) => lift.control_no_outcome += 1,
            }
        }
    }
    let measured = Measured {
        campaign: campaign.map_or_else(|| file_name(decisions_file), str::to_owned),
        decisions_file: file_name(decisions_file),
        audit: None,
        decisions: counts,
        no_outcome,
        unmatched_outcomes: outcomes.len() as u64,
        control_without_action,
        per_action: per_action.into_values().collect(),
        campaign_lift,
    };
    (measured, joined)
}
