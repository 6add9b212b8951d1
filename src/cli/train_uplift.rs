//! `bankscore train-uplift`: learn each action's uplift from campaign history into a new bundle
//! version.

use std::path::PathBuf;

use clap::Args;

use bankscore::training::uplift::{train_uplift, HistoryColumns, UpliftSettings};
use bankscore::training::UpliftReport;

#[derive(Args)]
pub struct TrainUpliftArgs {
    /// The bundle to extend, models/<name>/<version>: its features, catalog and policy are kept.
    #[arg(long)]
    bundle: PathBuf,
    /// Campaign history, CSV or Parquet: the customer columns of the training data, `action` (a catalog
    /// action id, or `control`) and `churned` (0/1 within the model's horizon).
    #[arg(long)]
    history: PathBuf,
    /// Campaign history to evaluate on, with the same columns (e.g. a later campaign); every row
    /// of --history is then fitted. Default: hold out --validation-share of each arm.
    #[arg(long)]
    validation_history: Option<PathBuf>,
    /// New bundle directory, models/<name>/<version>.
    #[arg(long)]
    out: PathBuf,
    /// An arm needs this many churners and as many stayers among its training rows; an action
    /// below it keeps its catalog prior (and is marked so), a control group below it is an error.
    #[arg(long, default_value_t = 50)]
    min_churners: u64,
    /// Share of each arm held out for the evaluation (Qini, AUUC, uplift by decile) when there is
    /// no --validation-history.
    #[arg(long, default_value_t = 0.3)]
    validation_share: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// L2 strength of every fit (scikit-learn `C = 1 / l2`).
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// The history's column naming each customer's arm (a catalog action id, or the control value).
    #[arg(long, default_value = "action")]
    action_column: String,
    /// The value of the arm column for the control group.
    #[arg(long, default_value = "control")]
    control_value: String,
    /// The history's outcome column (0/1 or true/false).
    #[arg(long, default_value = "churned")]
    outcome_column: String,
    /// The outcome's 1 means the customer stayed (a visit, a conversion) rather than left; it is
    /// inverted so uplift stays the reduction in leaving.
    #[arg(long)]
    outcome_means_stayed: bool,
    #[command(flatten)]
    output: super::JsonFlag,
}

impl TrainUpliftArgs {
    fn settings(self) -> anyhow::Result<UpliftSettings> {
        let mut s = UpliftSettings::new(self.bundle, self.history, self.out);
        s.validation_history = self.validation_history;
        s.min_churners = self.min_churners;
        s.validation_share = self.validation_share;
        s.seed = self.seed;
        s.l2 = self.l2;
        s.columns = HistoryColumns {
            action: self.action_column,
            control: self.control_value,
            outcome: self.outcome_column,
            outcome_means_stayed: self.outcome_means_stayed,
        };
        if let Some(at) = super::source_date()? {
            s.trained_at = at;
        }
        Ok(s)
    }
}

pub fn run(args: TrainUpliftArgs) -> anyhow::Result<()> {
    let json = args.output.json;
    let settings = args.settings()?;
    let file = train_uplift(&settings)?;
    let report = UpliftReport {
        out: &settings.out,
        file: &file,
    };
    super::print_report(&report, json)
}
