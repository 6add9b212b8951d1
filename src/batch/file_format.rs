//! File formats of batch work: which files are Parquet, and turning a customers CSV into typed
//! Parquet (`bankscore generate --out x.parquet`).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use super::FileError;
use crate::domain::profile::{BuiltinFeature, FeatureKind};

/// Rows read (and converted) per batch.
pub const BATCH_ROWS: usize = 65_536;

/// Whether `path` names a Parquet file (`.parquet` or `.pq`); anything else is CSV.
pub fn is_parquet(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("parquet" | "pq")
    )
}

/// Writes a CSV file of customers (as `bankscore generate` makes) as Parquet with typed columns:
/// counts as UInt32, flags as Boolean, amounts and other numbers as Float64, text
/// (`customer_id`, and a campaign history's `action`) as Utf8.
///
/// # Errors
/// The files cannot be read or written, or a value does not fit its column's type.
pub fn csv_to_parquet(input: &Path, output: &Path) -> Result<u64, FileError> {
    use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt32Builder};
    let mut reader = csv::Reader::from_path(input).map_err(FileError::csv(input))?;
    let headers = reader.headers().map_err(FileError::csv(input))?.clone();
    enum Col {
        Text(StringBuilder),
        Count(UInt32Builder),
        Flag(BooleanBuilder),
        Amount(Float64Builder),
    }
    let kind = |h: &str| -> Col {
        match BuiltinFeature::from_name(h).map(BuiltinFeature::kind) {
            Some(FeatureKind::Amount) => Col::Amount(Float64Builder::new()),
            Some(FeatureKind::Flag) => Col::Flag(BooleanBuilder::new()),
            Some(FeatureKind::Count) => Col::Count(UInt32Builder::new()),
            None if matches!(h, "customer_id" | "action") => Col::Text(StringBuilder::new()),
            None => Col::Amount(Float64Builder::new()),
        }
    };
    let mut cols: Vec<Col> = headers.iter().map(kind).collect();
    let fields: Vec<Field> = headers
        .iter()
        .zip(&cols)
        .map(|(h, c)| {
            let t = match c {
                Col::Text(_) => DataType::Utf8,
                Col::Count(_) => DataType::UInt32,
                Col::Flag(_) => DataType::Boolean,
                Col::Amount(_) => DataType::Float64,
            };
            Field::new(h, t, true)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let file = File::create(output).map_err(FileError::io("creating", output))?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), None).map_err(FileError::parquet(output))?;
    let mut record = csv::StringRecord::new();
    let (mut rows, mut in_batch) = (0u64, 0usize);
    let flush = |cols: &mut Vec<Col>, writer: &mut ArrowWriter<File>| -> Result<(), FileError> {
        let arrays: Vec<ArrayRef> = cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Text(b) => Arc::new(b.finish()),
                    Col::Count(b) => Arc::new(b.finish()),
                    Col::Flag(b) => Arc::new(b.finish()),
                    Col::Amount(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let batch =
            RecordBatch::try_new(schema.clone(), arrays).map_err(FileError::arrow(output))?;
        writer.write(&batch).map_err(FileError::parquet(output))
    };
    while reader
        .read_record(&mut record)
        .map_err(FileError::csv(input))?
    {
        rows += 1;
        for (c, raw) in cols.iter_mut().zip(record.iter()) {
            let bad = || FileError::Value {
                path: input.to_owned(),
                row: rows,
                problem: format!("`{raw}` does not fit its column"),
            };
            match c {
                Col::Text(b) => b.append_value(raw),
                Col::Count(b) if raw.is_empty() => b.append_null(),
                Col::Count(b) => b.append_value(raw.parse().map_err(|_| bad())?),
                Col::Flag(b) => match raw {
                    "" => b.append_null(),
                    "0" | "false" => b.append_value(false),
                    "1" | "true" => b.append_value(true),
                    _ => return Err(bad()),
                },
                Col::Amount(b) if raw.is_empty() => b.append_null(),
                Col::Amount(b) => b.append_value(raw.parse().map_err(|_| bad())?),
            }
        }
        in_batch += 1;
        if in_batch == BATCH_ROWS {
            flush(&mut cols, &mut writer)?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        flush(&mut cols, &mut writer)?;
    }
    writer.close().map_err(FileError::parquet(output))?;
    Ok(rows)
}

/// Writes a Parquet table as CSV (header, then one line per row; nulls as empty fields), so that
/// Parquet campaign histories and logs are read by the same checked CSV readers as CSV ones.
/// Text, booleans (`true`/`false`), integers and floating-point numbers are supported.
///
/// # Errors
/// The files cannot be read or written, or a column has another type (named with its type).
pub fn parquet_to_csv(input: &Path, output: &Path) -> Result<u64, FileError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type,
    };
    use arrow_array::{Array, RecordBatchReader};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(input).map_err(FileError::io("reading", input))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(FileError::parquet(input))?;
    let schema = reader.schema();
    for field in schema.fields() {
        let supported = matches!(
            field.data_type(),
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Boolean
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt32
                | DataType::UInt64
                | DataType::Float32
                | DataType::Float64
        ) || is_text_dictionary(field.data_type());
        if !supported {
            let problem = format!(
                "column `{}` has type {}; text, booleans and numbers are supported",
                field.name(),
                field.data_type()
            );
            return Err(FileError::column(input, problem));
        }
    }
    let mut w = csv::Writer::from_path(output).map_err(FileError::csv(output))?;
    w.write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(FileError::csv(output))?;
    let mut rows = 0u64;
    let mut record: Vec<String> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(FileError::arrow(input))?;
        // Dictionary-coded text (as `score` writes `tier` and the reasons) is decoded per batch.
        let columns = batch
            .columns()
            .iter()
            .map(|c| match c.as_any_dictionary_opt() {
                Some(d) => arrow_select::take::take(d.values(), d.keys(), None)
                    .map_err(FileError::arrow(input)),
                None => Ok(c.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            record.clear();
            for column in &columns {
                if column.is_null(r) {
                    record.push(String::new());
                    continue;
                }
                record.push(match column.data_type() {
                    DataType::Utf8 => column.as_string::<i32>().value(r).to_owned(),
                    DataType::LargeUtf8 => column.as_string::<i64>().value(r).to_owned(),
                    DataType::Boolean => column.as_boolean().value(r).to_string(),
                    DataType::Int32 => column.as_primitive::<Int32Type>().value(r).to_string(),
                    DataType::Int64 => column.as_primitive::<Int64Type>().value(r).to_string(),
                    DataType::UInt32 => column.as_primitive::<UInt32Type>().value(r).to_string(),
                    DataType::UInt64 => column.as_primitive::<UInt64Type>().value(r).to_string(),
                    DataType::Float32 => column.as_primitive::<Float32Type>().value(r).to_string(),
                    DataType::Float64 => column.as_primitive::<Float64Type>().value(r).to_string(),
                    other => unreachable!("checked above: {other}"),
                });
            }
            w.write_record(&record).map_err(FileError::csv(output))?;
            rows += 1;
        }
    }
    w.flush().map_err(FileError::io("writing", output))?;
    Ok(rows)
}

/// Text coded as a dictionary (any integer key over UTF-8 values).
fn is_text_dictionary(t: &DataType) -> bool {
    matches!(t, DataType::Dictionary(key, value)
        if key.is_dictionary_key_type() && matches!(**value, DataType::Utf8 | DataType::LargeUtf8))
}

/// A CSV view of `path`: the file itself, or a temporary CSV copy of a Parquet file (removed
/// when the view is dropped).
pub struct CsvView {
    path: std::path::PathBuf,
    temporary: bool,
}

impl CsvView {
    /// Opens `path` as CSV, converting Parquet (`.parquet`, `.pq`) first.
    ///
    /// # Errors
    /// The Parquet file cannot be converted (see [`parquet_to_csv`]).
    pub fn of(path: &Path) -> Result<Self, FileError> {
        if !is_parquet(path) {
            return Ok(Self {
                path: path.to_owned(),
                temporary: false,
            });
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp =
            std::env::temp_dir().join(format!("bankscore-{}-{nanos}.csv", std::process::id()));
        let view = Self {
            path: tmp,
            temporary: true,
        };
        parquet_to_csv(path, &view.path)?;
        Ok(view)
    }

    /// The CSV file to read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CsvView {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
