//! The `bankscore` command: parse arguments, set up telemetry, call the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use bankscore::model_store::{load_bundle, Deployment, ModelStore};
use bankscore::settings::{Settings, SettingsBuilder};
use bankscore::telemetry::LogFormat;
use bankscore::training::{self, campaign_history, TrainSettings};

/// Customer value tiers, churn probability and next best retention action, over gRPC.
#[derive(Parser)]
#[command(name = "bankscore", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr [default: text, or BANKSCORE_LOG_FORMAT, or serve's log.format].
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the scoring API on the models directory.
    Serve(ServeArgs),
    /// Write a CSV of seeded synthetic bank customers with a churn label, or with
    /// --campaign-history a campaign history with a known uplift per action.
    Generate(GenerateArgs),
    /// Fit a churn model on a labelled CSV and write a model bundle.
    Train(TrainArgs),
    /// Learn each retention action's uplift from campaign history and write a new bundle version
    /// with uplift/ models (a T-learner: the control group's churn model and one per action).
    TrainUplift(TrainUpliftArgs),
    /// Write each customer's learned uplift per action under a bundle's uplift/ models
    /// (p_control, p.<action>, tau.<action>), to check them against another implementation.
    Uplift(UpliftArgs),
    /// Check a model bundle as the server does before serving it.
    Validate {
        /// The bundle directory, models/<name>/<version>.
        bundle: PathBuf,
    },
    /// Rewrite a bundle's checksums.sha256 over its files as they are now, after a deliberate
    /// edit (e.g. of actions.toml in a new version directory); then run validate.
    Reseal {
        /// The bundle directory, models/<name>/<version>.
        bundle: PathBuf,
    },
    /// Score a CSV of customers offline on all cores (same core and checks as the server).
    Score(ScoreArgs),
    /// Plan a retention campaign within a budget from the output of `score`.
    Plan(PlanArgs),
    /// Measure what a planned campaign (--decisions) or real-time decisions (--audit) did
    /// against their control group, from observed churn.
    Outcomes(OutcomesArgs),
    /// Estimate what a candidate bundle's retention policy would keep, from decisions logged
    /// under the current policy with their outcomes (IPS, self-normalized IPS, doubly robust).
    EvaluatePolicy(EvaluatePolicyArgs),
    /// Declare the champion and challenger versions (writes models/<name>/deployment.toml).
    Deploy(DeployArgs),
    /// Show a running server's model versions, shadow comparison and last reload.
    Models {
        /// Server address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        target: String,
        /// Reload the models directory first (as a file change or SIGHUP would).
        #[arg(long)]
        reload: bool,
        #[command(flatten)]
        connect: bankscore::connect::ConnectFlags,
    },
    /// Call one RPC on a running server with a customer profile from a JSON file.
    Call(CallArgs),
    /// Drive the unary Score RPC at a fixed concurrency and report throughput and latency.
    Loadgen(LoadgenArgs),
    /// Stream synthetic customers through ScoreStream and report customers per second.
    Streamgen(StreamgenArgs),
    /// Re-score audit log records with their recorded model versions and report differences.
    Replay(ReplayArgs),
    /// Make a new bearer token and print it with the `[[auth.tokens]]` entry that accepts it.
    Token(TokenArgs),
}

#[derive(Args)]
struct TokenArgs {
    /// Who will hold the token (shown in logs when a call is refused).
    #[arg(long)]
    name: String,
    /// What it may do: scorer, admin (repeat for both).
    #[arg(long = "role", required = true, value_parser = parse_role)]
    roles: Vec<bankscore::service::auth::Role>,
}

fn parse_role(s: &str) -> Result<bankscore::service::auth::Role, String> {
    toml::Value::String(s.to_owned())
        .try_into()
        .map_err(|_| format!("`{s}` is not a role: scorer or admin"))
}

#[derive(Args)]
struct ReplayArgs {
    /// Audit files (JSON Lines), e.g. the rotated files then the live one.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Models directory holding the recorded <name>/<version>/ bundles.
    #[arg(long, env = "BANKSCORE_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
}

/// `serve` flags: each overrides the same setting from `--config` and `BANKSCORE_*` variables.
#[derive(Args)]
struct ServeArgs {
    /// TOML settings file (see examples/production.toml); settings not in it keep their defaults.
    #[arg(long, env = "BANKSCORE_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective settings (secrets masked) and exit.
    #[arg(long)]
    print_config: bool,
    /// server.listen: address to listen on [default: 127.0.0.1:50051].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// models.dir: models directory, holding <name>/<version>/ bundles [default: models].
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// models.name: model to serve; needed only when the directory holds several.
    #[arg(long)]
    model: Option<String>,
    /// server.worker_threads: runtime worker threads [default: one per CPU core].
    #[arg(long)]
    worker_threads: Option<usize>,
    /// bulk.threads: low-priority threads for ScoreStream and PlanCampaign [default: one per core].
    #[arg(long)]
    bulk_threads: Option<usize>,
    /// bulk.max_streams: bulk streams allowed at once [default: 4].
    #[arg(long)]
    max_bulk_streams: Option<usize>,
    /// models.watch_poll: how often to look for changes in the models directory; 0s turns
    /// watching off [default: 1s].
    #[arg(long)]
    watch_poll: Option<String>,
    /// models.watch_debounce: a change must be stable this long before it is loaded [default: 2s].
    #[arg(long)]
    watch_debounce: Option<String>,
    /// audit.path: record every decision in this JSON Lines file before replying (the hash key
    /// comes from BANKSCORE_AUDIT_HASH_KEY or the config file) [default: no audit log].
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// audit.max_file_bytes: size at which the audit file is renamed aside [default: 256 MiB].
    #[arg(long)]
    audit_max_bytes: Option<u64>,
    /// audit.fsync: fdatasync the audit file before acknowledging each group of decisions.
    #[arg(long)]
    audit_fsync: bool,
    /// outcomes.path: record the outcomes reported by ReportOutcomes in this JSON Lines file,
    /// customer ids hashed with audit.hash_key [default: off, the RPC answers
    /// FAILED_PRECONDITION].
    #[arg(long)]
    outcomes_log: Option<PathBuf>,
    /// metrics.listen: serve Prometheus metrics at GET /metrics on this address [default: off].
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// auth.enabled = false: accept calls without a token (logged as a warning; for trials on
    /// one machine, never in production).
    #[arg(long)]
    no_auth: bool,
}

impl ServeArgs {
    /// Defaults, then the config file, then the environment, then these flags.
    fn settings(&self, log_format: Option<LogFormat>) -> anyhow::Result<Settings> {
        let mut b = SettingsBuilder::new();
        if let Some(path) = &self.config {
            b = b.file(path)?;
        }
        b = b.env(std::env::vars());
        let path = |p: &PathBuf| p.display().to_string();
        let flags: [(&str, &str, Option<toml::Value>); 14] = [
            (
                "server.listen",
                "--listen",
                self.listen.map(|a| a.to_string().into()),
            ),
            (
                "models.dir",
                "--models-dir",
                self.models_dir.as_ref().map(|p| path(p).into()),
            ),
            ("models.name", "--model", self.model.clone().map(Into::into)),
            (
                "server.worker_threads",
                "--worker-threads",
                self.worker_threads.map(|n| (n as i64).into()),
            ),
            (
                "bulk.threads",
                "--bulk-threads",
                self.bulk_threads.map(|n| (n as i64).into()),
            ),
            (
                "bulk.max_streams",
                "--max-bulk-streams",
                self.max_bulk_streams.map(|n| (n as i64).into()),
            ),
            (
                "models.watch_poll",
                "--watch-poll",
                self.watch_poll.clone().map(Into::into),
            ),
            (
                "models.watch_debounce",
                "--watch-debounce",
                self.watch_debounce.clone().map(Into::into),
            ),
            (
                "audit.path",
                "--audit-log",
                self.audit_log.as_ref().map(|p| path(p).into()),
            ),
            (
                "audit.max_file_bytes",
                "--audit-max-bytes",
                self.audit_max_bytes.map(|n| (n as i64).into()),
            ),
            (
                "audit.fsync",
                "--audit-fsync",
                self.audit_fsync.then_some(true.into()),
            ),
            (
                "outcomes.path",
                "--outcomes-log",
                self.outcomes_log.as_ref().map(|p| path(p).into()),
            ),
            (
                "metrics.listen",
                "--metrics-listen",
                self.metrics_listen.map(|a| a.to_string().into()),
            ),
            (
                "auth.enabled",
                "--no-auth",
                self.no_auth.then_some(false.into()),
            ),
        ];
        for (key, flag, value) in flags {
            if let Some(v) = value {
                b = b.flag(key, v, flag);
            }
        }
        if let Some(f) = log_format {
            b = b.flag("log.format", toml::Value::try_from(f)?, "--log-format");
        }
        Ok(b.build()?)
    }
}

#[derive(Args)]
struct DeployArgs {
    /// Models directory.
    #[arg(long, env = "BANKSCORE_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Model name (directory under the models directory).
    #[arg(long)]
    model: String,
    /// Version to make champion (live).
    #[arg(long)]
    champion: Option<String>,
    /// Version to score in shadow.
    #[arg(long, conflicts_with = "no_challenger")]
    challenger: Option<String>,
    /// Stop shadow scoring.
    #[arg(long)]
    no_challenger: bool,
}

#[derive(Args)]
struct GenerateArgs {
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

#[derive(Args)]
struct TrainUpliftArgs {
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
}

#[derive(Args)]
struct TrainArgs {
    /// Labelled training CSV.
    #[arg(long)]
    data: PathBuf,
    /// New bundle directory, models/<name>/<version>.
    #[arg(long)]
    out: PathBuf,
    /// Validation CSV with the same columns; default: hold out --validation-share of --data.
    #[arg(long)]
    validation_data: Option<PathBuf>,
    /// Label column (1/true = churned).
    #[arg(long, default_value = "churned")]
    label: String,
    /// Comma-separated identifier columns, never used as features.
    #[arg(long, value_delimiter = ',', default_value = "customer_id")]
    id_columns: Vec<String>,
    /// Comma-separated feature columns; default: every numeric column but the label and ids
    /// (text columns are left out and listed). Columns that are not CustomerProfile fields
    /// become extra features `extra.<column>`.
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// L2 regularization strength (scikit-learn C = 1 / l2).
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Class weighting: none, or balanced (churners replicated until both classes weigh the same).
    #[arg(long, value_enum, default_value = "none")]
    class_weight: training::ClassWeight,
    /// TOML file with a [tiers] table (a_min_value, b_min_value, key_account_min_value,
    /// sleeping_after_days) to use instead of cut-offs computed on the data.
    #[arg(long)]
    tier_policy: Option<PathBuf>,
    /// Golden examples stored in the bundle.
    #[arg(long, default_value_t = 20)]
    golden_examples: usize,
    /// Share of rows held out for validation.
    #[arg(long, default_value_t = 0.2)]
    validation_share: f64,
    /// Seed of the train/validation split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Action catalog TOML for the bundle; default: the built-in catalog.
    #[arg(long)]
    actions: Option<PathBuf>,
    /// Yearly discount rate for customer lifetime value.
    #[arg(long, default_value_t = 0.08)]
    discount_rate: f64,
    /// CLV horizon in years.
    #[arg(long, default_value_t = 5)]
    clv_horizon_years: u32,
    /// Value of one referral.
    #[arg(long, default_value_t = 150.0)]
    value_per_referral: f64,
    /// Yearly retention of a customer who stays, for value at risk (0 < r <= 1); default: the
    /// training population's, 1 − its churn rate per year.
    #[arg(long)]
    retained_customer_rate: Option<f64>,
    /// Days without own activity after which a customer is sleeping.
    #[arg(long, default_value_t = 180)]
    sleeping_after_days: u32,
}

#[derive(Args)]
struct CallArgs {
    /// The RPC to call.
    #[arg(value_enum)]
    rpc: bankscore::client::Rpc,
    /// Customer profile as JSON (see examples/customer.json).
    #[arg(long)]
    profile: PathBuf,
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Request id to send (echoed in the reply).
    #[arg(long, default_value = "")]
    request_id: String,
    /// Model version to use; default: the live one.
    #[arg(long, default_value = "")]
    model_version: String,
    /// Also list actions excluded by eligibility rules.
    #[arg(long)]
    include_ineligible: bool,
    /// Instead of calling, write the Score request as a gRPC frame to this file (for h2load).
    #[arg(long)]
    write_frame: Option<PathBuf>,
    #[command(flatten)]
    connect: bankscore::connect::ConnectFlags,
}

#[derive(Args)]
struct ScoreArgs {
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
    #[arg(long, env = "BANKSCORE_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Scoring threads; default: one per core.
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct PlanArgs {
    /// Scored CSV from `bankscore score`.
    #[arg(long)]
    scored: PathBuf,
    /// Plan CSV to write.
    #[arg(long)]
    out: PathBuf,
    /// Total budget.
    #[arg(long)]
    budget: f64,
    /// Per-action capacity, e.g. rm_call=5000 (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = parse_capacity)]
    capacity: Vec<(String, u64)>,
    /// Campaign id: with the customer id it decides the control group.
    #[arg(long, default_value = "")]
    campaign_id: String,
    /// Share of customers held out as a control group (needs --campaign-id).
    #[arg(long, default_value_t = 0.0)]
    control_share: f64,
}

#[derive(Args)]
struct OutcomesArgs {
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
    #[arg(long, env = "BANKSCORE_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
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
}

#[derive(Args)]
struct UpliftArgs {
    /// A bundle with learned uplift, models/<name>/<version>.
    #[arg(long)]
    bundle: PathBuf,
    /// Customers CSV or Parquet (the columns of a training or scoring file).
    #[arg(long)]
    input: PathBuf,
    /// CSV to write: customer_id, p_control, then p.<action> and tau.<action> per learned action.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct EvaluatePolicyArgs {
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

fn parse_capacity(s: &str) -> Result<(String, u64), String> {
    let (action, n) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not action=count"))?;
    let n = n
        .parse()
        .map_err(|_| format!("`{n}` in `{s}` is not a whole number"))?;
    Ok((action.to_owned(), n))
}

#[derive(Args)]
struct StreamgenArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Customers to send in total.
    #[arg(long, default_value_t = 2_000_000)]
    records: u64,
    /// Customers per chunk.
    #[arg(long, default_value_t = 2_000)]
    chunk: usize,
    /// Concurrent streams, each on its own connection.
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[command(flatten)]
    connect: bankscore::connect::ConnectFlags,
}

#[derive(Args)]
struct LoadgenArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// HTTP/2 connections.
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// Measured duration, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up, e.g. 2s.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Client runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[command(flatten)]
    connect: bankscore::connect::ConnectFlags,
}

/// Runs the command; an error reaches the user as one line (its causes joined with `: `),
/// whatever `RUST_BACKTRACE` says, and the exit status is 1.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Serve(args) = &cli.command {
        // The log format is a setting of its own: known once the settings are.
        let settings = args.settings(cli.log_format)?;
        if args.print_config {
            print!("{}", settings.to_masked_toml());
            return Ok(());
        }
        bankscore::telemetry::init_tracing_as("info", settings.log.format);
        return bankscore::service::app::run(&settings);
    }
    let log_format = cli.log_format.or_else(|| {
        let v = std::env::var("BANKSCORE_LOG_FORMAT").ok()?;
        <LogFormat as clap::ValueEnum>::from_str(&v, true).ok()
    });
    bankscore::telemetry::init_tracing_as("info", log_format.unwrap_or_default());
    match cli.command {
        Command::Serve(_) => unreachable!("handled above"),
        Command::Generate(args) => {
            let parquet = bankscore::batch::file_format::is_parquet(&args.out);
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
                training::synthetic::write_csv(file, args.rows, args.seed)?;
            }
            if parquet {
                bankscore::batch::file_format::csv_to_parquet(&csv_path, &args.out)?;
                std::fs::remove_file(&csv_path)?;
            }
            eprintln!("wrote {} customers to {}", args.rows, args.out.display());
            Ok(())
        }
        Command::Train(args) => train(args),
        Command::TrainUplift(args) => train_uplift(args),
        Command::Replay(args) => {
            let report = bankscore::audit::replay_files(&args.files, &args.models_dir)?;
            print!("{report}");
            anyhow::ensure!(
                report.is_clean(),
                "{} records differ and {} could not be replayed",
                report.differing.len(),
                report.unreplayable.len()
            );
            Ok(())
        }
        Command::Deploy(args) => deploy(args),
        Command::Token(args) => {
            let (token, entry) = bankscore::service::auth::new_token(&args.name, &args.roles);
            eprintln!("The token, for the caller only (bankscore keeps only its hash):");
            println!("{token}");
            eprintln!("\nAdd to the server's settings:\n");
            eprintln!("{entry}");
            Ok(())
        }
        Command::Score(args) => score(args),
        Command::Plan(args) => plan(args),
        Command::Outcomes(args) => outcomes(args),
        Command::EvaluatePolicy(args) => evaluate_policy(args),
        Command::Uplift(args) => {
            let written =
                bankscore::batch::uplift_file::write_uplift(&args.bundle, &args.input, &args.out)?;
            println!(
                "wrote {} customers' uplift for {} learned actions ({}) to {}",
                written.rows,
                written.learned.len(),
                written.learned.join(", "),
                args.out.display()
            );
            Ok(())
        }
        Command::Validate { bundle } => {
            let m = load_bundle(&bundle)?;
            println!(
                "ok: {} version {} (checksum {}): every file matches its checksum; {} features, \
                 {} actions, value and tier policy in range; {} golden examples reproduce within {:e}",
                m.id.name,
                m.id.version,
                m.id.checksum,
                m.scoring.churn.features().len(),
                m.scoring.actions.actions.len(),
                m.golden.examples.len(),
                m.golden.tolerance
            );
            Ok(())
        }
        Command::Reseal { bundle } => {
            let r = bankscore::model_store::reseal_bundle(&bundle)?;
            println!(
                "resealed {}: checksums.sha256 now lists {}",
                bundle.display(),
                r.sealed.join(", ")
            );
            for other in &r.left_out {
                println!("not listed (not a bundle file): {other}");
            }
            println!(
                "the checksums say nothing about the content: check it with `bankscore validate {}`",
                bundle.display()
            );
            Ok(())
        }
        Command::Models {
            target,
            reload,
            connect,
        } => {
            let bearer = connect.bearer()?;
            let tls = connect.client_tls()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            print!(
                "{}",
                runtime.block_on(bankscore::client::admin(
                    &target,
                    tls.as_ref(),
                    &bearer,
                    reload,
                ))?
            );
            Ok(())
        }
        Command::Call(args) => {
            if let Some(path) = &args.write_frame {
                anyhow::ensure!(
                    args.rpc == bankscore::client::Rpc::Score,
                    "--write-frame writes Score requests only"
                );
                let frame = bankscore::client::score_frame(&args.profile, &args.request_id)?;
                std::fs::write(path, &frame)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "wrote a {}-byte Score frame to {}",
                    frame.len(),
                    path.display()
                );
                return Ok(());
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let tls = args.connect.client_tls()?;
            let reply = runtime.block_on(bankscore::client::call(&bankscore::client::Call {
                target: &args.target,
                tls: tls.as_ref(),
                bearer: args.connect.bearer()?,
                rpc: args.rpc,
                profile_json: &args.profile,
                request_id: &args.request_id,
                model_version: &args.model_version,
                include_ineligible: args.include_ineligible,
            }))?;
            println!("{reply}");
            Ok(())
        }
        Command::Streamgen(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads.max(1))
                .enable_all()
                .build()?;
            let report = runtime.block_on(bankscore::loadgen::run_stream(
                &bankscore::loadgen::StreamSettings {
                    target: args.target,
                    tls: args.connect.client_tls()?,
                    bearer: args.connect.bearer()?,
                    records: args.records,
                    chunk: args.chunk,
                    streams: args.streams,
                },
            ))?;
            println!(
                "{} customers ({} record errors) in {:.2} s: {:.0} customers/s",
                report.results,
                report.errors,
                report.elapsed.as_secs_f64(),
                report.customers_per_second()
            );
            Ok(())
        }
        Command::Loadgen(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads.max(1))
                .enable_all()
                .build()?;
            let report =
                runtime.block_on(bankscore::loadgen::run(&bankscore::loadgen::LoadSettings {
                    target: args.target,
                    tls: args.connect.client_tls()?,
                    bearer: args.connect.bearer()?,
                    concurrency: args.concurrency,
                    connections: args.connections,
                    duration: args.duration,
                    warmup: args.warmup,
                }))?;
            println!("{}", report.summary());
            anyhow::ensure!(report.failed == 0, "{} requests failed", report.failed);
            Ok(())
        }
    }
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let model = match &args.bundle {
        Some(dir) => Arc::new(load_bundle(dir)?),
        None => {
            let (store, _) = ModelStore::open(&args.models_dir, None)?;
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
    let s = bankscore::batch::score_file::score_file(
        &model,
        &args.input,
        &args.out,
        &rejects,
        threads,
    )?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "scored {} customers with {} version {} in {secs:.2} s ({:.0}/s) → {}",
        s.scored,
        model.id.name,
        model.id.version,
        (s.scored + s.rejected) as f64 / secs,
        args.out.display()
    );
    println!("rejected {} rows → {}", s.rejected, rejects.display());
    println!(
        "customers per tier: {}",
        s.tiers
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("churn probability:");
    for (band, n) in s.churn_bands.iter().enumerate() {
        println!("  {:>3}–{:>3}%: {n}", band * 10, band * 10 + 10);
    }
    println!(
        "best action: {}",
        s.actions
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "total expected value of the best actions: {:.2}",
        s.total_expected_value
    );
    Ok(())
}

fn plan(args: PlanArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.control_share == 0.0 || !args.campaign_id.is_empty(),
        "--campaign-id is required with a control group"
    );
    let started = std::time::Instant::now();
    let p = bankscore::batch::plan_file::plan_csv(
        &args.scored,
        &bankscore::batch::plan_file::CampaignFile {
            campaign_id: args.campaign_id,
            budget: args.budget,
            capacity: args.capacity,
            control_share: args.control_share,
        },
        &args.out,
    )?;
    let (t, n) = (p.plan.totals, p.naive.totals);
    println!(
        "planned {} customers in {:.2} s → {}",
        p.candidates.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    println!(
        "control group: {}",
        p.candidates.control.iter().filter(|&&c| c).count()
    );
    println!(
        "plan:  {} targeted, cost {:.2} of {:.2}, expected value {:.2}",
        t.targeted, t.cost, args.budget, t.expected_value
    );
    println!(
        "naive (highest churn first): {} targeted, cost {:.2}, expected value {:.2}",
        n.targeted, n.cost, n.expected_value
    );
    if n.expected_value > 0.0 {
        println!(
            "the plan brings {:.1}% more expected value than the naive plan",
            (t.expected_value / n.expected_value - 1.0) * 100.0
        );
    }
    for (a, count) in p.candidates.actions.iter().zip(&p.plan.per_action) {
        println!("  {a}: {count}");
    }
    Ok(())
}

fn outcomes(args: OutcomesArgs) -> anyhow::Result<()> {
    use bankscore::batch::outcomes;
    let run = match (args.decisions, args.outcomes, args.observed) {
        (Some(decisions), Some(outcomes), _) => outcomes::run(&outcomes::OutcomesFiles {
            decisions,
            outcomes,
            customers: args.customers,
            campaign: args.campaign,
            report: args.report.clone(),
            html: args.html.clone(),
            history: args.history.clone(),
        })?,
        (_, _, Some(observed)) => outcomes::run_audit(&outcomes::AuditOutcomesFiles {
            audit: args.audit,
            observed,
            models_dir: args.models_dir,
            hash_key: std::env::var("BANKSCORE_AUDIT_HASH_KEY")
                .ok()
                .map(bankscore::audit::HashKey::new),
            campaign: args.campaign,
            campaign_id: args.campaign_id,
            report: args.report.clone(),
            html: args.html.clone(),
            history: args.history.clone(),
        })?,
        _ => anyhow::bail!("give --decisions with --outcomes, or --audit with --observed"),
    };
    print!("{}", outcomes::summary_table(&run.measured));
    println!("report → {}", args.report.display());
    if let Some(html) = args.html {
        println!("html → {}", html.display());
    }
    if let (Some(history), Some(rows)) = (args.history, run.history_rows) {
        println!("history: {rows} rows → {}", history.display());
    }
    Ok(())
}

fn evaluate_policy(args: EvaluatePolicyArgs) -> anyhow::Result<()> {
    use bankscore::batch::policy_eval;
    let evaluation = policy_eval::run(&policy_eval::PolicyEvalFiles {
        bundle: args.bundle,
        log: args.log,
        json: args.json.clone(),
        report: args.report.clone(),
    })?;
    print!("{}", policy_eval::summary_table(&evaluation));
    for (what, path) in [("json", args.json), ("report", args.report)] {
        if let Some(path) = path {
            println!("{what} → {}", path.display());
        }
    }
    Ok(())
}

fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let model_dir = args.models_dir.join(&args.model);
    anyhow::ensure!(
        model_dir.is_dir(),
        "{} is not a model directory",
        model_dir.display()
    );
    let mut d = Deployment::read(&model_dir).map_err(anyhow::Error::msg)?;
    for version in [&args.champion, &args.challenger].into_iter().flatten() {
        let m = load_bundle(&model_dir.join(version))
            .with_context(|| format!("version {version} cannot be deployed"))?;
        println!(
            "ok: {} version {} (checksum {})",
            m.id.name, m.id.version, m.id.checksum
        );
    }
    if let Some(c) = args.champion {
        d.champion = Some(c);
    }
    if args.no_challenger {
        d.challenger = None;
    } else if let Some(c) = args.challenger {
        d.challenger = Some(c);
    }
    d.write(&model_dir)?;
    println!(
        "{}: champion {}, challenger {} (a running server picks this up within seconds, or at once on SIGHUP)",
        model_dir.join(bankscore::model_store::DEPLOYMENT_FILE).display(),
        d.champion.as_deref().unwrap_or("(newest valid version)"),
        d.challenger.as_deref().unwrap_or("(none)")
    );
    Ok(())
}

/// Reproducible builds: SOURCE_DATE_EPOCH fixes the recorded training time.
fn source_date() -> anyhow::Result<Option<String>> {
    let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    let secs: u64 = epoch
        .parse()
        .context("SOURCE_DATE_EPOCH must be seconds since 1970")?;
    let at = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    Ok(Some(humantime::format_rfc3339_seconds(at).to_string()))
}

fn train_uplift(args: TrainUpliftArgs) -> anyhow::Result<()> {
    let mut settings =
        training::uplift::UpliftSettings::new(args.bundle, args.history, args.out.clone());
    settings.validation_history = args.validation_history;
    settings.min_churners = args.min_churners;
    settings.validation_share = args.validation_share;
    settings.seed = args.seed;
    settings.l2 = args.l2;
    settings.columns = training::uplift::HistoryColumns {
        action: args.action_column,
        control: args.control_value,
        outcome: args.outcome_column,
        outcome_means_stayed: args.outcome_means_stayed,
    };
    if let Some(at) = source_date()? {
        settings.trained_at = at;
    }
    let report = training::uplift::train_uplift(&settings)?;
    let evaluated_on = match report.training.validation.as_str() {
        "split" => "held-out rows",
        file => file,
    };
    println!(
        "wrote {} with learned uplift ({} history rows, {} in the control group; evaluated on {}):",
        args.out.display(),
        report.history.rows,
        report.history.control_rows,
        evaluated_on
    );
    for a in &report.actions {
        match &a.evaluation {
            Some(e) => println!(
                "  {:<22} learned  treated {:>7}  Qini {:+.4}  AUUC {:+.4}",
                a.action, a.treated_rows, e.qini_coefficient, e.auuc
            ),
            None => println!(
                "  {:<22} prior    treated {:>7}  ({})",
                a.action,
                a.treated_rows,
                a.reason.as_deref().unwrap_or("too little data")
            ),
        }
    }
    println!("check it with `bankscore validate {}`", args.out.display());
    Ok(())
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let mut settings = TrainSettings::new(args.data);
    settings.validation_data = args.validation_data;
    settings.label = args.label;
    settings.id_columns = args.id_columns;
    settings.features = args.features;
    settings.l2 = args.l2;
    settings.class_weight = args.class_weight;
    settings.golden_examples = args.golden_examples;
    if let Some(path) = &args.tier_policy {
        #[derive(serde::Deserialize)]
        struct TiersOnly {
            tiers: bankscore::domain::TierPolicy,
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let parsed: TiersOnly =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        settings.tier_policy = Some(parsed.tiers);
    }
    settings.validation_share = args.validation_share;
    settings.seed = args.seed;
    settings.value = training::ValueSettings {
        discount_rate: args.discount_rate,
        horizon_years: args.clv_horizon_years,
        value_per_referral: args.value_per_referral,
        retained_customer_rate: args.retained_customer_rate,
    };
    settings.sleeping_after_days = args.sleeping_after_days;
    if let Some(path) = args.actions {
        settings.actions_toml = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    if let Some(at) = source_date()? {
        settings.trained_at = at;
    }
    let started = std::time::Instant::now();
    let bundle = training::train(&settings)?;
    bundle.write(&args.out)?;
    // Read the bundle back exactly as the server will, so a bad bundle never leaves this command.
    let loaded = load_bundle(&args.out)?;
    let e = &bundle.evaluation;
    let m = e.metrics;
    let t = &bundle.metadata.training;
    println!(
        "trained {} in {:.1} s: {} training rows, {} validation rows ({}), churn rate {:.3}",
        args.out.display(),
        started.elapsed().as_secs_f64(),
        t.train_rows,
        t.validation_rows,
        t.validation,
        bundle.metadata.data.churn_rate
    );
    for ignored in &bundle.ignored_columns {
        println!("left out (not numeric): {ignored}");
    }
    println!(
        "validation: ROC AUC {:.4}, log-loss {:.4}, Brier {:.4}",
        m.roc_auc, m.log_loss, m.brier
    );
    for l in &e.lift {
        println!(
            "  top {:.0}%: lift {:.2}, capture {:.1}%",
            l.top_share * 100.0,
            l.lift,
            l.capture_rate * 100.0
        );
    }
    println!("calibration (decile: mean predicted → observed):");
    for (i, b) in e.calibration.iter().enumerate() {
        println!(
            "  {:>2}: {:.4} → {:.4}",
            i + 1,
            b.mean_predicted,
            b.observed
        );
    }
    println!("coefficients, log-odds of churn (by size of effect):");
    println!(
        "  {:<28} {:<9} {:>12} {:>12}",
        "feature", "transform", "standardized", "raw"
    );
    for c in &e.coefficients {
        println!(
            "  {:<28} {:<9} {:>+12.4} {:>+12.6}",
            c.feature,
            format!("{:?}", c.transform),
            c.standardized,
            c.raw
        );
    }
    println!(
        "  (standardized: per standard deviation of the transformed value; raw: per unit of it)"
    );
    let tiers = bundle.policy.tiers;
    println!(
        "tier cut-offs: A >= {:.2}, B >= {:.2}, key account >= {:.2}, sleeping after {} days",
        tiers.a_min_value,
        tiers.b_min_value,
        tiers.key_account_min_value,
        tiers.sleeping_after_days
    );
    println!(
        "{} golden examples; model card {}; checksum {}",
        loaded.golden.examples.len(),
        args.out.join("MODEL_CARD.md").display(),
        loaded.id.checksum
    );
    Ok(())
}
