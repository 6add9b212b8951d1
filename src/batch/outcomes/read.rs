//! Reading the plan file and the observed outcomes, checked row by row.

use std::collections::HashMap;
use std::path::Path;

use super::{Decision, DecisionRow, OutcomesError};
use crate::batch::FileError;

pub(super) fn csv_error(path: &Path, source: csv::Error) -> OutcomesError {
    FileError::csv(path)(source).into()
}

/// A CSV file with its header and the positions of the columns asked for.
pub(super) fn open(
    path: &Path,
    columns: &[&'static str],
) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord, Vec<usize>), OutcomesError> {
    let file = std::fs::File::open(path).map_err(FileError::io("reading", path))?;
    let mut reader = csv::Reader::from_reader(file);
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let positions = columns
        .iter()
        .map(|&column| {
            headers
                .iter()
                .position(|h| h.trim() == column)
                .ok_or(OutcomesError::MissingColumn {
                    path: path.into(),
                    column,
                })
        })
        .collect::<Result<_, _>>()?;
    Ok((reader, headers, positions))
}

/// Reads the plan file; every customer once, a known decision, numbers that parse, and at
/// least one control row.
pub(super) fn read_decisions(path: &Path) -> Result<Vec<DecisionRow>, OutcomesError> {
    let columns = [
        "customer_id",
        "decision",
        "action",
        "cost",
        "value_at_risk",
        "propensity",
    ];
    let (mut reader, _, at) = open(path, &columns)?;
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(at[i]).unwrap_or("").trim();
        let customer_id = field(0).to_owned();
        if let Some(&first_line) = seen.get(&customer_id) {
            return Err(OutcomesError::DuplicateCustomer {
                path: path.into(),
                line,
                first_line,
                customer_id,
            });
        }
        seen.insert(customer_id.clone(), line);
        let decision = match field(1) {
            "target" => Decision::Target,
            "control" => Decision::Control,
            "none" => Decision::None,
            other => {
                return Err(OutcomesError::UnknownDecision {
                    path: path.into(),
                    line,
                    value: other.into(),
                })
            }
        };
        let action = field(2).to_owned();
        if decision == Decision::Target && action.is_empty() {
            return Err(OutcomesError::MissingAction {
                path: path.into(),
                line,
            });
        }
        let number = |i: usize| {
            field(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| OutcomesError::BadNumber {
                    path: path.into(),
                    line,
                    column: columns[i],
                    value: field(i).into(),
                })
        };
        rows.push(DecisionRow {
            customer_id,
            line,
            decision,
            action,
            cost: number(3)?,
            value_at_risk: number(4)?,
            propensity: number(5)?,
        });
    }
    if !rows.iter().any(|r| r.decision == Decision::Control) {
        return Err(OutcomesError::NoControl { path: path.into() });
    }
    Ok(rows)
}

/// Reads `customer_id,churned`: each customer once, churned as 0/1/true/false.
pub(super) fn read_outcomes(path: &Path) -> Result<HashMap<String, (bool, u64)>, OutcomesError> {
    let (mut reader, _, at) = open(path, &["customer_id", "churned"])?;
    let mut outcomes: HashMap<String, (bool, u64)> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(at[0]).unwrap_or("").trim();
        let value = record.get(at[1]).unwrap_or("").trim();
        let churned = match value.to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => {
                return Err(OutcomesError::BadOutcome {
                    path: path.into(),
                    line,
                    value: value.into(),
                })
            }
        };
        if let Some(&(_, first_line)) = outcomes.get(id) {
            return Err(OutcomesError::DuplicateCustomer {
                path: path.into(),
                line,
                first_line,
                customer_id: id.into(),
            });
        }
        outcomes.insert(id.to_owned(), (churned, line));
    }
    Ok(outcomes)
}
