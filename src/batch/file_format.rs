//! Reading customers from, and writing scores to, CSV and Parquet files, a batch at a time.
//!
//! Input columns: `customer_id`, the `CustomerProfile` fields by name, `extra.<name>`. In CSV,
//! booleans are `0/1/true/false`; in Parquet any integer, float or boolean column type is read.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, LargeStringArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;

use super::score_file::{csv_field, ScoredRow};
use crate::domain::profile::{BuiltinFeature, FeatureKind, EXTRA_PREFIX};
use crate::service::pb;

/// Rows read per batch.
pub const BATCH_ROWS: usize = 65_536;

fn is_parquet(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("parquet" | "pq")
    )
}

/// Where each profile field is in the input, by column index.
struct Columns {
    id: usize,
    builtin: Vec<(BuiltinFeature, usize)>,
    extra: Vec<(String, usize)>,
}

impl Columns {
    fn from_names<'a>(names: impl Iterator<Item = &'a str> + Clone) -> anyhow::Result<Self> {
        let id = names
            .clone()
            .position(|h| h == "customer_id")
            .context("the input has no customer_id column")?;
        let builtin = BuiltinFeature::ALL
            .iter()
            .filter_map(|f| names.clone().position(|h| h == f.name()).map(|i| (*f, i)))
            .collect();
        let extra = names
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix(EXTRA_PREFIX).map(|k| (k.to_owned(), i)))
            .collect();
        Ok(Self { id, builtin, extra })
    }
}

/// A file of customers, read a batch at a time.
pub struct RowSource {
    columns: Arc<Columns>,
    kind: SourceKind,
    rows_read: u64,
}

enum SourceKind {
    Csv(csv::Reader<File>),
    Parquet(ParquetRecordBatchReader),
}

/// A batch of input rows.
pub struct Rows {
    columns: Arc<Columns>,
    data: RowsData,
    first_row: u64,
}

enum RowsData {
    Csv(Vec<(u64, csv::StringRecord)>),
    Parquet(RecordBatch),
}

impl RowSource {
    /// Opens `path` (Parquet for `.parquet`/`.pq`, otherwise CSV).
    ///
    /// # Errors
    /// The file cannot be opened or has no `customer_id` column.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        if is_parquet(path) {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .with_context(|| format!("reading Parquet {}", path.display()))?;
            let names: Vec<String> = builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let columns = Columns::from_names(names.iter().map(String::as_str))?;
            let reader = builder.with_batch_size(BATCH_ROWS).build()?;
            return Ok(Self {
                columns: Arc::new(columns),
                kind: SourceKind::Parquet(reader),
                rows_read: 0,
            });
        }
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(1 << 20)
            .from_reader(file);
        let headers = reader.headers()?.clone();
        let columns = Columns::from_names(headers.iter())?;
        Ok(Self {
            columns: Arc::new(columns),
            kind: SourceKind::Csv(reader),
            rows_read: 0,
        })
    }

    /// The next batch, or `None` at the end.
    ///
    /// # Errors
    /// The file is malformed.
    pub fn next_batch(&mut self) -> anyhow::Result<Option<Rows>> {
        let first_row = self.rows_read + 1;
        let data = match &mut self.kind {
            SourceKind::Csv(reader) => {
                let mut rows = Vec::with_capacity(BATCH_ROWS);
                let mut record = csv::StringRecord::new();
                while rows.len() < BATCH_ROWS && reader.read_record(&mut record)? {
                    rows.push((record.position().map_or(0, |p| p.line()), record.clone()));
                }
                if rows.is_empty() {
                    return Ok(None);
                }
                self.rows_read += rows.len() as u64;
                RowsData::Csv(rows)
            }
            SourceKind::Parquet(reader) => match reader.next() {
                Some(batch) => {
                    let batch = batch?;
                    self.rows_read += batch.num_rows() as u64;
                    RowsData::Parquet(batch)
                }
                None => return Ok(None),
            },
        };
        Ok(Some(Rows {
            columns: self.columns.clone(),
            data,
            first_row,
        }))
    }
}

/// A cell's value as a number, for any numeric or boolean Arrow column; `None` when null.
fn number(array: &ArrayRef, i: usize) -> Option<f64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    if array.is_null(i) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().value(i),
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(i)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i) as f64,
        DataType::Int32 => f64::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int16 => f64::from(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int8 => f64::from(array.as_primitive::<Int8Type>().value(i)),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(i) as f64,
        DataType::UInt32 => f64::from(array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt16 => f64::from(array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt8 => f64::from(array.as_primitive::<UInt8Type>().value(i)),
        DataType::Boolean => f64::from(u8::from(array.as_boolean().value(i))),
        _ => f64::NAN,
    })
}

fn text(array: &ArrayRef, i: usize) -> &str {
    if array.is_null(i) {
        return "";
    }
    if let Some(a) = array.as_any().downcast_ref::<StringArray>() {
        a.value(i)
    } else if let Some(a) = array.as_any().downcast_ref::<LargeStringArray>() {
        a.value(i)
    } else if let Some(a) = array.as_any().downcast_ref::<StringViewArray>() {
        a.value(i)
    } else {
        ""
    }
}

impl Rows {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        match &self.data {
            RowsData::Csv(rows) => rows.len(),
            RowsData::Parquet(batch) => batch.num_rows(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where row `i` is in the file: its line (CSV, header = line 1) or row number (Parquet, from 1).
    pub fn position(&self, i: usize) -> u64 {
        match &self.data {
            RowsData::Csv(rows) => rows[i].0,
            RowsData::Parquet(_) => self.first_row + i as u64,
        }
    }

    /// Row `i`'s customer id.
    pub fn customer_id(&self, i: usize) -> &str {
        match &self.data {
            RowsData::Csv(rows) => rows[i].1.get(self.columns.id).unwrap_or(""),
            RowsData::Parquet(batch) => text(batch.column(self.columns.id), i),
        }
    }

    /// Row `i` as a gRPC profile, so the server's validation applies unchanged; a value that
    /// is not even a number is refused here, naming the field.
    ///
    /// # Errors
    /// `(field, reason)` for an unreadable value.
    pub fn profile(&self, i: usize) -> Result<pb::CustomerProfile, (String, String)> {
        let mut p = pb::CustomerProfile {
            customer_id: self.customer_id(i).to_owned(),
            ..Default::default()
        };
        for &(f, col) in &self.columns.builtin {
            let field = || format!("profile.{}", f.name());
            let value = match &self.data {
                RowsData::Csv(rows) => {
                    let raw = rows[i].1.get(col).unwrap_or("").trim();
                    match raw {
                        "" => None,
                        "true" => Some(1.0),
                        "false" => Some(0.0),
                        _ => Some(
                            raw.parse::<f64>()
                                .map_err(|_| (field(), format!("`{raw}` is not a valid value")))?,
                        ),
                    }
                }
                RowsData::Parquet(batch) => number(batch.column(col), i),
            };
            if let Some(v) = value {
                set_field(&mut p, f, v).map_err(|reason| (field(), reason))?;
            }
        }
        for (key, col) in &self.columns.extra {
            let value = match &self.data {
                RowsData::Csv(rows) => {
                    let raw = rows[i].1.get(*col).unwrap_or("").trim();
                    if raw.is_empty() {
                        None
                    } else {
                        Some(raw.parse::<f64>().map_err(|_| {
                            (
                                format!("profile.extra_features[\"{key}\"]"),
                                format!("`{raw}` is not a number"),
                            )
                        })?)
                    }
                }
                RowsData::Parquet(batch) => number(batch.column(*col), i),
            };
            if let Some(v) = value {
                p.extra_features.insert(key.clone(), v);
            }
        }
        Ok(p)
    }
}

/// Sets one typed field from a number: counts must be whole and non-negative, flags 0 or 1
/// (ranges and finiteness are checked by the server's validation afterwards).
fn set_field(p: &mut pb::CustomerProfile, f: BuiltinFeature, v: f64) -> Result<(), String> {
    let count = || {
        if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
            Ok(v as u32)
        } else {
            Err(format!("{v} is not a whole number >= 0"))
        }
    };
    let flag = || match v {
        0.0 => Ok(false),
        1.0 => Ok(true),
        _ => Err(format!("`{v}` is not a valid value")),
    };
    use BuiltinFeature as B;
    match f {
        B::AgeYears => p.age_years = Some(count()?),
        B::TenureMonths => p.tenure_months = Some(count()?),
        B::ProductsHeld => p.products_held = Some(count()?),
        B::HasMortgage => p.has_mortgage = Some(flag()?),
        B::SalaryCredited => p.salary_credited = Some(flag()?),
        B::DirectDebits => p.direct_debits = Some(count()?),
        B::TotalBalance => p.total_balance = Some(v),
        B::BalanceTrend3m => p.balance_trend_3m = Some(v),
        B::DigitalLogins30d => p.digital_logins_30d = Some(count()?),
        B::Transactions30d => p.transactions_30d = Some(count()?),
        B::TransactionsTrend3m => p.transactions_trend_3m = Some(v),
        B::Complaints12m => p.complaints_12m = Some(count()?),
        B::OpenComplaint => p.open_complaint = Some(flag()?),
        B::FeeIncrease6m => p.fee_increase_6m = Some(flag()?),
        B::ProductsClosed12m => p.products_closed_12m = Some(count()?),
        B::HasRelationshipManager => p.has_relationship_manager = Some(flag()?),
        B::DaysSinceLastContact => p.days_since_last_contact = Some(count()?),
        B::DaysSinceLastActivity => p.days_since_last_activity = Some(count()?),
        B::Contacts30d => p.contacts_30d = Some(count()?),
        B::AnnualMargin => p.annual_margin = Some(v),
        B::Referrals12m => p.referrals_12m = Some(count()?),
        B::ContactConsent => p.contact_consent = Some(flag()?),
    }
    Ok(())
}

/// The output columns, in order.
pub const OUTPUT_COLUMNS: [&str; 13] = [
    "customer_id",
    "churn_probability",
    "realized_value",
    "potential_value",
    "influence_value",
    "total_value",
    "value_at_risk",
    "tier",
    "key_account",
    "best_action",
    "best_expected_value",
    "top_reasons",
    "candidates",
];

/// Where scored rows go.
pub enum RowSink {
    /// CSV text.
    Csv(std::io::BufWriter<File>),
    /// Parquet, one row group per batch.
    Parquet(Box<ArrowWriter<File>>, Arc<Schema>),
}

impl RowSink {
    /// Creates `path` (Parquet for `.parquet`/`.pq`, otherwise CSV).
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        if is_parquet(path) {
            let text = |n: &str| Field::new(n, DataType::Utf8, false);
            let float = |n: &str| Field::new(n, DataType::Float64, false);
            let schema = Arc::new(Schema::new(vec![
                text("customer_id"),
                float("churn_probability"),
                float("realized_value"),
                float("potential_value"),
                float("influence_value"),
                float("total_value"),
                float("value_at_risk"),
                text("tier"),
                Field::new("key_account", DataType::Boolean, false),
                text("best_action"),
                float("best_expected_value"),
                text("top_reasons"),
                text("candidates"),
            ]));
            let writer = ArrowWriter::try_new(file, schema.clone(), None)?;
            return Ok(Self::Parquet(Box::new(writer), schema));
        }
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "{}", OUTPUT_COLUMNS.join(","))?;
        Ok(Self::Csv(w))
    }

    /// Appends scored rows.
    ///
    /// # Errors
    /// The write fails.
    pub fn write(&mut self, rows: &[ScoredRow]) -> anyhow::Result<()> {
        match self {
            Self::Csv(w) => {
                for r in rows {
                    let v = r.value;
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        csv_field(&r.customer_id),
                        r.churn_probability,
                        v.realized,
                        v.potential,
                        v.influence,
                        v.total,
                        v.value_at_risk,
                        r.tier,
                        r.key_account,
                        csv_field(&r.best_action),
                        r.best_expected_value,
                        csv_field(&r.top_reasons),
                        csv_field(&r.candidates)
                    )?;
                }
            }
            Self::Parquet(w, schema) => {
                if rows.is_empty() {
                    return Ok(());
                }
                let f = |g: fn(&ScoredRow) -> f64| {
                    Arc::new(Float64Array::from_iter_values(rows.iter().map(g))) as ArrayRef
                };
                let s = |g: fn(&ScoredRow) -> String| {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(g))) as ArrayRef
                };
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.customer_id.as_str()),
                    )),
                    f(|r| r.churn_probability),
                    f(|r| r.value.realized),
                    f(|r| r.value.potential),
                    f(|r| r.value.influence),
                    f(|r| r.value.total),
                    f(|r| r.value.value_at_risk),
                    s(|r| r.tier.to_string()),
                    Arc::new(BooleanArray::from(
                        rows.iter().map(|r| r.key_account).collect::<Vec<_>>(),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.best_action.as_str()),
                    )),
                    f(|r| r.best_expected_value),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.top_reasons.as_str()),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.candidates.as_str()),
                    )),
                ];
                w.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
            }
        }
        Ok(())
    }

    /// Flushes and closes the file.
    ///
    /// # Errors
    /// The final write fails.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Csv(mut w) => w.flush()?,
            Self::Parquet(w, _) => {
                w.close()?;
            }
        }
        Ok(())
    }
}

/// Writes a CSV file of customers (as `bankscore generate` makes) as Parquet with typed columns:
/// counts as UInt32, flags as Boolean, amounts as Float64, text as Utf8.
///
/// # Errors
/// The files cannot be read or written, or a value does not fit its column's type.
pub fn csv_to_parquet(input: &Path, output: &Path) -> anyhow::Result<u64> {
    use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt32Builder};
    let mut reader =
        csv::Reader::from_path(input).with_context(|| format!("reading {}", input.display()))?;
    let headers = reader.headers()?.clone();
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
            None if h == "customer_id" => Col::Text(StringBuilder::new()),
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
    let mut writer = ArrowWriter::try_new(File::create(output)?, schema.clone(), None)?;
    let mut record = csv::StringRecord::new();
    let (mut rows, mut in_batch) = (0u64, 0usize);
    let flush = |cols: &mut Vec<Col>, writer: &mut ArrowWriter<File>| -> anyhow::Result<()> {
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
        writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        Ok(())
    };
    while reader.read_record(&mut record)? {
        rows += 1;
        for (c, raw) in cols.iter_mut().zip(record.iter()) {
            let bad = || anyhow::anyhow!("row {rows}: `{raw}` does not fit its column");
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
    writer.close()?;
    Ok(rows)
}
