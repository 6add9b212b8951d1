//! `bankscore serve`: the settings from defaults, `--config`, `BANKSCORE_*` variables and these
//! flags, then the service until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use bankscore::settings::{ServeFlags, Settings, SettingsBuilder};
use bankscore::telemetry::{self, LogFormat};

/// `serve` flags: each overrides the same setting from `--config` and `BANKSCORE_*` variables.
#[derive(Args)]
pub struct ServeArgs {
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
    #[arg(long, value_parser = humantime::parse_duration)]
    watch_poll: Option<Duration>,
    /// models.watch_debounce: a change must be stable this long before it is loaded [default: 2s].
    #[arg(long, value_parser = humantime::parse_duration)]
    watch_debounce: Option<Duration>,
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
    fn settings(self, log_format: Option<LogFormat>) -> anyhow::Result<Settings> {
        let mut b = SettingsBuilder::new();
        if let Some(path) = &self.config {
            b = b.file(path)?;
        }
        let flags = ServeFlags {
            listen: self.listen,
            models_dir: self.models_dir,
            model: self.model,
            worker_threads: self.worker_threads,
            bulk_threads: self.bulk_threads,
            max_bulk_streams: self.max_bulk_streams,
            watch_poll: self.watch_poll,
            watch_debounce: self.watch_debounce,
            audit_log: self.audit_log,
            audit_max_bytes: self.audit_max_bytes,
            audit_fsync: self.audit_fsync,
            outcomes_log: self.outcomes_log,
            metrics_listen: self.metrics_listen,
            no_auth: self.no_auth,
            log_format,
        };
        Ok(b.env(std::env::vars()).flags(flags).build()?)
    }
}

/// Prints the settings with `--print-config`; otherwise serves until SIGINT or SIGTERM.
pub fn run(args: ServeArgs, log_format: Option<LogFormat>) -> anyhow::Result<()> {
    let print_config = args.print_config;
    let settings = args.settings(log_format)?;
    if print_config {
        print!("{}", settings.to_masked_toml());
        return Ok(());
    }
    let telemetry = telemetry::init_serving("info", settings.log.format, &settings.tracing)?;
    let served = bankscore::app::serve(&settings);
    // After the server has stopped: its last spans are exported before the process exits.
    telemetry.shutdown();
    Ok(served?)
}
