//! `bankscore plan`: a budgeted campaign from the output of `bankscore score`.

use std::path::PathBuf;

use clap::Args;

use bankscore::batch::plan_file::{plan_csv, CampaignFile, PlanReport};

#[derive(Args)]
pub struct PlanArgs {
    /// Scored file from `bankscore score`: CSV, or Parquet for a .parquet name.
    #[arg(long)]
    scored: PathBuf,
    /// Plan CSV to write.
    #[arg(long)]
    out: PathBuf,
    /// Total budget.
    #[arg(long, allow_negative_numbers = true)]
    budget: f64,
    /// Per-action capacity, e.g. rm_call=5000 (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse_capacity)]
    capacity: Vec<(String, u64)>,
    /// Campaign id: with the customer id, decides the control group.
    #[arg(long, default_value = "")]
    campaign_id: String,
    /// Share of customers held out as a control group (needs --campaign-id).
    #[arg(long, default_value_t = 0.0)]
    control_share: f64,
    #[command(flatten)]
    output: super::JsonFlag,
}

fn parse_capacity(s: &str) -> Result<(String, u64), String> {
    let (action, n) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not action=count"))?;
    let n = n
        .parse()
        .map_err(|_| format!("`{n}` in `{s}` is not a whole number"))?;
    Ok((action.to_owned(), n))
}

pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let campaign = plan_csv(
        &args.scored,
        &CampaignFile {
            campaign_id: args.campaign_id,
            budget: args.budget,
            capacity: args.capacity,
            control_share: args.control_share,
        },
        &args.out,
    )?;
    let report = PlanReport {
        campaign: &campaign,
        budget: args.budget,
        out: &args.out,
        seconds: started.elapsed().as_secs_f64(),
    };
    super::print_report(&report, args.output.json)
}
