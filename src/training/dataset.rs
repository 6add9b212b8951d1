//! Loading a labelled CSV of customers for training, with errors that name the row and column.

use std::collections::HashMap;
use std::path::Path;

use crate::progress::Progress;

/// A labelled training table, held by column.
#[derive(Debug, Clone)]
pub struct Dataset {
    columns: HashMap<String, Vec<f64>>,
    /// Churn labels, one per row.
    pub labels: Vec<bool>,
    /// Columns dropped because a value is not a number (only when reading leniently).
    pub ignored: Vec<IgnoredColumn>,
}

/// A column left out because it is not numeric, with the first value that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredColumn {
    /// Column name.
    pub column: String,
    /// Data row (1-based) of the first non-numeric value.
    pub row: u64,
    /// That value.
    pub value: String,
}

/// What to do with a value that is not a finite number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonNumeric {
    /// Refuse the file, naming the row and column (for columns the user chose).
    Fail,
    /// Drop the column and report it (for columns detected automatically).
    DropColumn,
}

/// Why a training file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: csv::Error },
    #[error("the file has no column `{0}`")]
    MissingColumn(String),
    #[error("row {row} (line {line}), column `{column}`: `{value}` is not a finite number")]
    NotANumber {
        row: u64,
        line: u64,
        column: String,
        value: String,
    },
    #[error("row {row} (line {line}), label `{column}`: `{value}` is not 0/1 or true/false")]
    BadLabel {
        row: u64,
        line: u64,
        column: String,
        value: String,
    },
    #[error("the file has no data rows")]
    Empty,
}

impl Dataset {
    /// Reads `path`, keeping `columns` (numbers, or `true`/`false`) and the `label` column
    /// (`0`/`1`/`true`/`false`).
    ///
    /// # Errors
    /// The file cannot be read, a column is missing, or a value is not a finite number.
    pub fn read_csv(
        path: &Path,
        columns: &[String],
        label: &str,
        non_numeric: NonNumeric,
    ) -> Result<Self, DatasetError> {
        let io = |source| DatasetError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut reader = csv::Reader::from_path(path).map_err(io)?;
        let headers = reader.headers().map_err(io)?.clone();
        let index_of = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| DatasetError::MissingColumn(name.to_owned()))
        };
        let label_index = index_of(label)?;
        let wanted: Vec<(usize, &String)> = columns
            .iter()
            .map(|c| index_of(c).map(|i| (i, c)))
            .collect::<Result<_, _>>()?;
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); wanted.len()];
        let mut ignored: Vec<Option<IgnoredColumn>> = vec![None; wanted.len()];
        let mut labels = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut row = 0u64;
        let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len()).max(1);
        let mut progress = Progress::new("loading", "rows");
        while reader.read_record(&mut record).map_err(io)? {
            row += 1;
            let line = record.position().map_or(row + 1, |p| p.line());
            let raw_label = record.get(label_index).unwrap_or("").trim();
            labels.push(match raw_label {
                "1" | "true" | "1.0" => true,
                "0" | "false" | "0.0" => false,
                other => {
                    return Err(DatasetError::BadLabel {
                        row,
                        line,
                        column: label.to_owned(),
                        value: other.to_owned(),
                    })
                }
            });
            for ((slot, dropped), (i, name)) in values.iter_mut().zip(&mut ignored).zip(&wanted) {
                if dropped.is_some() {
                    continue;
                }
                let raw = record.get(*i).unwrap_or("").trim();
                let parsed = match raw {
                    "true" => Some(1.0),
                    "false" => Some(0.0),
                    _ => raw.parse::<f64>().ok().filter(|v| v.is_finite()),
                };
                match (parsed, non_numeric) {
                    (Some(v), _) => slot.push(v),
                    (None, NonNumeric::DropColumn) => {
                        *dropped = Some(IgnoredColumn {
                            column: (*name).clone(),
                            row,
                            value: raw.to_owned(),
                        });
                        *slot = Vec::new();
                    }
                    (None, NonNumeric::Fail) => {
                        return Err(DatasetError::NotANumber {
                            row,
                            line,
                            column: (*name).clone(),
                            value: raw.to_owned(),
                        })
                    }
                }
            }
            if row % 10_000 == 0 {
                let read = record.position().map_or(0, csv::Position::byte);
                progress.update(row, Some(read as f64 / file_bytes as f64));
            }
        }
        progress.finish(row);
        if labels.is_empty() {
            return Err(DatasetError::Empty);
        }
        let columns = wanted
            .into_iter()
            .map(|(_, n)| n.clone())
            .zip(values)
            .zip(&ignored)
            .filter(|(_, dropped)| dropped.is_none())
            .map(|(column, _)| column)
            .collect();
        Ok(Self {
            columns,
            labels,
            ignored: ignored.into_iter().flatten().collect(),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// The values of column `name` (one of those asked for when reading).
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.get(name).map(Vec::as_slice)
    }
}

/// The column names of a CSV file.
///
/// # Errors
/// The file cannot be read.
pub fn csv_headers(path: &Path) -> Result<Vec<String>, DatasetError> {
    let io = |source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(io)?;
    Ok(reader
        .headers()
        .map_err(io)?
        .iter()
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_numbers_booleans_and_labels_by_column() {
        let f =
            file("customer_id,age_years,salary_credited,churned\nA,30,true,1\nB,41.5,false,0\n");
        let cols = vec!["age_years".to_owned(), "salary_credited".to_owned()];
        let d = Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::Fail).unwrap();
        assert_eq!(d.rows(), 2);
        assert_eq!(d.column("age_years"), Some(&[30.0, 41.5][..]));
        assert_eq!(d.column("salary_credited"), Some(&[1.0, 0.0][..]));
        assert_eq!(d.labels, vec![true, false]);
    }

    #[test]
    fn a_lenient_read_drops_text_columns_and_says_which() {
        let f = file("age_years,country,churned\n30,FR,1\n41,DE,0\n");
        let cols = vec!["age_years".to_owned(), "country".to_owned()];
        let d = Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::DropColumn).unwrap();
        assert_eq!(d.column("age_years"), Some(&[30.0, 41.0][..]));
        assert_eq!(d.column("country"), None);
        assert_eq!(
            d.ignored,
            vec![IgnoredColumn {
                column: "country".into(),
                row: 1,
                value: "FR".into()
            }]
        );
    }

    #[test]
    fn bad_values_name_the_row_line_and_column() {
        let cols = vec!["age_years".to_owned()];
        let f = file("age_years,churned\n30,1\nabc,0\n");
        let err = Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::Fail).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2 (line 3), column `age_years`: `abc` is not a finite number"
        );
        let f = file("age_years,churned\nNaN,1\n");
        assert!(matches!(
            Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::Fail),
            Err(DatasetError::NotANumber { .. })
        ));
        let f = file("age_years,churned\n30,maybe\n");
        assert!(matches!(
            Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::Fail),
            Err(DatasetError::BadLabel { row: 1, .. })
        ));
        let f = file("age_years,left\n30,1\n");
        let err = Dataset::read_csv(f.path(), &cols, "churned", NonNumeric::Fail).unwrap_err();
        assert_eq!(err.to_string(), "the file has no column `churned`");
    }
}
