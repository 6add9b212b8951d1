//! Why a batch file could not be read or written, naming the file: [`FileError`].

use std::path::{Path, PathBuf};

/// A customers, scored or plan file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened, created, read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// `reading`, `creating` or `writing`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Not readable as CSV (e.g. a row with the wrong number of fields).
    #[error("{}{}: {source}", path.display(), at_line(*.line))]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line (the header is line 1); 0 when the reader could not say.
        line: u64,
        /// What the CSV reader said.
        #[source]
        source: csv::Error,
    },
    /// Not readable or writable as Parquet.
    #[error("{} (Parquet): {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader or writer said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Columns that cannot be put together (Arrow's check of a batch).
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What Arrow said.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A value that does not fit its column.
    #[error("{} row {row}: {problem}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// What is wrong.
        problem: String,
    },
    /// The model's catalog or features do not fit the output's coded columns.
    #[error("the model has {actions} actions and {features} features; the output's coded columns hold at most 32,767 of each")]
    TooLarge {
        /// Actions, "no action" included.
        actions: usize,
        /// Features.
        features: usize,
    },
    /// A column the file needs is missing, or of a type that cannot hold it.
    #[error("{}: {problem}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the column.
        problem: String,
    },
}

/// " line N", or nothing when the line is not known.
fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" line {line}")
    }
}

impl FileError {
    /// The I/O error `what`ing `path`.
    pub fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }

    /// The CSV error of `path`, at the line the reader was on.
    pub fn csv(path: &Path) -> impl FnOnce(csv::Error) -> Self + '_ {
        move |source| Self::Csv {
            path: path.to_owned(),
            line: source.position().map_or(0, csv::Position::line),
            source,
        }
    }

    /// The Parquet error of `path`.
    pub fn parquet(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Self + '_ {
        move |source| Self::Parquet {
            path: path.to_owned(),
            source,
        }
    }

    /// The Arrow error of `path`.
    pub fn arrow(path: &Path) -> impl FnOnce(arrow_schema::ArrowError) -> Self + '_ {
        move |source| Self::Arrow {
            path: path.to_owned(),
            source,
        }
    }

    /// A column problem of `path`.
    pub fn column(path: &Path, problem: impl std::fmt::Display) -> Self {
        Self::Column {
            path: path.to_owned(),
            problem: problem.to_string(),
        }
    }
}
