//! `bankscore loadgen`: drives the unary `Score` RPC at a fixed concurrency for a bounded time
//! and reports requests/s and latency percentiles from an HDR histogram.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::{Channel, Endpoint};

use crate::service::pb::{self, scoring_service_client::ScoringServiceClient};
use crate::training::synthetic::Generator;

/// Load generator settings.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Server address, e.g. `http://127.0.0.1:50051`.
    pub target: String,
    /// Requests in flight at any time.
    pub concurrency: usize,
    /// HTTP/2 connections the requests are spread over.
    pub connections: usize,
    /// Measured duration.
    pub duration: Duration,
    /// Unmeasured warm-up before it.
    pub warmup: Duration,
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Successful requests in the measured window.
    pub ok: u64,
    /// Failed requests in the measured window.
    pub failed: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of successful requests, in microseconds.
    pub latency_us: Histogram<u64>,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

impl LoadReport {
    /// Successful requests per second.
    pub fn requests_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// A one-paragraph summary.
    pub fn summary(&self) -> String {
        let q = |p: f64| self.latency_us.value_at_quantile(p) as f64 / 1000.0;
        format!(
            "requests: {} ok, {} failed in {:.2} s\nthroughput: {:.0} requests/s\nlatency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}{}",
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.requests_per_second(),
            q(0.50),
            q(0.90),
            q(0.99),
            q(0.999),
            self.latency_us.max() as f64 / 1000.0,
            self.first_error.as_ref().map_or(String::new(), |e| format!("\nfirst error: {e}")),
        )
    }
}

/// Runs the load and returns what it measured.
///
/// # Errors
/// The target cannot be reached.
pub async fn run(settings: &LoadSettings) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(
        settings.concurrency > 0 && settings.connections > 0,
        "concurrency and connections must be > 0"
    );
    let mut channels = Vec::with_capacity(settings.connections);
    for _ in 0..settings.connections {
        channels.push(
            Endpoint::from_shared(settings.target.clone())?
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    // A pool of realistic customers, cycled through by every worker.
    let mut generator = Generator::new(2026);
    let profiles: Vec<pb::CustomerProfile> = (0..1024)
        .map(|_| (&generator.next_customer().profile).into())
        .collect();
    let profiles = std::sync::Arc::new(profiles);

    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let stop_at = measure_from + settings.duration;
    let mut workers = Vec::with_capacity(settings.concurrency);
    for w in 0..settings.concurrency {
        let client = ScoringServiceClient::new(channels[w % channels.len()].clone());
        workers.push(tokio::spawn(worker(
            client,
            profiles.clone(),
            w,
            measure_from,
            stop_at,
        )));
    }
    let mut report = LoadReport {
        ok: 0,
        failed: 0,
        elapsed: settings.duration,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        first_error: None,
    };
    for w in workers {
        let r = w.await?;
        report.ok += r.ok;
        report.failed += r.failed;
        report.latency_us.add(&r.latency_us)?;
        if report.first_error.is_none() {
            report.first_error = r.first_error;
        }
    }
    Ok(report)
}

async fn worker(
    mut client: ScoringServiceClient<Channel>,
    profiles: std::sync::Arc<Vec<pb::CustomerProfile>>,
    offset: usize,
    measure_from: Instant,
    stop_at: Instant,
) -> LoadReport {
    let mut r = LoadReport {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        first_error: None,
    };
    let mut i = offset;
    loop {
        let sent = Instant::now();
        if sent >= stop_at {
            return r;
        }
        let request = pb::ScoreRequest {
            context: Some(pb::RequestContext {
                request_id: String::new(),
                model_version: String::new(),
            }),
            profile: Some(profiles[i % profiles.len()].clone()),
            max_reasons: 3,
            include_ineligible: false,
        };
        i += 1;
        let result = client.score(request).await;
        if sent < measure_from {
            continue;
        }
        match result {
            Ok(_) => {
                r.ok += 1;
                r.latency_us
                    .saturating_record(sent.elapsed().as_micros() as u64);
            }
            Err(status) => {
                r.failed += 1;
                if r.first_error.is_none() {
                    r.first_error = Some(status.to_string());
                }
            }
        }
    }
}
