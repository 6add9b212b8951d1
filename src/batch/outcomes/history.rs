//! Campaign history for the next uplift model: the customer's own columns from the customers
//! file the campaign was scored from, then `action`, `propensity` and `churned`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::read::{csv_error, open};
use super::{Decision, DecisionRow, OutcomesError};

/// The customers file's columns kept in the history (its own `churned`, `action` and
/// `propensity`, if any, give way to the campaign's), and the rows of the customers the history
/// needs, by customer id.
pub(super) struct Customers {
    header: Vec<String>,
    keep: Vec<usize>,
    rows: HashMap<String, csv::StringRecord>,
}

impl Customers {
    /// Customer columns built elsewhere (from audit records): `header`, and each customer's
    /// values in its order, by customer id.
    pub(super) fn from_rows(header: Vec<String>, rows: HashMap<String, csv::StringRecord>) -> Self {
        Self {
            keep: (0..header.len()).collect(),
            header,
            rows,
        }
    }
}

/// Columns the history adds after the customer's own.
const HISTORY_COLUMNS: [&str; 3] = ["action", "propensity", "churned"];

/// Reads the rows of `customers` for every targeted or control customer with an outcome.
pub(super) fn read_customers(
    customers: &Path,
    decisions_path: &Path,
    decisions: &[DecisionRow],
    joined: &[Option<bool>],
) -> Result<Customers, OutcomesError> {
    let (mut reader, headers, at) = open(customers, &["customer_id"])?;
    let mut wanted: HashMap<&str, Option<u64>> = decisions
        .iter()
        .zip(joined)
        .filter(|(d, c)| d.decision != Decision::None && c.is_some())
        .map(|(d, _)| (d.customer_id.as_str(), None))
        .collect();
    let mut rows = HashMap::with_capacity(wanted.len());
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(customers, e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(at[0]).unwrap_or("").trim();
        if let Some(first) = wanted.get_mut(id) {
            if let Some(first_line) = *first {
                return Err(OutcomesError::DuplicateCustomer {
                    path: customers.into(),
                    line,
                    first_line,
                    customer_id: id.into(),
                });
            }
            *first = Some(line);
            rows.insert(id.to_owned(), record.clone());
        }
    }
    for (d, c) in decisions.iter().zip(joined) {
        if d.decision != Decision::None && c.is_some() && !rows.contains_key(&d.customer_id) {
            return Err(OutcomesError::MissingCustomer {
                decisions: decisions_path.into(),
                line: d.line,
                customers: customers.into(),
                customer_id: d.customer_id.clone(),
            });
        }
    }
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !HISTORY_COLUMNS.contains(&headers[i].trim()))
        .collect();
    Ok(Customers {
        header: keep.iter().map(|&i| headers[i].to_owned()).collect(),
        keep,
        rows,
    })
}

/// Writes the history: the customer's columns, then `action` (the action id, or `control`),
/// `propensity` and `churned` (0/1), in decisions order; `none` rows and rows without an
/// outcome are left out.
pub(super) fn write_history(
    w: &mut dyn Write,
    customers: &Customers,
    decisions: &[DecisionRow],
    joined: &[Option<bool>],
) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let header = customers
        .header
        .iter()
        .map(String::as_str)
        .chain(HISTORY_COLUMNS);
    out.write_record(header)?;
    for (d, churned) in decisions.iter().zip(joined) {
        let Some(churned) = churned else { continue };
        let action = match d.decision {
            Decision::Target => d.action.as_str(),
            Decision::Control => "control",
            Decision::None => continue,
        };
        let row = &customers.rows[&d.customer_id];
        let (propensity, churned) = (d.propensity.to_string(), u8::from(*churned).to_string());
        let fields = customers
            .keep
            .iter()
            .map(|&i| row.get(i).unwrap_or(""))
            .chain([action, propensity.as_str(), churned.as_str()]);
        out.write_record(fields)?;
    }
    out.flush()
}
