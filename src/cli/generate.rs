//! `bankscore generate`: seeded synthetic customers, or a campaign history with a known uplift.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use bankscore::batch::file_format;
use bankscore::training::{campaign_history, synthetic};

#[derive(Args)]
pub struct GenerateArgs {
    /// Customers to generate.
    #[arg(long, default_value_t = 200_000)]
    rows: u64,
    /// Seed: the same seed gives the same customers.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output CSV, or Parquet for a .parquet name.
    #[arg(long)]
    out: PathBuf,
    /// Write a campaign history instead: each customer in the control group or given one catalog
    /// action at random, with the outcome and every action's true uplift as side columns.
    #[arg(long)]
    campaign_history: bool,
    /// Share of a campaign history's customers in the control group, in (0, 1).
    #[arg(
        long,
        default_value_t = campaign_history::DEFAULT_CONTROL_SHARE,
        requires = "campaign_history",
        value_parser = parse_control_share
    )]
    control_share: f64,
}

fn parse_control_share(s: &str) -> Result<f64, String> {
    let share = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number in (0, 1)"))?;
    campaign_history::check_control_share(share).map_err(|e| e.to_string())
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    // Parquet is written from a CSV beside it.
    let parquet = file_format::is_parquet(&args.out);
    let csv_path = if parquet {
        args.out.with_extension("csv.tmp")
    } else {
        args.out.clone()
    };
    let file = std::fs::File::create(&csv_path)
        .with_context(|| format!("creating {}", csv_path.display()))?;
    if args.campaign_history {
        campaign_history::write_campaign_history_csv(
            file,
            args.rows,
            args.seed,
            args.control_share,
        )?;
    } else {
        synthetic::write_csv(file, args.rows, args.seed)?;
    }
    if parquet {
        file_format::csv_to_parquet(&csv_path, &args.out)?;
        std::fs::remove_file(&csv_path)?;
    }
    eprintln!("wrote {} customers to {}", args.rows, args.out.display());
    Ok(())
}
