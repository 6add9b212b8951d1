//! `bankscore uplift`: each customer's learned uplift per action under a bundle.

use std::path::PathBuf;

use clap::Args;

use bankscore::batch::uplift_file::write_uplift;

#[derive(Args)]
pub struct UpliftArgs {
    /// A bundle with learned uplift, models/<name>/<version>.
    #[arg(long)]
    bundle: PathBuf,
    /// Customers CSV or Parquet (the columns of a training or scoring file).
    #[arg(long)]
    input: PathBuf,
    /// CSV to write: customer_id, p_control, then p.<action> and tau.<action> per learned action.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    output: super::JsonFlag,
}

pub fn run(args: UpliftArgs) -> anyhow::Result<()> {
    let written = write_uplift(&args.bundle, &args.input, &args.out)?;
    super::print_report(&written, args.output.json)
}
