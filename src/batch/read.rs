//! Reading customers from CSV or Parquet, a batch at a time, into Arrow columns: one layout for
//! both formats, so validation and scoring work on typed columns whatever the input.
//!
//! Input columns: `customer_id`, the `CustomerProfile` fields by name, `extra.<name>`. In CSV,
//! booleans are `0/1/true/false`; in Parquet any integer, float or boolean column type is read.
//!
//! Why one file of this length: the CSV and the Parquet reader share one layout and one column-by-
//! column validation, which must refuse exactly what the API refuses; split, the two would drift.

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::file_format::is_parquet;
use super::FileError;
use crate::domain::profile::{BuiltinFeature, FeatureKind, EXTRA_PREFIX};
use crate::domain::validation::{check_customer_id, with_setter, FieldProblem};
use crate::domain::CustomerProfile;

pub use super::file_format::BATCH_ROWS;

/// Rows validated at a time: a block of profiles stays in cache while each column is loaded
/// into it.
pub const BLOCK_ROWS: usize = 256;

/// Where each profile field is in the input, by column index.
#[derive(Debug)]
struct Layout {
    id: usize,
    builtin: Vec<(BuiltinFeature, Option<usize>)>,
    extra: Vec<(String, usize)>,
}

impl Layout {
    fn from_names<'a>(
        path: &Path,
        names: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<Self, FileError> {
        let id = names
            .clone()
            .position(|h| h == "customer_id")
            .ok_or_else(|| FileError::column(path, "the input has no customer_id column"))?;
        let builtin = BuiltinFeature::ALL
            .iter()
            .map(|f| (*f, names.clone().position(|h| h == f.name())))
            .collect();
        let extra = names
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix(EXTRA_PREFIX).map(|k| (k.to_owned(), i)))
            .collect();
        Ok(Self { id, builtin, extra })
    }

    fn feature_columns(&self) -> impl Iterator<Item = usize> + '_ {
        let builtin = self.builtin.iter().filter_map(|(_, c)| *c);
        builtin.chain(self.extra.iter().map(|(_, c)| *c))
    }
}

/// A file of customers, read a batch at a time.
pub struct RowSource {
    path: PathBuf,
    layout: Arc<Layout>,
    kind: SourceKind,
    rows_read: u64,
    /// Rows in the file (Parquet) or its size in bytes (CSV), for progress.
    size: u64,
}

enum SourceKind {
    Csv(csv::Reader<File>, Vec<String>),
    Parquet(ParquetRecordBatchReader),
}

/// A text cell that is not a number, found while reading CSV.
#[derive(Debug, Clone, PartialEq)]
struct BadCell {
    row: usize,
    field: String,
    reason: String,
}

/// A batch of input rows as Arrow columns.
pub struct Rows {
    layout: Arc<Layout>,
    batch: RecordBatch,
    /// CSV: each row's line; Parquet: empty (row numbers follow from `first_row`).
    lines: Vec<u64>,
    first_row: u64,
    bad_cells: Vec<BadCell>,
    /// Share of the file read once this batch was (an estimate for CSV).
    read_fraction: f64,
}

fn numeric(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Float32 | DataType::Float64 | DataType::Boolean)
}

fn textual(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl RowSource {
    /// Opens `path` (Parquet for `.parquet`/`.pq`, otherwise CSV).
    ///
    /// # Errors
    /// The file cannot be opened, has no `customer_id` column, or (Parquet) a profile column is
    /// not of a numeric or boolean type.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let file = File::open(path).map_err(FileError::io("reading", path))?;
        let bytes = file.metadata().map_or(0, |m| m.len());
        if is_parquet(path) {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(file).map_err(FileError::parquet(path))?;
            let fields = builder.schema().fields().clone();
            let layout = Layout::from_names(path, fields.iter().map(|f| f.name().as_str()))?;
            if !textual(fields[layout.id].data_type()) {
                let problem = format!(
                    "column customer_id is {}, expected text",
                    fields[layout.id].data_type()
                );
                return Err(FileError::column(path, problem));
            }
            for c in layout.feature_columns() {
                let f = &fields[c];
                if !numeric(f.data_type()) {
                    let problem = format!(
                        "column {} is {}, expected a number or boolean",
                        f.name(),
                        f.data_type()
                    );
                    return Err(FileError::column(path, problem));
                }
            }
            let size = builder.metadata().file_metadata().num_rows().max(0) as u64;
            let reader = builder
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(FileError::parquet(path))?;
            return Ok(Self {
                path: path.to_owned(),
                layout: Arc::new(layout),
                kind: SourceKind::Parquet(reader),
                rows_read: 0,
                size,
            });
        }
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(1 << 20)
            .from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .map_err(FileError::csv(path))?
            .iter()
            .map(str::to_owned)
            .collect();
        let layout = Layout::from_names(path, headers.iter().map(String::as_str))?;
        Ok(Self {
            path: path.to_owned(),
            layout: Arc::new(layout),
            kind: SourceKind::Csv(reader, headers),
            rows_read: 0,
            size: bytes,
        })
    }

    /// The type of the `customer_id` column (text of some Arrow flavour).
    pub fn id_type(&self) -> DataType {
        match &self.kind {
            SourceKind::Csv(..) => DataType::Utf8,
            SourceKind::Parquet(reader) => {
                use arrow_array::RecordBatchReader;
                reader.schema().field(self.layout.id).data_type().clone()
            }
        }
    }

    /// The next batch, or `None` at the end.
    ///
    /// # Errors
    /// The file is malformed.
    pub fn next_batch(&mut self) -> Result<Option<Rows>, FileError> {
        let first_row = self.rows_read + 1;
        let path = &self.path;
        let (batch, lines, bad_cells) = match &mut self.kind {
            SourceKind::Csv(reader, headers) => {
                match read_csv_batch(path, reader, headers, &self.layout)? {
                    Some(read) => read,
                    None => return Ok(None),
                }
            }
            SourceKind::Parquet(reader) => match reader.next() {
                Some(batch) => {
                    let batch = batch.map_err(FileError::arrow(path))?;
                    (batch, Vec::new(), Vec::new())
                }
                None => return Ok(None),
            },
        };
        self.rows_read += batch.num_rows() as u64;
        let read = match &self.kind {
            SourceKind::Csv(reader, _) => reader.position().byte(),
            SourceKind::Parquet(_) => self.rows_read,
        };
        Ok(Some(Rows {
            layout: self.layout.clone(),
            batch,
            lines,
            first_row,
            bad_cells,
            read_fraction: read as f64 / self.size.max(1) as f64,
        }))
    }
}

type CsvBatch = (RecordBatch, Vec<u64>, Vec<BadCell>);

/// Parses up to [`BATCH_ROWS`] CSV records into Arrow columns: text for `customer_id`, numbers
/// for every profile column (empty = null), other columns left out. A cell that is not a number
/// becomes null and a [`BadCell`] that rejects its row.
fn read_csv_batch(
    path: &Path,
    reader: &mut csv::Reader<File>,
    headers: &[String],
    layout: &Layout,
) -> Result<Option<CsvBatch>, FileError> {
    enum Col {
        Skip,
        Id(StringBuilder),
        Number(Float64Builder, String),
    }
    let field_name = |c: usize| -> Option<String> {
        let h = &headers[c];
        if let Some(key) = h.strip_prefix(EXTRA_PREFIX) {
            return Some(format!("profile.extra_features[\"{key}\"]"));
        }
        BuiltinFeature::from_name(h).map(|f| format!("profile.{}", f.name()))
    };
    let mut cols: Vec<Col> = (0..headers.len())
        .map(|c| match field_name(c) {
            _ if c == layout.id => {
                Col::Id(StringBuilder::with_capacity(BATCH_ROWS, 16 * BATCH_ROWS))
            }
            Some(name) if layout.feature_columns().any(|f| f == c) => {
                Col::Number(Float64Builder::with_capacity(BATCH_ROWS), name)
            }
            _ => Col::Skip,
        })
        .collect();
    let mut lines = Vec::with_capacity(BATCH_ROWS);
    let mut bad_cells = Vec::new();
    let mut record = csv::ByteRecord::new();
    while lines.len() < BATCH_ROWS
        && reader
            .read_byte_record(&mut record)
            .map_err(FileError::csv(path))?
    {
        let row = lines.len();
        lines.push(record.position().map_or(0, |p| p.line()));
        for (c, col) in cols.iter_mut().enumerate() {
            let raw = record.get(c).unwrap_or(b"");
            match col {
                Col::Skip => {}
                Col::Id(b) => b.append_value(String::from_utf8_lossy(raw)),
                Col::Number(b, field) => match parse_number(raw) {
                    Ok(Some(v)) => b.append_value(v),
                    Ok(None) => b.append_null(),
                    Err(text) => {
                        b.append_null();
                        let flag = field
                            .strip_prefix("profile.")
                            .and_then(BuiltinFeature::from_name)
                            .is_some_and(|f| f.kind() == FeatureKind::Flag);
                        let reason = if flag {
                            format!("`{text}` is not a yes/no value (0, 1, true or false)")
                        } else {
                            format!("`{text}` is not a number")
                        };
                        bad_cells.push(BadCell {
                            row,
                            field: field.clone(),
                            reason,
                        });
                    }
                },
            }
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    // Columns keep their file positions so the layout's indices hold; skipped ones are empty.
    let skipped: ArrayRef = Arc::new(arrow_array::NullArray::new(lines.len()));
    let arrays: Vec<ArrayRef> = cols
        .into_iter()
        .map(|col| -> ArrayRef {
            match col {
                Col::Skip => skipped.clone(),
                Col::Id(mut b) => Arc::new(b.finish()),
                Col::Number(mut b, _) => Arc::new(b.finish()),
            }
        })
        .collect();
    let batch = RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::new(
            headers
                .iter()
                .zip(&arrays)
                .map(|(h, a)| arrow_schema::Field::new(h, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        )),
        arrays,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(lines.len())),
    )
    .map_err(FileError::arrow(path))?;
    Ok(Some((batch, lines, bad_cells)))
}

/// A CSV cell as a number: empty is `None`, `true`/`false` are 1/0.
fn parse_number(raw: &[u8]) -> Result<Option<f64>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| String::from_utf8_lossy(raw).into_owned())?;
    match text.trim() {
        "" => Ok(None),
        "true" => Ok(Some(1.0)),
        "false" => Ok(Some(0.0)),
        t => t.parse::<f64>().map(Some).map_err(|_| t.to_owned()),
    }
}

/// One numeric column of a batch as `f64`s: borrowed when it already is `Float64`.
struct NumberColumn<'a> {
    values: Cow<'a, [f64]>,
    nulls: Option<&'a NullBuffer>,
}

impl<'a> NumberColumn<'a> {
    fn new(array: &'a ArrayRef) -> Self {
        fn widen<T: ArrowPrimitiveType>(a: &ArrayRef, f: impl Fn(T::Native) -> f64) -> Vec<f64> {
            a.as_primitive::<T>()
                .values()
                .iter()
                .map(|&v| f(v))
                .collect()
        }
        let values: Cow<'a, [f64]> = match array.data_type() {
            DataType::Float64 => Cow::Borrowed(array.as_primitive::<Float64Type>().values()),
            DataType::Float32 => widen::<Float32Type>(array, f64::from).into(),
            DataType::Int64 => widen::<Int64Type>(array, |v| v as f64).into(),
            DataType::Int32 => widen::<Int32Type>(array, f64::from).into(),
            DataType::Int16 => widen::<Int16Type>(array, f64::from).into(),
            DataType::Int8 => widen::<Int8Type>(array, f64::from).into(),
            DataType::UInt64 => widen::<UInt64Type>(array, |v| v as f64).into(),
            DataType::UInt32 => widen::<UInt32Type>(array, f64::from).into(),
            DataType::UInt16 => widen::<UInt16Type>(array, f64::from).into(),
            DataType::UInt8 => widen::<UInt8Type>(array, f64::from).into(),
            DataType::Boolean => {
                let b = array.as_boolean().values();
                b.iter().map(|v| f64::from(u8::from(v))).collect()
            }
            // Checked at open (Parquet) or built as Float64 (CSV); never reached.
            _ => vec![f64::NAN; array.len()].into(),
        };
        Self {
            values,
            nulls: array.nulls(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<f64> {
        match self.nulls {
            Some(n) if n.is_null(i) => None,
            _ => Some(self.values[i]),
        }
    }
}

/// A batch's profile columns, ready for row-by-row validation.
pub struct ProfileColumns<'a> {
    ids: Ids<'a>,
    builtin: Vec<(BuiltinFeature, Option<NumberColumn<'a>>)>,
    extra: Vec<(&'a str, NumberColumn<'a>)>,
    rows: &'a Rows,
}

enum Ids<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl Ids<'_> {
    #[inline]
    fn get(&self, i: usize) -> &str {
        match self {
            Self::Utf8(a) if a.is_valid(i) => a.value(i),
            Self::Large(a) if a.is_valid(i) => a.value(i),
            Self::View(a) if a.is_valid(i) => a.value(i),
            _ => "",
        }
    }
}

/// Why a row cannot be scored: the field and the reason.
pub type RowProblem = (String, String);

impl<'a> ProfileColumns<'a> {
    /// Views `rows` column by column (one type conversion per column and batch).
    pub fn new(rows: &'a Rows) -> Self {
        let col = |c: usize| rows.batch.column(c);
        let id = col(rows.layout.id);
        let ids = if let Some(a) = id.as_any().downcast_ref::<StringArray>() {
            Ids::Utf8(a)
        } else if let Some(a) = id.as_any().downcast_ref::<LargeStringArray>() {
            Ids::Large(a)
        } else {
            Ids::View(id.as_string_view())
        };
        Self {
            ids,
            builtin: rows
                .layout
                .builtin
                .iter()
                .map(|&(f, c)| (f, c.map(|c| NumberColumn::new(col(c)))))
                .collect(),
            extra: rows
                .layout
                .extra
                .iter()
                .map(|(k, c)| (k.as_str(), NumberColumn::new(col(*c))))
                .collect(),
            rows,
        }
    }

    /// Row `i`'s customer id.
    #[inline]
    pub fn customer_id(&self, i: usize) -> &str {
        self.ids.get(i)
    }

    /// Fills `profiles` (at most [`BLOCK_ROWS`]) with the rows from `start` on (every typed
    /// field and the extra features; ids are left out), validated by the same rules as the
    /// API's, column by column; `problems[k]` receives the first bad field of row `start + k`,
    /// named as the API names it.
    ///
    /// # Panics
    /// More than [`BLOCK_ROWS`] profiles.
    pub fn fill_block(
        &self,
        start: usize,
        profiles: &mut [CustomerProfile],
        problems: &mut [Option<RowProblem>],
    ) {
        let n = profiles.len();
        assert!(n <= BLOCK_ROWS, "a block holds at most {BLOCK_ROWS} rows");
        // Rows already rejected, so later columns skip them and keep the first problem.
        let mut bad = [false; BLOCK_ROWS];
        let bad = &mut bad[..n];
        for (k, (problem, bad)) in problems[..n].iter_mut().zip(bad.iter_mut()).enumerate() {
            let i = start + k;
            *problem = if let Some(b) = self.rows.bad_cell(i) {
                Some((b.field.clone(), b.reason.clone()))
            } else if let Err(e) = check_customer_id(self.customer_id(i)) {
                Some(("profile.customer_id".into(), e.to_string()))
            } else {
                None
            };
            *bad = problem.is_some();
        }
        for (f, col) in &self.builtin {
            with_setter!(*f, |set| fill_column(
                *f,
                col.as_ref(),
                start,
                profiles,
                &mut problems[..n],
                bad,
                set
            ));
        }
        if self.extra.is_empty() {
            return;
        }
        for (k, (p, problem)) in profiles.iter_mut().zip(problems.iter_mut()).enumerate() {
            p.extra_features.clear();
            for (key, col) in &self.extra {
                if problem.is_some() {
                    break;
                }
                match col.get(start + k) {
                    Some(v) if !v.is_finite() => {
                        let field = format!("profile.extra_features[\"{key}\"]");
                        *problem = Some((field, FieldProblem::NotFinite(v).to_string()));
                    }
                    Some(v) => {
                        p.extra_features.insert((*key).to_owned(), v);
                    }
                    None => {}
                }
            }
        }
    }
}

/// Loads typed field `f` of `profiles` from `col` (rows from `start` on) with `set`. A column
/// without nulls whose values all pass is stored in one tight loop (the common case); otherwise
/// each row not yet rejected is checked and the first bad one named in `problems`.
#[inline(always)]
fn fill_column(
    f: BuiltinFeature,
    col: Option<&NumberColumn<'_>>,
    start: usize,
    profiles: &mut [CustomerProfile],
    problems: &mut [Option<RowProblem>],
    bad: &mut [bool],
    set: impl Fn(&mut CustomerProfile, f64),
) {
    let rule = f.rule();
    if let Some(c) = col {
        let values = &c.values[start..start + profiles.len()];
        let no_nulls = c.nulls.is_none_or(|n| n.null_count() == 0);
        // `&` rather than `&&`: no early exit, so the loop has no branch per value.
        if no_nulls && values.iter().fold(true, |ok, &v| ok & rule.accepts(v)) {
            for (p, &v) in profiles.iter_mut().zip(values) {
                set(p, v);
            }
            return;
        }
    }
    let field = || format!("profile.{}", f.name());
    for (k, (p, (problem, bad))) in profiles
        .iter_mut()
        .zip(problems.iter_mut().zip(bad.iter_mut()))
        .enumerate()
    {
        if *bad {
            continue;
        }
        match col.and_then(|c| c.get(start + k)) {
            None => *problem = Some((field(), FieldProblem::Missing.to_string())),
            Some(v) => match rule.check(v) {
                Ok(()) => set(p, v),
                Err(e) => *problem = Some((field(), e.to_string())),
            },
        }
        *bad = problem.is_some();
    }
}

impl Rows {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where row `i` is in the file: its line (CSV, header = line 1) or row number (Parquet, from 1).
    pub fn position(&self, i: usize) -> u64 {
        self.lines
            .get(i)
            .copied()
            .unwrap_or(self.first_row + i as u64)
    }

    /// Share of the input file read once this batch was (by rows for Parquet, by bytes for CSV).
    pub fn read_fraction(&self) -> f64 {
        self.read_fraction
    }

    /// The `customer_id` column, to pass through to the output unchanged.
    pub fn id_column(&self) -> &ArrayRef {
        self.batch.column(self.layout.id)
    }

    fn bad_cell(&self, row: usize) -> Option<&BadCell> {
        if self.bad_cells.is_empty() {
            return None;
        }
        let k = self.bad_cells.partition_point(|b| b.row < row);
        self.bad_cells.get(k).filter(|b| b.row == row)
    }
}
