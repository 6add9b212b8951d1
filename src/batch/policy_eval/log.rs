//! Reading a log of decisions with their outcomes: a campaign history CSV, as
//! `bankscore generate --campaign-history` and `bankscore outcomes --history` write it.
//!
//! Columns: every typed profile field (the candidate's value model and eligibility gates read
//! them all), each extra feature the candidate's churn model reads (`extra.<key>`, or `<key>` as
//! training reads it), `action` (a catalog action id or `control`), `propensity` and `churned`.
//! Other columns are ignored.
//!
//! Checks, in order: the header has `action`, `propensity`, `churned`, then every profile
//! column; then row by row, `action`, `propensity`, `churned`, then each profile value by the
//! API's own field rules. The first problem stops the reading, naming column and row.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::PolicyEvalError;
use crate::domain::churn::ChurnModel;
use crate::domain::profile::{BuiltinFeature, FeatureSource};
use crate::domain::{ActionCatalog, CustomerProfile, FieldProblem};

/// The `action` value of a decision to do nothing (the control group).
pub const CONTROL: &str = "control";

/// The outcome of one logged decision; the customer is read into the caller's profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoggedRow {
    /// 1-based data row.
    pub row: u64,
    /// The byte where it starts (for [`LogReader::line_of`]).
    pub start: u64,
    /// The logged arm: 0 for `control`, `i + 1` for catalog action `i`.
    pub arm: usize,
    /// The probability with which the logging policy chose that arm.
    pub propensity: f64,
    /// Whether the customer left.
    pub churned: bool,
}

/// A log being read, row by row.
pub struct LogReader {
    path: PathBuf,
    reader: csv::Reader<File>,
    record: csv::StringRecord,
    row: u64,
    arms: HashMap<String, usize>,
    action: usize,
    propensity: usize,
    churned: usize,
    builtin: Vec<(BuiltinFeature, usize)>,
    /// Extra features: key, the column holding it, its position.
    extra: Vec<(String, String, usize)>,
}

impl LogReader {
    /// Opens `path` and finds the columns a candidate with `catalog` and `churn` needs.
    ///
    /// # Errors
    /// The file cannot be read or lacks a column.
    pub fn open(
        path: &Path,
        catalog: &ActionCatalog,
        churn: &ChurnModel,
    ) -> Result<Self, PolicyEvalError> {
        let file = File::open(path).map_err(crate::batch::FileError::io("reading", path))?;
        let mut reader = csv::Reader::from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect::<Vec<_>>();
        let find = |names: &[&str], why: &'static str| {
            names
                .iter()
                .find_map(|n| headers.iter().position(|h| h == n))
                .ok_or_else(|| PolicyEvalError::MissingColumn {
                    path: path.into(),
                    column: names[0].to_owned(),
                    why,
                })
        };
        let action = find(
            &["action"],
            "the logged action per customer: a catalog action id or `control`",
        )?;
        let propensity = find(
            &["propensity"],
            "the probability with which the logging policy chose the logged action",
        )?;
        let churned = find(&["churned"], "the outcome per customer: 0 or 1")?;
        let builtin = BuiltinFeature::ALL
            .iter()
            .map(|&f| {
                Ok((
                    f,
                    find(&[f.name()], "a customer field the candidate reads")?,
                ))
            })
            .collect::<Result<_, PolicyEvalError>>()?;
        let mut extra = Vec::new();
        for f in churn.features() {
            if let Some(FeatureSource::Extra(key)) = FeatureSource::parse(&f.name) {
                let why = "an extra feature of the candidate's churn model";
                let c = find(&[&f.name, &key], why)?;
                extra.push((key, headers[c].clone(), c));
            }
        }
        let arms = catalog
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i + 1))
            .chain([(CONTROL.to_owned(), 0)])
            .collect();
        Ok(Self {
            path: path.into(),
            reader,
            record: csv::StringRecord::new(),
            row: 0,
            arms,
            action,
            propensity,
            churned,
            builtin,
            extra,
        })
    }

    /// Reads the next row's customer into `profile` and returns its decision and outcome, or
    /// `None` at the end.
    ///
    /// # Errors
    /// The row is not CSV, or a value is missing or invalid (named with column and row).
    pub fn next_row(
        &mut self,
        profile: &mut CustomerProfile,
    ) -> Result<Option<LoggedRow>, PolicyEvalError> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.path, e))?
        {
            return Ok(None);
        }
        self.row += 1;
        let row = self.row;
        let start = self.record.position().map_or(0, csv::Position::byte);
        // Counted only when a row is refused: see `line_at`.
        let line = || self.line_at(start);
        let path = || self.path.clone();
        let field = |c: usize| self.record.get(c).unwrap_or("").trim();

        let value = field(self.action);
        let arm = *self
            .arms
            .get(value)
            .ok_or_else(|| PolicyEvalError::UnknownAction {
                path: path(),
                row,
                line: line(),
                value: value.into(),
                known: self.known_actions(),
            })?;
        let value = field(self.propensity);
        let propensity = value
            .parse::<f64>()
            .ok()
            .filter(|p| *p > 0.0 && *p <= 1.0)
            .ok_or_else(|| PolicyEvalError::BadPropensity {
                path: path(),
                row,
                line: line(),
                value: value.into(),
            })?;
        let value = field(self.churned);
        let churned = match value.to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => {
                return Err(PolicyEvalError::BadOutcome {
                    path: path(),
                    row,
                    line: line(),
                    value: value.into(),
                })
            }
        };

        let bad = |column: &str, problem| PolicyEvalError::BadField {
            path: path(),
            row,
            line: line(),
            column: column.into(),
            problem,
        };
        let number = |column: &str, text: &str| match text {
            "" => Err(bad(column, FieldProblem::Missing)),
            "true" => Ok(1.0),
            "false" => Ok(0.0),
            t => t.parse::<f64>().map_err(|_| PolicyEvalError::NotANumber {
                path: path(),
                row,
                line: line(),
                column: column.into(),
                value: t.into(),
            }),
        };
        for &(f, c) in &self.builtin {
            let v = number(f.name(), field(c))?;
            f.check(v).map_err(|problem| bad(f.name(), problem))?;
            profile.set(f, v);
        }
        profile.extra_features.clear();
        for (key, column, c) in &self.extra {
            let v = number(column, field(*c))?;
            if !v.is_finite() {
                return Err(bad(column, FieldProblem::NotFinite(v)));
            }
            profile.extra_features.insert(key.clone(), v);
        }
        Ok(Some(LoggedRow {
            row,
            start,
            arm,
            propensity,
            churned,
        }))
    }

    /// The line of a row read before, for a message about it.
    pub fn line_of(&self, row: &LoggedRow) -> u64 {
        self.line_at(row.start)
    }

    /// The line of the row starting at byte `start`. The csv reader's own line count is one
    /// short after a CRLF line end (it starts the next record on the `\n`), so the line is
    /// counted from the bytes: one plus the line feeds before the row's first byte, and one more
    /// when the row starts on the `\n` of a CRLF. 0 if the file cannot be read again.
    fn line_at(&self, start: u64) -> u64 {
        let Ok(bytes) = std::fs::read(&self.path) else {
            return 0;
        };
        let start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let before = bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64;
        1 + before + u64::from(bytes.get(start) == Some(&b'\n'))
    }

    fn known_actions(&self) -> String {
        let mut ids: Vec<(&usize, &String)> = self.arms.iter().map(|(k, v)| (v, k)).collect();
        ids.sort();
        let ids: Vec<&str> = ids.into_iter().map(|(_, k)| k.as_str()).collect();
        ids.join(", ")
    }
}

fn csv_error(path: &Path, source: csv::Error) -> PolicyEvalError {
    crate::batch::FileError::csv(path)(source).into()
}
