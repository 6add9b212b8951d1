//! `bankscore evaluate-policy`: what a candidate bundle's policy would retain, estimated from
//! logged decisions with their outcomes.

use std::path::PathBuf;

use clap::Args;

use bankscore::batch::policy_eval::{self, PolicyEvalFiles};

#[derive(Args)]
pub struct EvaluatePolicyArgs {
    /// The candidate bundle, models/<name>/<version>.
    #[arg(long)]
    bundle: PathBuf,
    /// Decisions with outcomes: a campaign history CSV (customer columns, action, propensity,
    /// churned), as `generate --campaign-history` and `outcomes --history` write it.
    #[arg(long)]
    log: PathBuf,
    /// JSON file to write with every number.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Markdown report to write.
    #[arg(long)]
    report: Option<PathBuf>,
}

pub fn run(args: EvaluatePolicyArgs) -> anyhow::Result<()> {
    let evaluation = policy_eval::run(&PolicyEvalFiles {
        bundle: args.bundle,
        log: args.log,
        json: args.json.clone(),
        report: args.report.clone(),
    })?;
    print!("{evaluation}");
    for (what, path) in [("json", args.json), ("report", args.report)] {
        if let Some(path) = path {
            println!("{what} → {}", path.display());
        }
    }
    Ok(())
}
