//! `bankscore replay`: re-score audit records with their recorded model versions.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct ReplayArgs {
    /// Audit files (JSON Lines), e.g. the rotated files then the live one.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Models directory holding the recorded <name>/<version>/ bundles.
    #[command(flatten)]
    models: super::ModelsDir,
    #[command(flatten)]
    output: super::JsonFlag,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let report = bankscore::audit::replay_files(&args.files, &args.models.models_dir)?;
    super::print_report(&report, args.output.json)?;
    anyhow::ensure!(
        report.is_clean(),
        "{} records differ and {} could not be replayed",
        report.differing.len(),
        report.unreplayable.len()
    );
    Ok(())
}
