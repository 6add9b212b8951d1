//! `bankscore loadgen`: drives the unary `Score` RPC at a fixed concurrency for a bounded time
//! and reports requests/s and latency percentiles from an HDR histogram.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::connect::{endpoint, Bearer, ClientTls, ClientTlsError, Connection};

use crate::service::pb::{self, scoring_service_client::ScoringServiceClient};
use crate::training::synthetic::Generator;

/// Load generator settings.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Server address, e.g. `http://127.0.0.1:50051`, or `https://` with `tls`.
    pub target: String,
    /// TLS for an `https://` target.
    pub tls: Option<ClientTls>,
    /// Bearer token sent with every call.
    pub bearer: Bearer,
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

/// Why a load run stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A setting that cannot drive any load.
    #[error("{0} must be > 0")]
    Zero(&'static str),
    /// The target or its TLS settings are unusable.
    #[error(transparent)]
    Target(#[from] ClientTlsError),
    /// The connection could not be made.
    #[error("connecting: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// A stream failed.
    #[error("the stream failed: {} {}", .0.code(), .0.message())]
    Stream(#[from] tonic::Status),
    /// A stream ended with results missing.
    #[error("{results} results for {records} records")]
    Missing {
        /// Results received.
        results: u64,
        /// Records sent.
        records: u64,
    },
    /// A stream's task stopped unexpectedly.
    #[error("a stream task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs the load and returns what it measured.
///
/// # Errors
/// The target cannot be reached.
pub async fn run(settings: &LoadSettings) -> Result<LoadReport, LoadError> {
    if settings.concurrency == 0 {
        return Err(LoadError::Zero("--concurrency"));
    }
    if settings.connections == 0 {
        return Err(LoadError::Zero("--connections"));
    }
    let mut channels = Vec::with_capacity(settings.connections);
    for _ in 0..settings.connections {
        channels.push(
            endpoint(&settings.target, settings.tls.as_ref())?
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
        let client = ScoringServiceClient::with_interceptor(
            channels[w % channels.len()].clone(),
            settings.bearer.clone(),
        );
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
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        first_error: None,
    };
    for w in workers {
        let r = w.await?;
        report.ok += r.ok;
        report.failed += r.failed;
        // Every worker's histogram has the same bounds as this one.
        report
            .latency_us
            .add(&r.latency_us)
            .expect("histograms of the same bounds add");
        if report.first_error.is_none() {
            report.first_error = r.first_error;
        }
    }
    Ok(report)
}

async fn worker(
    mut client: ScoringServiceClient<Connection>,
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

/// Stream load settings.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Server address.
    pub target: String,
    /// TLS for an `https://` target.
    pub tls: Option<ClientTls>,
    /// Bearer token sent with every call.
    pub bearer: Bearer,
    /// Customers to send in total (over all streams).
    pub records: u64,
    /// Customers per chunk.
    pub chunk: usize,
    /// Concurrent streams, each on its own connection.
    pub streams: usize,
}

/// What a stream run measured.
#[derive(Debug, Clone, Copy)]
pub struct StreamReport {
    /// Results received.
    pub results: u64,
    /// Results that were per-record errors.
    pub errors: u64,
    /// Wall time from the first send to the last result.
    pub elapsed: Duration,
}

impl StreamReport {
    /// Customers scored per second.
    pub fn customers_per_second(&self) -> f64 {
        self.results as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for StreamReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} customers ({} record errors) in {:.2} s: {:.0} customers/s",
            self.results,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.customers_per_second()
        )
    }
}

/// Streams `records` synthetic customers through `ScoreStream` and counts the results.
///
/// # Errors
/// The target cannot be reached, a stream fails, or a result goes missing.
pub async fn run_stream(s: &StreamSettings) -> Result<StreamReport, LoadError> {
    use crate::service::pb::batch_scoring_service_client::BatchScoringServiceClient;
    use tokio_stream::StreamExt;
    if s.chunk == 0 {
        return Err(LoadError::Zero("--chunk"));
    }
    if s.streams == 0 {
        return Err(LoadError::Zero("--streams"));
    }
    let mut generator = Generator::new(2026);
    let pool: std::sync::Arc<Vec<pb::CustomerProfile>> = std::sync::Arc::new(
        (0..1024)
            .map(|_| (&generator.next_customer().profile).into())
            .collect(),
    );
    let per_stream = s.records / s.streams as u64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.streams {
        let channel = endpoint(&s.target, s.tls.as_ref())?
            .tcp_nodelay(true)
            .connect()
            .await?;
        let mut client = BatchScoringServiceClient::with_interceptor(channel, s.bearer.clone())
            .max_decoding_message_size(crate::service::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(crate::service::MAX_MESSAGE_BYTES);
        let (pool, chunk) = (pool.clone(), s.chunk as u64);
        let chunks = per_stream.div_ceil(chunk);
        tasks.push(tokio::spawn(async move {
            let requests = tokio_stream::iter((0..chunks).map(move |c| {
                pb::ScoreStreamRequest {
                    model_version: String::new(),
                    max_reasons: 0,
                    records: (c * chunk..((c + 1) * chunk).min(per_stream))
                        .map(|i| pb::StreamRecord {
                            record_id: i.to_string(),
                            profile: Some(pool[i as usize % pool.len()].clone()),
                        })
                        .collect(),
                }
            }));
            let mut replies = client.score_stream(requests).await?.into_inner();
            let (mut results, mut errors) = (0u64, 0u64);
            while let Some(reply) = replies.next().await {
                for r in reply?.results {
                    results += 1;
                    if matches!(r.outcome, Some(pb::stream_result::Outcome::Error(_))) {
                        errors += 1;
                    }
                }
            }
            if results != per_stream {
                return Err(LoadError::Missing {
                    results,
                    records: per_stream,
                });
            }
            Ok::<(u64, u64), LoadError>((results, errors))
        }));
    }
    let mut report = StreamReport {
        results: 0,
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        let (results, errors) = t.await??;
        report.results += results;
        report.errors += errors;
    }
    report.elapsed = start.elapsed();
    Ok(report)
}
