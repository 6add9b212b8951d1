//! `bankscore score`: score a file of customers offline on all cores.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use bankscore::batch::score_file::{score_file, ScoreReport};
use bankscore::model_store::{load_bundle, ModelStore};

#[derive(Args)]
pub struct ScoreArgs {
    /// Input CSV or Parquet (.parquet): customer_id, the CustomerProfile fields, extra.<name> columns.
    #[arg(long)]
    input: PathBuf,
    /// Output CSV, or Parquet for a .parquet name.
    #[arg(long)]
    out: PathBuf,
    /// Rejected rows (line or row number, customer_id, field, reason); default: <out>.rejects.csv.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// The bundle to score with, models/<name>/<version>; default: the champion of --models-dir.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Models directory (for the champion).
    #[command(flatten)]
    models: super::ModelsDir,
    /// Scoring threads; default: one per core.
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    output: super::JsonFlag,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let model = match &args.bundle {
        Some(dir) => Arc::new(load_bundle(dir)?),
        None => {
            let (store, _) = ModelStore::open(&args.models.models_dir, None)?;
            store.current().champion().clone()
        }
    };
    let rejects = args
        .rejects
        .unwrap_or_else(|| args.out.with_extension("rejects.csv"));
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let started = std::time::Instant::now();
    let summary = score_file(&model, &args.input, &args.out, &rejects, threads)?;
    let report = ScoreReport {
        summary: &summary,
        model: &model.id,
        out: &args.out,
        rejects: &rejects,
        seconds: started.elapsed().as_secs_f64(),
    };
    super::print_report(&report, args.output.json)
}
