//! The real-time input of `bankscore outcomes --audit`: the audit log's decision records turned
//! into the same decision rows a plan gives, keyed by the customer's hash.
//!
//! The rules, in order:
//! - only records of RPCs that decide (Score, RecommendRetentionAction, ScoreStream) count;
//!   others (PredictChurn, ClassifyValueTier) are counted and left out;
//! - per customer, the **last** decision record in the files (in the order given, each from its
//!   first line to its last) is the one measured; earlier ones are counted as superseded;
//! - `control` when the bundle's control group withheld an action (`outputs.decision.withheld`,
//!   which is then the would-be action), `target` when the action is not `no_action`, otherwise
//!   `none`;
//! - a targeted action costs what the catalog of the recorded model version says (the bundle is
//!   looked up in the models directory, its checksum checked, as `bankscore replay` does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::history::Customers;
use super::{Decision, DecisionRow, OutcomesError};
use crate::audit::outputs::Chosen;
use crate::audit::replay::ModelCache;
use crate::audit::AuditEntry;
use crate::domain::profile::BuiltinFeature;

/// What was read besides the measured decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditCoverage {
    /// Audit files read.
    pub files: u64,
    /// Records read (non-empty lines).
    pub records: u64,
    /// Records of RPCs that make no decision (PredictChurn, ClassifyValueTier).
    pub without_decision: u64,
    /// Decision records followed by a later one for the same customer.
    pub superseded: u64,
    /// Outcomes the outcomes log holds for other campaigns than the one measured.
    pub other_campaign_outcomes: u64,
}

/// The decisions of the audit files: one row per customer (its hash as `customer_id`), the file
/// each came from, and the scored inputs when a history is to be written.
pub(super) struct AuditDecisions {
    pub rows: Vec<DecisionRow>,
    pub file_of: Vec<usize>,
    pub entries: Vec<AuditEntry>,
    pub coverage: AuditCoverage,
}

/// What a recorded decision was: target, control or none, and the offered or would-be action
/// (empty for none).
pub(super) fn assign(chosen: &Chosen) -> (Decision, &str) {
    match (&chosen.withheld, chosen.action.as_str()) {
        (Some(withheld), _) => (Decision::Control, withheld),
        (None, crate::domain::actions::NO_ACTION) => (Decision::None, ""),
        (None, action) => (Decision::Target, action),
    }
}

fn bad(
    path: &Path,
    line: u64,
    field: impl Into<String>,
    message: impl Into<String>,
) -> OutcomesError {
    OutcomesError::BadRecord {
        path: path.into(),
        line,
        field: field.into(),
        message: message.into(),
    }
}

/// One JSON line as `T`, an error naming the field when it does not parse.
pub(super) fn parse_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    line: u64,
    text: &str,
) -> Result<T, OutcomesError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "record".into() } else { field };
        bad(path, line, field, e.inner().to_string())
    })
}

/// Reads the decision records of `files`, the last per customer; see the module's rules.
/// `keep_inputs`: keep each record's scored inputs and require its propensity (for a history).
///
/// # Errors
/// A file cannot be read, a line is not an audit record, a decision lacks its value at risk
/// (or its propensity, with `keep_inputs`), a targeted action's bundle cannot be loaded or has
/// no such action, or no decision is in a control group.
pub(super) fn read_audit_decisions(
    files: &[PathBuf],
    models_dir: &Path,
    keep_inputs: bool,
) -> Result<AuditDecisions, OutcomesError> {
    let mut coverage = AuditCoverage {
        files: files.len() as u64,
        ..AuditCoverage::default()
    };
    // The last record per customer, by position of its first appearance so that the rows
    // follow the log; a later record replaces an earlier one in place.
    let mut last: Vec<(usize, u64, AuditEntry)> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for (f, path) in files.iter().enumerate() {
        let io = |source| OutcomesError::from(crate::batch::FileError::io("reading", path)(source));
        let text = std::fs::read_to_string(path).map_err(io)?;
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line = i as u64 + 1;
            coverage.records += 1;
            let mut entry: AuditEntry = parse_line(path, line, raw)?;
            if !entry.rpc.decides() {
                coverage.without_decision += 1;
                continue;
            }
            if entry.outputs.decision.is_none() {
                return Err(bad(
                    path,
                    line,
                    "outputs.decision",
                    format!("a {:?} record must hold its decision", entry.rpc),
                ));
            }
            if !keep_inputs {
                entry.inputs.clear();
            }
            match position.get(&entry.customer) {
                Some(&at) => {
                    coverage.superseded += 1;
                    last[at] = (f, line, entry);
                }
                None => {
                    position.insert(entry.customer.clone(), last.len());
                    last.push((f, line, entry));
                }
            }
        }
    }

    let mut models = ModelCache::new(models_dir);
    let mut rows = Vec::with_capacity(last.len());
    let mut file_of = Vec::with_capacity(last.len());
    let mut entries = Vec::with_capacity(last.len());
    for (f, line, entry) in last {
        let path = &files[f];
        let chosen = entry.outputs.decision.as_ref().expect("checked above");
        let (decision, action) = assign(chosen);
        let value_at_risk = entry
            .outputs
            .value
            .map(|v| v.value_at_risk)
            .ok_or_else(|| bad(path, line, "outputs.value.value_at_risk", "is missing"))?;
        let propensity = match chosen.propensity {
            Some(p) => p,
            None if keep_inputs && decision != Decision::None => {
                return Err(bad(
                    path,
                    line,
                    "outputs.decision.propensity",
                    "is missing (a record from before propensities were recorded), and a \
                     history needs it",
                ))
            }
            None => 1.0,
        };
        let cost = if decision == Decision::Target {
            let model = models
                .get(&entry)
                .map_err(|reason| bad(path, line, "model", reason))?;
            let priced = model
                .scoring
                .actions
                .actions
                .iter()
                .find(|a| a.id == action);
            priced.map(|a| a.cost).ok_or_else(|| {
                bad(
                    path,
                    line,
                    "outputs.decision.action",
                    format!(
                        "`{action}` is not in the catalog of {} version {}",
                        entry.model.name, entry.model.version
                    ),
                )
            })?
        } else {
            0.0
        };
        rows.push(DecisionRow {
            customer_id: entry.customer.clone(),
            line,
            decision,
            action: action.to_owned(),
            cost,
            value_at_risk,
            propensity,
        });
        file_of.push(f);
        entries.push(entry);
    }
    if !rows.iter().any(|r| r.decision == Decision::Control) {
        return Err(OutcomesError::NoRealTimeControl {
            files: files.to_vec(),
        });
    }
    Ok(AuditDecisions {
        rows,
        file_of,
        entries,
        coverage,
    })
}

/// The history's customer columns from the recorded inputs: `customer_id` (the hash), every
/// typed feature as training files write it (flags 0/1), then every extra feature seen (empty
/// where a record lacks it), for each targeted or control customer with an outcome.
///
/// # Errors
/// A record's inputs are not a complete profile.
pub(super) fn customers_of(
    files: &[PathBuf],
    d: &AuditDecisions,
    joined: &[Option<bool>],
) -> Result<Customers, OutcomesError> {
    let wanted = |i: usize| d.rows[i].decision != Decision::None && joined[i].is_some();
    let mut profiles = Vec::new();
    let mut extra: std::collections::BTreeSet<String> = Default::default();
    for i in (0..d.rows.len()).filter(|&i| wanted(i)) {
        let p = d.entries[i].profile().map_err(|e| {
            bad(
                &files[d.file_of[i]],
                d.rows[i].line,
                "inputs",
                e.to_string(),
            )
        })?;
        extra.extend(p.extra_features.keys().cloned());
        profiles.push(p);
    }
    let mut header = vec!["customer_id".to_owned()];
    header.extend(BuiltinFeature::ALL.iter().map(|f| f.name().to_owned()));
    header.extend(extra.iter().cloned());
    let rows = profiles
        .into_iter()
        .map(|p| {
            let mut record = csv::StringRecord::new();
            record.push_field(&p.customer_id);
            for f in BuiltinFeature::ALL {
                record.push_field(&f.value(&p).to_string());
            }
            for name in &extra {
                record.push_field(
                    &p.extra_features
                        .get(name)
                        .map_or_else(String::new, f64::to_string),
                );
            }
            (p.customer_id, record)
        })
        .collect();
    Ok(Customers::from_rows(header, rows))
}

#[cfg(test)]
mod tests;
