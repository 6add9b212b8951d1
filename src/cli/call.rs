//! `bankscore call` (one RPC with a profile from a JSON file, or its frame for h2load),
//! `bankscore models` (a running server's versions) and `bankscore health` (its health, for a
//! container's HEALTHCHECK or an operator).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use bankscore::app::{runtime, Workers};
use bankscore::client::{self, Call, Format, Rpc};
use bankscore::connect::ConnectOptions;

use super::connect::ConnectFlags;

#[derive(Args)]
pub struct CallArgs {
    /// The RPC to call: score, classify-value-tier, predict-churn, recommend-retention-action.
    #[arg(value_parser = super::named::<Rpc>(&[
        "score",
        "classify-value-tier",
        "predict-churn",
        "recommend-retention-action",
    ]))]
    rpc: Rpc,
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
    /// Reply format: json (the proto3 JSON mapping, as grpcurl prints it) or text (a short summary).
    #[arg(long, default_value = "json", value_parser = super::named::<Format>(&["json", "text"]))]
    format: Format,
    #[command(flatten)]
    connect: ConnectFlags,
}

pub fn run(args: CallArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.write_frame {
        anyhow::ensure!(
            args.rpc == Rpc::Score,
            "--write-frame writes Score requests only"
        );
        let frame = client::score_frame(&args.profile, &args.request_id)?;
        std::fs::write(path, &frame).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote a {}-byte Score frame to {}",
            frame.len(),
            path.display()
        );
        return Ok(());
    }
    let connect = ConnectOptions::from(args.connect);
    let tls = connect.client_tls()?;
    let reply = runtime(Workers::One)?.block_on(client::call(&Call {
        target: &args.target,
        tls: tls.as_ref(),
        bearer: connect.bearer()?,
        rpc: args.rpc,
        profile_json: &args.profile,
        request_id: &args.request_id,
        model_version: &args.model_version,
        include_ineligible: args.include_ineligible,
        format: args.format,
    }))?;
    println!("{reply}");
    Ok(())
}

#[derive(Args)]
pub struct ModelsArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Reload the models directory first (as a file change or SIGHUP would).
    #[arg(long)]
    reload: bool,
    /// With --json: the reply in the proto3 JSON mapping.
    #[command(flatten)]
    output: super::JsonFlag,
    #[command(flatten)]
    connect: ConnectFlags,
}

pub fn models(args: ModelsArgs) -> anyhow::Result<()> {
    let connect = ConnectOptions::from(args.connect);
    let (bearer, tls) = (connect.bearer()?, connect.client_tls()?);
    let shown = runtime(Workers::One)?.block_on(client::admin(
        &args.target,
        tls.as_ref(),
        &bearer,
        args.reload,
        if args.output.json {
            Format::Json
        } else {
            Format::Text
        },
    ))?;
    print!("{shown}");
    Ok(())
}

#[derive(Args)]
pub struct HealthArgs {
    /// Server address: the scoring port, or server.health_listen's port when TLS is on.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Service to ask about: bankscore.v1.ScoringService, bankscore.v1.OutcomeService, or empty
    /// for the whole server.
    #[arg(long, default_value = "")]
    service: String,
    /// Give up after this long, connecting included (e.g. 3s, 500ms).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    timeout: std::time::Duration,
    #[command(flatten)]
    connect: ConnectFlags,
}

/// Prints the status and succeeds only when it is SERVING.
pub fn health(args: HealthArgs) -> anyhow::Result<()> {
    let connect = ConnectOptions::from(args.connect);
    let tls = connect.client_tls()?;
    let status = runtime(Workers::One)?.block_on(client::health(
        &args.target,
        tls.as_ref(),
        &args.service,
        args.timeout,
    ))?;
    println!("{status}");
    let what = if args.service.is_empty() {
        "the server"
    } else {
        &args.service
    };
    anyhow::ensure!(status == "SERVING", "{what} at {} is {status}", args.target);
    Ok(())
}
