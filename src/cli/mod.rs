//! The `bankscore` command line: the arguments of every command (clap lives here and nowhere
//! else), one module per command, each turning its arguments into the library's typed settings,
//! calling the library and printing the report it returns.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use bankscore::telemetry::{self, LogFormat};

mod bundle;
mod call;
mod connect;
mod evaluate_policy;
mod generate;
mod loadgen;
mod outcomes;
mod plan;
mod replay;
mod score;
mod serve;
mod token;
mod train;
mod train_uplift;
mod uplift;

/// Customer value tiers, churn probability and next best retention action, over gRPC.
#[derive(Parser)]
#[command(name = "bankscore", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: text or json [default: text, or BANKSCORE_LOG_FORMAT, or serve's
    /// log.format].
    #[arg(long, global = true, value_parser = named::<LogFormat>(&["text", "json"]))]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the scoring API on the models directory.
    Serve(serve::ServeArgs),
    /// Write a CSV of seeded synthetic bank customers with a churn label, or with
    /// --campaign-history a campaign history with a known uplift per action.
    Generate(generate::GenerateArgs),
    /// Fit a churn model on a labelled CSV and write a model bundle.
    Train(train::TrainArgs),
    /// Learn each retention action's uplift from campaign history and write a new bundle version
    /// with uplift/ models (a T-learner: the control group's churn model and one per action).
    TrainUplift(train_uplift::TrainUpliftArgs),
    /// Write each customer's learned uplift per action under a bundle's uplift/ models
    /// (p_control, p.<action>, tau.<action>), to check them against another implementation.
    Uplift(uplift::UpliftArgs),
    /// Check a model bundle as the server does before serving it.
    Validate(bundle::BundleArg),
    /// Rewrite a bundle's checksums.sha256 over its files as they are now, after a deliberate
    /// edit (e.g. of actions.toml in a new version directory); then run validate.
    Reseal(bundle::BundleArg),
    /// Score a CSV of customers offline on all cores (same core and checks as the server).
    Score(score::ScoreArgs),
    /// Plan a retention campaign within a budget from the output of `score`.
    Plan(plan::PlanArgs),
    /// Measure what a planned campaign (--decisions) or real-time decisions (--audit) did
    /// against their control group, from observed churn.
    Outcomes(outcomes::OutcomesArgs),
    /// Estimate what a candidate bundle's retention policy would keep, from decisions logged
    /// under the current policy with their outcomes (IPS, self-normalized IPS, doubly robust).
    EvaluatePolicy(evaluate_policy::EvaluatePolicyArgs),
    /// Declare the champion and challenger versions (writes models/<name>/deployment.toml).
    Deploy(bundle::DeployArgs),
    /// Show a running server's model versions, shadow comparison and last reload.
    Models(call::ModelsArgs),
    /// Ask a running server's grpc.health.v1 whether it is serving; exit status 0 only if so
    /// (the container image's HEALTHCHECK).
    Health(call::HealthArgs),
    /// Call one RPC on a running server with a customer profile from a JSON file.
    Call(call::CallArgs),
    /// Drive the unary Score RPC at a fixed concurrency and report throughput and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Stream synthetic customers through ScoreStream and report customers per second.
    Streamgen(loadgen::StreamgenArgs),
    /// Re-score audit log records with their recorded model versions and report differences.
    Replay(replay::ReplayArgs),
    /// Make a new bearer token and print it with the `[[auth.tokens]]` entry that accepts it.
    Token(token::TokenArgs),
}

impl Cli {
    /// Sets up logging and runs the command.
    ///
    /// # Errors
    /// Whatever the command fails with.
    pub fn run(self) -> anyhow::Result<()> {
        if let Command::Serve(args) = self.command {
            // serve's log format is a setting of its own: known once the settings are.
            return serve::run(args, self.log_format);
        }
        let log_format = self.log_format.or_else(|| {
            let v = std::env::var("BANKSCORE_LOG_FORMAT").ok()?;
            toml::Value::String(v.to_ascii_lowercase()).try_into().ok()
        });
        telemetry::init_tracing_as("info", log_format.unwrap_or_default());
        match self.command {
            Command::Serve(_) => unreachable!("handled above"),
            Command::Generate(args) => generate::run(args),
            Command::Train(args) => train::run(args),
            Command::TrainUplift(args) => train_uplift::run(args),
            Command::Uplift(args) => uplift::run(args),
            Command::Validate(args) => bundle::validate(args),
            Command::Reseal(args) => bundle::reseal(args),
            Command::Score(args) => score::run(args),
            Command::Plan(args) => plan::run(args),
            Command::Outcomes(args) => outcomes::run(args),
            Command::EvaluatePolicy(args) => evaluate_policy::run(args),
            Command::Deploy(args) => bundle::deploy(args),
            Command::Models(args) => call::models(args),
            Command::Call(args) => call::run(args),
            Command::Health(args) => call::health(args),
            Command::Loadgen(args) => loadgen::run(args),
            Command::Streamgen(args) => loadgen::stream(args),
            Command::Replay(args) => replay::run(args),
            Command::Token(args) => token::run(args),
        }
    }
}

/// The error the command stopped on, with its causes, as one line (see [`bankscore::one_line`]).
pub fn one_line(e: &anyhow::Error) -> String {
    bankscore::one_line(e.as_ref())
}

/// A flag whose values are the serde names of a library enum (`names`, shown in `--help`).
fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).map(|name| {
        toml::Value::String(name)
            .try_into()
            .expect("every listed name is a variant")
    })
}

/// The models directory flag shared by the commands that read recorded versions.
#[derive(clap::Args)]
struct ModelsDir {
    /// Models directory holding <name>/<version>/ bundles.
    #[arg(long, env = "BANKSCORE_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
}

/// Prints a command's report: as text, or with `json` as one JSON document.
fn print_report<R: std::fmt::Display + serde::Serialize>(
    report: &R,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        let text = report.to_string();
        if text.ends_with('\n') {
            print!("{text}");
        } else {
            println!("{text}");
        }
    }
    Ok(())
}

/// The flag that asks for a report as JSON.
#[derive(clap::Args)]
struct JsonFlag {
    /// Print the report as one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Reproducible builds: SOURCE_DATE_EPOCH fixes the recorded training time.
fn source_date() -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    let secs: u64 = epoch
        .parse()
        .context("SOURCE_DATE_EPOCH must be seconds since 1970")?;
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    Ok(Some(humantime::format_rfc3339_seconds(at).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn an_error_is_one_line_without_a_cause_said_twice() {
        #[derive(Debug, thiserror::Error)]
        #[error("reading a.csv: {source}")]
        struct Reading {
            source: std::io::Error,
        }
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::from(Reading { source: io }).context("loading the history");
        assert_eq!(
            one_line(&e),
            "loading the history: reading a.csv: no such file"
        );
    }

    #[test]
    fn enum_flags_take_the_library_names() {
        let cli = Cli::try_parse_from([
            "bankscore",
            "--log-format",
            "json",
            "token",
            "--name",
            "x",
            "--role",
            "scorer",
        ])
        .unwrap();
        assert_eq!(cli.log_format, Some(LogFormat::Json));
        assert!(Cli::try_parse_from([
            "bankscore",
            "--log-format",
            "xml",
            "token",
            "--name",
            "x",
            "--role",
            "scorer"
        ])
        .is_err());
    }
}
