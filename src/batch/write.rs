//! Writing scored customers to CSV or Parquet: the same typed columns in both formats, built
//! column by column while scoring (no per-row text except the candidate list).
//!
//! Why one file of this length: the CSV and the Parquet writer share the typed columns built once
//! per chunk; split, the two outputs could drift.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int16Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int8Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int8Array, RecordBatch,
    StringArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::file_format::is_parquet;
use super::parquet_out::ParquetSink;
use super::text::{csv_field, push_fixed4};
use super::FileError;
use crate::domain::{Assessment, ScoringModel, ValueTier};

/// Churn reasons written per customer (`reason_1` … with their contributions).
pub const REASONS: usize = 3;

/// The output columns, in order.
pub const OUTPUT_COLUMNS: [&str; 19] = [
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
    "reason_1",
    "reason_1_contribution",
    "reason_2",
    "reason_2_contribution",
    "reason_3",
    "reason_3_contribution",
    "candidates",
    "propensity",
];

/// The output table: its schema and the fixed dictionaries its coded columns point into.
pub struct Output {
    schema: Arc<Schema>,
    tiers: ArrayRef,
    actions: ArrayRef,
    features: ArrayRef,
    /// The action code of "no action" (after the catalog's actions).
    no_action: i16,
}

pub use crate::domain::actions::NO_ACTION;

impl Output {
    /// The layout for `model`, with customer ids of type `id_type` passed through unchanged.
    ///
    /// # Errors
    /// The catalog or the model has more than 32,767 actions or features.
    pub fn new(model: &ScoringModel, id_type: DataType) -> Result<Self, FileError> {
        let mut actions: Vec<&str> = model
            .actions
            .actions
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        actions.push(NO_ACTION);
        let features: Vec<&str> = model
            .churn
            .features()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        if actions.len() > i16::MAX as usize || features.len() > i16::MAX as usize {
            return Err(FileError::TooLarge {
                actions: actions.len(),
                features: features.len(),
            });
        }
        let code = |k: DataType| DataType::Dictionary(Box::new(k), Box::new(DataType::Utf8));
        let float = |n: &str| Field::new(n, DataType::Float64, false);
        let mut fields = vec![
            Field::new("customer_id", id_type, false),
            float("churn_probability"),
            float("realized_value"),
            float("potential_value"),
            float("influence_value"),
            float("total_value"),
            float("value_at_risk"),
            Field::new("tier", code(DataType::Int8), false),
            Field::new("key_account", DataType::Boolean, false),
            Field::new("best_action", code(DataType::Int16), false),
            float("best_expected_value"),
        ];
        for k in 1..=REASONS {
            fields.push(Field::new(
                format!("reason_{k}"),
                code(DataType::Int16),
                true,
            ));
            fields.push(Field::new(
                format!("reason_{k}_contribution"),
                DataType::Float64,
                true,
            ));
        }
        fields.push(Field::new("candidates", DataType::Utf8, false));
        fields.push(float("propensity"));
        debug_assert!(fields
            .iter()
            .map(Field::name)
            .eq(OUTPUT_COLUMNS.iter().copied()));
        let tiers: Vec<String> = ValueTier::ALL.iter().map(ToString::to_string).collect();
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            tiers: Arc::new(StringArray::from_iter_values(tiers)),
            no_action: (actions.len() - 1) as i16,
            actions: Arc::new(StringArray::from_iter_values(actions)),
            features: Arc::new(StringArray::from_iter_values(features)),
        })
    }

    /// The name of action code `code`.
    pub fn action_name(&self, code: usize) -> &str {
        self.actions.as_string::<i32>().value(code)
    }

    /// Action codes, "no action" last.
    pub fn action_count(&self) -> usize {
        self.actions.len()
    }
}

/// Scored customers of one chunk of input rows, column by column, with their tallies.
pub struct ScoredColumns {
    rows: Vec<u32>,
    churn: Vec<f64>,
    value: [Vec<f64>; 5],
    tier: Vec<i8>,
    key_account: Vec<bool>,
    best_action: Vec<i16>,
    best_ev: Vec<f64>,
    reason: [(Int16Builder, Float64Builder); REASONS],
    candidates: StringBuilder,
    propensity: Vec<f64>,
    scratch: String,
    /// Customers per tier, in [`ValueTier::ALL`] order.
    pub tiers: [u64; 4],
    /// Customers per best-action code ([`Output::action_name`]).
    pub actions: Vec<u64>,
    /// Customers per churn-probability band of 10 points.
    pub churn_bands: [u64; 10],
    /// Sum of the best actions' expected values.
    pub total_expected_value: f64,
}

impl ScoredColumns {
    /// Room for `n` customers.
    pub fn with_capacity(n: usize, out: &Output) -> Self {
        let f = || Vec::with_capacity(n);
        Self {
            rows: Vec::with_capacity(n),
            churn: f(),
            value: [f(), f(), f(), f(), f()],
            tier: Vec::with_capacity(n),
            key_account: Vec::with_capacity(n),
            best_action: Vec::with_capacity(n),
            best_ev: f(),
            reason: std::array::from_fn(|_| {
                (
                    Int16Builder::with_capacity(n),
                    Float64Builder::with_capacity(n),
                )
            }),
            candidates: StringBuilder::with_capacity(n, n),
            propensity: f(),
            scratch: String::new(),
            tiers: [0; 4],
            actions: vec![0; out.action_count()],
            churn_bands: [0; 10],
            total_expected_value: 0.0,
        }
    }

    /// Customers held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No customers held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds input row `row`'s assessment (its churn reasons at most [`REASONS`]).
    pub fn push(&mut self, row: usize, model: &ScoringModel, out: &Output, a: &Assessment) {
        self.rows.push(row as u32);
        let p = a.churn.probability;
        self.churn.push(p);
        let v = a.value;
        for (col, x) in self.value.iter_mut().zip([
            v.realized,
            v.potential,
            v.influence,
            v.total,
            v.value_at_risk,
        ]) {
            col.push(x);
        }
        self.tier.push(a.tier.tier.index() as i8);
        self.key_account.push(a.tier.key_account);
        let best = a.decision.best();
        let code = best.map_or(out.no_action, |o| o.action as i16);
        self.best_action.push(code);
        let ev = best.map_or(0.0, |o| o.expected_value);
        self.best_ev.push(ev);
        for (k, (feature, contribution)) in self.reason.iter_mut().enumerate() {
            match a.churn.reasons.get(k) {
                Some(r) => {
                    feature.append_value(r.feature as i16);
                    contribution.append_value(r.contribution);
                }
                None => {
                    feature.append_null();
                    contribution.append_null();
                }
            }
        }
        self.scratch.clear();
        for o in a.decision.ranked.iter().filter(|o| o.expected_value > 0.0) {
            let act = &model.actions.actions[o.action];
            if !self.scratch.is_empty() {
                self.scratch.push('|');
            }
            self.scratch.push_str(&act.id);
            self.scratch.push(':');
            push_fixed4(&mut self.scratch, o.expected_value, false);
            let _ = write!(self.scratch, ":{}", act.cost);
        }
        self.candidates.append_value(&self.scratch);
        self.propensity.push(a.decision.propensity);
        self.tiers[a.tier.tier.index()] += 1;
        self.actions[code as usize] += 1;
        self.churn_bands[((p * 10.0) as usize).min(9)] += 1;
        self.total_expected_value += ev;
    }

    /// The chunk as a record batch, customer ids taken from the input's `ids` column.
    /// The tallies stay; the columns are moved out.
    ///
    /// # Errors
    /// Arrow refuses the columns (a bug).
    pub fn finish_table(
        &mut self,
        out: &Output,
        ids: &ArrayRef,
    ) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let n = self.rows.len();
        let contiguous = self
            .rows
            .first()
            .is_some_and(|&f| self.rows.last() == Some(&(f + n as u32 - 1)));
        let ids = if contiguous {
            ids.slice(self.rows[0] as usize, n)
        } else {
            let rows = UInt32Array::from(self.rows.clone());
            arrow_select::take::take(ids.as_ref(), &rows, None)?
        };
        use std::mem::take;
        let float = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let [realized, potential, influence, total, at_risk] = take(&mut self.value);
        let mut columns: Vec<ArrayRef> = vec![
            ids,
            float(take(&mut self.churn)),
            float(realized),
            float(potential),
            float(influence),
            float(total),
            float(at_risk),
            Arc::new(DictionaryArray::<Int8Type>::try_new(
                Int8Array::from(take(&mut self.tier)),
                out.tiers.clone(),
            )?),
            Arc::new(BooleanArray::from(take(&mut self.key_account))),
            Arc::new(DictionaryArray::<Int16Type>::try_new(
                take(&mut self.best_action).into(),
                out.actions.clone(),
            )?),
            float(take(&mut self.best_ev)),
        ];
        for (feature, contribution) in &mut self.reason {
            columns.push(Arc::new(DictionaryArray::<Int16Type>::try_new(
                feature.finish(),
                out.features.clone(),
            )?));
            columns.push(Arc::new(contribution.finish()));
        }
        columns.push(Arc::new(self.candidates.finish()));
        columns.push(float(take(&mut self.propensity)));
        RecordBatch::try_new(out.schema.clone(), columns)
    }
}

/// Values the Parquet writer encodes per call (its default is 1,024): fewer, longer passes.
const WRITE_BATCH_ROWS: usize = 8_192;

/// Rows per Parquet row group. The writer holds a row group's encoded pages in memory until it
/// is complete: groups of a few batches are written out as scoring goes on, and their buffers
/// are reused by the next group instead of faulting in fresh pages for the whole file.
const ROW_GROUP_ROWS: usize = 131_072;

/// Where scored rows go.
pub struct RowSink {
    path: PathBuf,
    kind: Sink,
}

enum Sink {
    /// CSV text.
    Csv(std::io::BufWriter<File>),
    /// Parquet.
    Parquet(Box<ParquetSink>),
}

impl RowSink {
    /// Creates `path` (Parquet for `.parquet`/`.pq`, otherwise CSV) for `out`'s columns.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path, out: &Output) -> Result<Self, FileError> {
        let file = File::create(path).map_err(FileError::io("creating", path))?;
        let sink = |kind| Self {
            path: path.to_owned(),
            kind,
        };
        if is_parquet(path) {
            // A dictionary page pays only for the candidate lists (mostly empty); amounts and ids
            // are nearly unique, and the coded columns are written from their codes (see
            // `parquet_out`). The text columns carry no min/max statistics: computing them
            // compares every value as text and no reader prunes on them.
            let candidates = ColumnPath::from("candidates");
            let props = WriterProperties::builder()
                .set_dictionary_enabled(false)
                .set_write_batch_size(WRITE_BATCH_ROWS)
                .set_column_dictionary_enabled(candidates.clone(), true)
                .set_column_statistics_enabled(candidates, EnabledStatistics::None)
                .build();
            let parquet = ParquetSink::new(file, out.schema.clone(), props, ROW_GROUP_ROWS)
                .map_err(FileError::parquet(path))?;
            return Ok(sink(Sink::Parquet(Box::new(parquet))));
        }
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "{}", OUTPUT_COLUMNS.join(",")).map_err(FileError::io("writing", path))?;
        Ok(sink(Sink::Csv(w)))
    }

    /// Appends a batch of scored customers.
    ///
    /// # Errors
    /// The write fails.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), FileError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let path = &self.path;
        match &mut self.kind {
            Sink::Csv(w) => write_csv(w, batch).map_err(FileError::io("writing", path)),
            Sink::Parquet(w) => w.write(batch).map_err(FileError::parquet(path)),
        }
    }

    /// Whether the sink takes CSV text rendered ahead by [`render_csv`] (see
    /// [`RowSink::write_rendered`]) rather than batches.
    pub fn takes_text(&self) -> bool {
        matches!(self.kind, Sink::Csv(_))
    }

    /// Appends CSV rows rendered by [`render_csv`] (a CSV sink; others ignore them).
    ///
    /// # Errors
    /// The write fails.
    pub fn write_rendered(&mut self, text: &[u8]) -> Result<(), FileError> {
        if let Sink::Csv(w) = &mut self.kind {
            w.write_all(text)
                .map_err(FileError::io("writing", &self.path))?;
        }
        Ok(())
    }

    /// Flushes and closes the file.
    ///
    /// # Errors
    /// The final write fails.
    pub fn finish(self) -> Result<(), FileError> {
        let path = &self.path;
        match self.kind {
            Sink::Csv(mut w) => w.flush().map_err(FileError::io("writing", path)),
            Sink::Parquet(w) => w.finish().map_err(FileError::parquet(path)),
        }
    }
}

/// `batch` as CSV rows, to be written by [`RowSink::write_rendered`]: rendering is most of
/// writing CSV, so scoring threads do it in parallel and the writer only copies bytes.
///
/// # Errors
/// Never in practice (writing to memory).
pub fn render_csv(batch: &RecordBatch) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::with_capacity(batch.num_rows() * 160);
    write_csv(&mut text, batch)?;
    Ok(text)
}

/// Writes `batch` as CSV rows: text quoted when needed, coded columns by name, nulls empty.
fn write_csv(w: &mut impl Write, batch: &RecordBatch) -> std::io::Result<()> {
    enum Cell<'a> {
        Text(Box<dyn Fn(usize) -> &'a str + 'a>),
        Float(&'a Float64Array),
        Flag(&'a BooleanArray),
    }
    let cells: Vec<Cell> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Float64 => Cell::Float(c.as_primitive()),
            DataType::Boolean => Cell::Flag(c.as_boolean()),
            DataType::Dictionary(k, _) if **k == DataType::Int8 => {
                let d = c.as_dictionary::<Int8Type>();
                let names = d.values().as_string::<i32>();
                Cell::Text(Box::new(move |i| {
                    if d.is_null(i) {
                        ""
                    } else {
                        names.value(d.keys().value(i) as usize)
                    }
                }))
            }
            DataType::Dictionary(..) => {
                let d = c.as_dictionary::<Int16Type>();
                let names = d.values().as_string::<i32>();
                Cell::Text(Box::new(move |i| {
                    if d.is_null(i) {
                        ""
                    } else {
                        names.value(d.keys().value(i) as usize)
                    }
                }))
            }
            DataType::LargeUtf8 => {
                let s = c.as_string::<i64>();
                Cell::Text(Box::new(move |i| s.value(i)))
            }
            DataType::Utf8View => {
                let s = c.as_string_view();
                Cell::Text(Box::new(move |i| s.value(i)))
            }
            _ => {
                let s = c.as_string::<i32>();
                Cell::Text(Box::new(move |i| s.value(i)))
            }
        })
        .collect();
    let mut line = String::with_capacity(256);
    for i in 0..batch.num_rows() {
        line.clear();
        for (k, cell) in cells.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            match cell {
                Cell::Text(get) => line.push_str(&csv_field(get(i))),
                Cell::Float(a) if a.is_null(i) => {}
                Cell::Float(a) => {
                    let _ = write!(line, "{}", a.value(i));
                }
                Cell::Flag(a) => line.push_str(if a.value(i) { "true" } else { "false" }),
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}
