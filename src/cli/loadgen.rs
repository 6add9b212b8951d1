//! `bankscore loadgen` (unary Score at a fixed concurrency) and `bankscore streamgen`
//! (synthetic customers through ScoreStream).

use std::time::Duration;

use clap::Args;

use bankscore::app::{runtime, Workers};
use bankscore::connect::ConnectOptions;
use bankscore::loadgen::{self, LoadSettings, StreamSettings};

use super::connect::ConnectFlags;

#[derive(Args)]
pub struct LoadgenArgs {
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
    connect: ConnectFlags,
}

pub fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let connect = ConnectOptions::from(args.connect);
    let report =
        runtime(Workers::Exactly(args.threads))?.block_on(loadgen::run(&LoadSettings {
            target: args.target,
            tls: connect.client_tls()?,
            bearer: connect.bearer()?,
            concurrency: args.concurrency,
            connections: args.connections,
            duration: args.duration,
            warmup: args.warmup,
        }))?;
    println!("{}", report.summary());
    anyhow::ensure!(report.failed == 0, "{} requests failed", report.failed);
    Ok(())
}

#[derive(Args)]
pub struct StreamgenArgs {
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
    connect: ConnectFlags,
}

pub fn stream(args: StreamgenArgs) -> anyhow::Result<()> {
    let connect = ConnectOptions::from(args.connect);
    let report = runtime(Workers::Exactly(args.threads))?.block_on(loadgen::run_stream(
        &StreamSettings {
            target: args.target,
            tls: connect.client_tls()?,
            bearer: connect.bearer()?,
            records: args.records,
            chunk: args.chunk,
            streams: args.streams,
        },
    ))?;
    println!("{report}");
    Ok(())
}
