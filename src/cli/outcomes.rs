//! `bankscore outcomes`: a planned campaign's or real-time decisions' lift against their control
//! group, and the campaign history for the next `train-uplift`.

use std::path::PathBuf;

use clap::Args;

use bankscore::audit::HashKey;
use bankscore::batch::outcomes::{self, AuditOutcomesFiles, OutcomesFiles};

#[derive(Args)]
pub struct OutcomesArgs {
    /// Plan CSV from `bankscore plan` (the decisions the campaign carried out).
    #[arg(long, required_unless_present = "audit", requires = "outcomes")]
    decisions: Option<PathBuf>,
    /// With --decisions: observed outcomes CSV, customer_id,churned (0/1 or true/false).
    #[arg(long, requires = "decisions")]
    outcomes: Option<PathBuf>,
    /// With --decisions: customers CSV the campaign was scored from (required with --history).
    #[arg(long, requires = "decisions")]
    customers: Option<PathBuf>,
    /// Audit log files (rotated files first, then the live one): real-time decisions, the last
    /// decision record of each customer measured.
    #[arg(long, num_args = 1.., conflicts_with = "decisions", requires = "observed")]
    audit: Vec<PathBuf>,
    /// With --audit: the outcomes log ReportOutcomes writes (JSON Lines), or a CSV
    /// customer_id,churned whose ids are hashed with BANKSCORE_AUDIT_HASH_KEY.
    #[arg(long, requires = "audit")]
    observed: Option<PathBuf>,
    /// With --audit: models directory holding the recorded <name>/<version>/ bundles, for the
    /// actions' costs.
    #[command(flatten)]
    models: super::ModelsDir,
    /// Campaign name for the report [default: the plan file's or first audit file's name].
    #[arg(long)]
    campaign: Option<String>,
    /// With --audit: measure only the outcomes reported with this campaign_id (and those
    /// reported without one); the others are left out and counted in the report.
    #[arg(long, requires = "audit")]
    campaign_id: Option<String>,
    /// Markdown report to write.
    #[arg(long)]
    report: PathBuf,
    /// Self-contained HTML report to write, with a chart.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Campaign history CSV to write, for `bankscore train-uplift --history`.
    #[arg(long)]
    history: Option<PathBuf>,
    #[command(flatten)]
    output: super::JsonFlag,
}

pub fn run(args: OutcomesArgs) -> anyhow::Result<()> {
    let run = match (args.decisions, args.outcomes, args.observed) {
        (Some(decisions), Some(outcomes), _) => outcomes::run(&OutcomesFiles {
            decisions,
            outcomes,
            customers: args.customers,
            campaign: args.campaign,
            report: args.report.clone(),
            html: args.html.clone(),
            history: args.history.clone(),
        })?,
        (_, _, Some(observed)) => outcomes::run_audit(&AuditOutcomesFiles {
            audit: args.audit,
            observed,
            models_dir: args.models.models_dir,
            hash_key: std::env::var("BANKSCORE_AUDIT_HASH_KEY")
                .ok()
                .map(HashKey::new),
            campaign: args.campaign,
            campaign_id: args.campaign_id,
            report: args.report.clone(),
            html: args.html.clone(),
            history: args.history.clone(),
        })?,
        _ => anyhow::bail!("give --decisions with --outcomes, or --audit with --observed"),
    };
    if args.output.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(());
    }
    print!("{}", run.measured);
    println!("report → {}", args.report.display());
    if let Some(html) = args.html {
        println!("html → {}", html.display());
    }
    if let (Some(history), Some(rows)) = (args.history, run.history_rows) {
        println!("history: {rows} rows → {}", history.display());
    }
    Ok(())
}
