//! `bankscore score`: scores a CSV or Parquet file of customers offline on all cores with the
//! server's core and validation, writing one output row per customer (CSV or Parquet) and a
//! rejects file for bad rows.
//!
//! Steps per batch of rows: read into Arrow columns (one thread) → validate column by column with
//! the API's field rules and score (one of `threads` scoring threads, each taking whole batches)
//! → write in input order (one thread).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::read::{ProfileColumns, RowProblem, RowSource, Rows, BLOCK_ROWS};
use super::text::csv_field;
use super::write::{render_csv, Output, RowSink, ScoredColumns, REASONS};
use super::FileError;
use crate::domain::{AssessOptions, BlockScratch, CustomerProfile, ValueTier};
use crate::model_store::LoadedModel;
use crate::progress::Progress;

/// What a scoring run produced.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScoreSummary {
    /// Customers scored.
    pub scored: u64,
    /// Rows rejected (see the rejects file).
    pub rejected: u64,
    /// Customers per tier.
    pub tiers: BTreeMap<String, u64>,
    /// Customers per churn-probability band of 10 points (index 0 = [0, 0.1)).
    pub churn_bands: [u64; 10],
    /// Customers per chosen action (`no_action` included).
    pub actions: BTreeMap<String, u64>,
    /// Sum of the chosen actions' expected values.
    pub total_expected_value: f64,
}

/// A finished scoring run, as `bankscore score` reports it (`Display`, or JSON with serde).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ScoreReport<'a> {
    /// What the run produced.
    pub summary: &'a ScoreSummary,
    /// The model it scored with.
    pub model: &'a crate::model_store::ModelId,
    /// The scored file.
    pub out: &'a Path,
    /// The rejects file.
    pub rejects: &'a Path,
    /// Seconds the run took.
    pub seconds: f64,
}

impl std::fmt::Display for ScoreReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.summary;
        let joined = |counts: &BTreeMap<String, u64>| {
            counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "scored {} customers with {} version {} in {:.2} s ({:.0}/s) → {}",
            s.scored,
            self.model.name,
            self.model.version,
            self.seconds,
            (s.scored + s.rejected) as f64 / self.seconds,
            self.out.display()
        )?;
        writeln!(
            f,
            "rejected {} rows → {}",
            s.rejected,
            self.rejects.display()
        )?;
        writeln!(f, "customers per tier: {}", joined(&s.tiers))?;
        writeln!(f, "churn probability:")?;
        for (band, n) in s.churn_bands.iter().enumerate() {
            writeln!(f, "  {:>3}–{:>3}%: {n}", band * 10, band * 10 + 10)?;
        }
        writeln!(f, "best action: {}", joined(&s.actions))?;
        writeln!(
            f,
            "total expected value of the best actions: {:.2}",
            s.total_expected_value
        )
    }
}

/// A row that could not be scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The row's line (CSV) or row number (Parquet).
    pub position: u64,
    /// Customer id as given.
    pub customer_id: String,
    /// The offending field.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// A scored batch: its customers' output columns and its rejects.
struct Chunk {
    scored: ScoredColumns,
    table: arrow_array::RecordBatch,
    /// The table as CSV text, when the output is CSV (rendered by the scoring thread).
    text: Option<Vec<u8>>,
    /// Share of the input read once the chunk's batch was.
    read_fraction: f64,
    rejects: Vec<Reject>,
}

/// Scores `input` into `output` (formats from the extensions: `.parquet` or CSV), bad rows into
/// `rejects` (CSV), on `threads` threads.
///
/// # Errors
/// A file cannot be read or written, or the input has no `customer_id` column.
pub fn score_file(
    model: &LoadedModel,
    input: &Path,
    output: &Path,
    rejects: &Path,
    threads: usize,
) -> Result<ScoreSummary, FileError> {
    keep_freed_memory();
    let mut source = RowSource::open(input)?;
    let out = Output::new(&model.scoring, source.id_type())?;
    let mut sink = RowSink::create(output, &out)?;
    let render_text = sink.takes_text();
    let rejects_file =
        std::fs::File::create(rejects).map_err(FileError::io("creating", rejects))?;
    let mut rej = std::io::BufWriter::new(rejects_file);
    writeln!(rej, "position,customer_id,field,reason")
        .map_err(FileError::io("writing", rejects))?;
    let out = &out;
    // Reading runs one batch ahead of scoring and writing one behind it, so the three overlap.
    // Each scoring thread takes whole batches as they come (no per-batch join holding a core
    // idle); the reader runs ahead and the writer puts the batches back in input order.
    let threads = threads.max(1);
    std::thread::scope(|s| {
        let (batches_tx, batches_rx) = std::sync::mpsc::sync_channel::<(u64, Rows)>(threads);
        let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel::<(u64, Chunk)>(threads);
        let reader = s.spawn(move || -> Result<(), FileError> {
            let mut seq = 0;
            while let Some(rows) = source.next_batch()? {
                if batches_tx.send((seq, rows)).is_err() {
                    break; // scoring or writing failed; its error is reported
                }
                seq += 1;
            }
            Ok(())
        });
        let writer = s.spawn(move || -> Result<ScoreSummary, FileError> {
            let mut summary = ScoreSummary::default();
            let mut progress = Progress::new("scoring", "rows");
            let mut waiting = std::collections::BTreeMap::new();
            let mut next = 0u64;
            for (seq, chunk) in chunks_rx {
                waiting.insert(seq, chunk);
                while let Some(chunk) = waiting.remove(&next) {
                    summary
                        .record(&chunk, out, &mut rej)
                        .map_err(FileError::io("writing", rejects))?;
                    match &chunk.text {
                        Some(text) => sink.write_rendered(text)?,
                        None => sink.write(&chunk.table)?,
                    }
                    next += 1;
                    let done = summary.scored + summary.rejected;
                    progress.update(done, Some(chunk.read_fraction));
                }
            }
            progress.finish(summary.scored + summary.rejected);
            sink.finish()?;
            rej.flush().map_err(FileError::io("writing", rejects))?;
            Ok(summary)
        });
        let batches = std::sync::Arc::new(std::sync::Mutex::new(batches_rx));
        let scorers: Vec<_> = (0..threads)
            .map(|_| {
                let (batches, chunks_tx) = (batches.clone(), chunks_tx.clone());
                s.spawn(move || -> Result<(), FileError> {
                    loop {
                        let next = batches.lock().expect("a scoring thread panicked").recv();
                        let Ok((seq, rows)) = next else {
                            return Ok(());
                        };
                        let columns = ProfileColumns::new(&rows);
                        let mut chunk = score_file_batch(model, out, &rows, &columns)
                            .map_err(FileError::arrow(output))?;
                        if render_text {
                            let text = render_csv(&chunk.table)
                                .map_err(FileError::io("writing", output))?;
                            chunk.text = Some(text);
                        }
                        if chunks_tx.send((seq, chunk)).is_err() {
                            return Ok(()); // the writer failed; its error is reported
                        }
                    }
                })
            })
            .collect();
        // Once every scorer is done the batch channel closes, which stops the reader too.
        drop((chunks_tx, batches));
        let mut failed = Ok(());
        for scorer in scorers {
            let result = scorer.join().expect("a scoring thread panicked");
            if failed.is_ok() {
                failed = result;
            }
        }
        let summary = writer.join().expect("the writer thread panicked")?;
        reader.join().expect("the reader thread panicked")?;
        failed?;
        Ok(summary)
    })
}

/// Asks the allocator to keep freed batch buffers for reuse instead of returning them to the
/// system: every batch allocates the same large column buffers again, and fresh pages cost a
/// page fault each.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes glibc's allocator; it is called before the scoring threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

impl ScoreSummary {
    /// Adds a chunk's tallies and writes its rejects.
    fn record(
        &mut self,
        chunk: &Chunk,
        out: &Output,
        rejects: &mut impl Write,
    ) -> std::io::Result<()> {
        let c = &chunk.scored;
        self.scored += c.len() as u64;
        for (tier, n) in ValueTier::ALL.iter().zip(c.tiers) {
            if n > 0 {
                *self.tiers.entry(tier.to_string()).or_default() += n;
            }
        }
        for (code, &n) in c.actions.iter().enumerate() {
            if n > 0 {
                *self
                    .actions
                    .entry(out.action_name(code).to_owned())
                    .or_default() += n;
            }
        }
        for (band, n) in self.churn_bands.iter_mut().zip(c.churn_bands) {
            *band += n;
        }
        self.total_expected_value += c.total_expected_value;
        for r in &chunk.rejects {
            self.rejected += 1;
            writeln!(
                rejects,
                "{},{},{},{}",
                r.position,
                csv_field(&r.customer_id),
                csv_field(&r.field),
                csv_field(&r.reason)
            )?;
        }
        Ok(())
    }
}

/// Validates and scores one batch, a block of profiles at a time.
fn score_file_batch(
    model: &LoadedModel,
    out: &Output,
    rows: &Rows,
    columns: &ProfileColumns<'_>,
) -> Result<Chunk, arrow_schema::ArrowError> {
    let opts = AssessOptions {
        max_reasons: REASONS,
        include_ineligible: false,
    };
    let mut scored = ScoredColumns::with_capacity(rows.len(), out);
    let mut rejects = Vec::new();
    let mut profiles = vec![CustomerProfile::blank(); BLOCK_ROWS];
    let mut problems = vec![None; BLOCK_ROWS];
    let mut scratch = BlockScratch::default();
    for start in (0..rows.len()).step_by(BLOCK_ROWS) {
        let n = BLOCK_ROWS.min(rows.len() - start);
        columns.fill_block(start, &mut profiles[..n], &mut problems[..n]);
        let reject = |k: usize, (field, reason): RowProblem| Reject {
            position: rows.position(start + k),
            customer_id: columns.customer_id(start + k).to_owned(),
            field,
            reason,
        };
        let first_reject = rejects.len();
        model.scoring.assess_block(
            &profiles[..n],
            |k| problems[k].is_some(),
            opts,
            &mut scratch,
            |k, assessed| match assessed {
                Ok(a) => scored.push(start + k, &model.scoring, out, a),
                Err(e) => rejects.push(reject(
                    k,
                    (
                        format!("profile.extra_features[\"{}\"]", e.key),
                        "is required by the model".to_owned(),
                    ),
                )),
            },
        );
        for (k, problem) in problems[..n].iter_mut().enumerate() {
            if let Some(problem) = problem.take() {
                rejects.push(reject(k, problem));
            }
        }
        // Both kinds of rejects of the block in row order.
        rejects[first_reject..].sort_by_key(|r| r.position);
    }
    let table = scored.finish_table(out, rows.id_column())?;
    Ok(Chunk {
        scored,
        table,
        text: None,
        read_fraction: rows.read_fraction(),
        rejects,
    })
}
