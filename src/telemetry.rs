//! Tracing set-up: one call at start-up; `RUST_LOG` overrides the default filter.
//!
//! Logs are text for people or JSON lines for collectors. Each RPC runs in one span (`rpc`,
//! opened by the server's trace layer, `service/trace.rs`) carrying its `request_id`,
//! `model_name`, `model_version`, `decision_kind` and, when the call belongs to a trace, its
//! `trace_id`, with child spans `assess` and `audit`, so every event of a request can be found:
//! JSON lines list every open span's fields (`spans`). With `[tracing] otlp_endpoint` set, the
//! spans are also exported over OTLP/gRPC ([`Telemetry`]).
//!
//! Privacy: logs and spans never carry a customer id in clear (where one must be named, log
//! the audit log's `CustomerHasher::hash` of it) and carry no profile field value at info level
//! or above. Decisions with their inputs go to the audit log, not to logs.

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use serde::{Deserialize, Serialize};

/// How log events are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One human-readable line per event (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (`span`) and every open span's
    /// (`spans`, the RPC's first: `request_id`, `trace_id`, …).
    Json,
}

/// Spans waiting for export at most; beyond, new spans are dropped (never the calls).
pub const SPAN_QUEUE: usize = 131_072;
/// Spans per export request.
pub const SPAN_BATCH: usize = 8_192;
/// How long the exporter waits for the collector per batch.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why traces cannot be exported as the settings say.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The exporter's runtime could not start.
    #[error("starting the OTLP exporter's thread: {0}")]
    Runtime(std::io::Error),
    /// The collector's CA certificate cannot be read.
    #[error("tracing.ca_cert: cannot read {path}: {source}")]
    CaCert {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The exporter refused its configuration.
    #[error("tracing.otlp_endpoint: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The span export of a serving process: flushed by [`Telemetry::shutdown`] after the server
/// stops. Without export it holds nothing.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    // The exporter's own runtime: its gRPC channel lives there, so spans still reach the
    // collector while (and after) the server's runtime shuts down.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(cause = %e, "exporting the last spans");
            }
        }
        if let Some(runtime) = self.runtime {
            runtime.shutdown_timeout(EXPORT_TIMEOUT);
        }
    }
}

/// Installs a text subscriber writing to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing(default_filter: &str) {
    init_tracing_as(default_filter, LogFormat::Text);
}

/// Installs a subscriber writing `format` to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing_as(default_filter: &str, format: LogFormat) {
    install(default_filter, format, None);
}

/// [`init_tracing_as`], plus the export of spans to `settings.otlp_endpoint` when set (with the
/// W3C trace-context propagator, so a caller's `traceparent` becomes the parent of its call's
/// span).
///
/// # Errors
/// The exporter cannot be built from the settings.
pub fn init_serving(
    default_filter: &str,
    format: LogFormat,
    settings: &TracingSettings,
) -> Result<Telemetry, TelemetryError> {
    if !settings.exports() {
        install(default_filter, format, None);
        return Ok(Telemetry::default());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bankscore-otlp")
        .enable_all()
        .build()
        .map_err(TelemetryError::Runtime)?;
    let exporter = {
        let _in_runtime = runtime.enter();
        let mut builder = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.otlp_endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT);
        if let Some(path) = &settings.ca_cert {
            let pem = std::fs::read(path).map_err(|source| TelemetryError::CaCert {
                path: path.clone(),
                source,
            })?;
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(pem));
            builder = builder.with_tls_config(tls);
        }
        builder.build()?
    };
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    // A queue for about a second of spans at full load (3 spans a call), sent in large
    // batches, so a busy server does not drop spans while the exporter is sending.
    let batches = BatchConfigBuilder::default()
        .with_max_queue_size(SPAN_QUEUE)
        .with_max_export_batch_size(SPAN_BATCH)
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batches)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler)
        .with_resource(resource)
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    install(
        default_filter,
        format,
        Some(provider.tracer(env!("CARGO_PKG_NAME"))),
    );
    tracing::info!(endpoint = %settings.otlp_endpoint, sample_ratio = settings.sample_ratio,
        "exporting traces over OTLP/gRPC");
    Ok(Telemetry {
        provider: Some(provider),
        runtime: Some(runtime),
    })
}

/// The global subscriber: stderr in `format` filtered by `RUST_LOG` (or `default_filter`), and
/// the OpenTelemetry layer at info level when `tracer` is given.
fn install(
    default_filter: &str,
    format: LogFormat,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Reporting a failed log write with eprintln! would panic once stderr is closed.
        .log_internal_errors(false);
    let stderr = match format {
        LogFormat::Text => stderr.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => stderr
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let otel = tracer.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_filter(LevelFilter::INFO)
    });
    let _ = tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(otel)
        .try_init();
}

/// `[tracing]`: OpenTelemetry traces, one span per RPC (with child spans for the assessment and
/// the audit record), exported over OTLP/gRPC. Off unless `otlp_endpoint` is set; a caller's
/// W3C `traceparent` is continued (and its trace id audited and logged) either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingSettings {
    /// The OTLP/gRPC collector, e.g. `http://otel-collector:4317`; empty: no export.
    pub otlp_endpoint: String,
    /// CA certificate (PEM) that signed an `https://` collector's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Share of the traces bankscore starts that are exported, 0..=1; a caller's sampling
    /// decision (the `traceparent` flag) is followed.
    pub sample_ratio: f64,
}

impl Default for TracingSettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: String::new(),
            ca_cert: None,
            service_name: "bankscore".to_owned(),
            sample_ratio: 1.0,
        }
    }
}

impl TracingSettings {
    /// Whether spans are exported.
    pub fn exports(&self) -> bool {
        !self.otlp_endpoint.is_empty()
    }

    /// Checks the endpoint's scheme, the CA for TLS and the ratio.
    ///
    /// # Errors
    /// The setting that is wrong, and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err((
                "tracing.sample_ratio",
                format!("must be within 0..=1, got {}", self.sample_ratio),
            ));
        }
        if self.service_name.is_empty() {
            return Err(("tracing.service_name", "must not be empty".into()));
        }
        let e = &self.otlp_endpoint;
        if e.is_empty() {
            return Ok(());
        }
        if e.starts_with("https://") {
            if self.ca_cert.is_none() {
                return Err((
                    "tracing.ca_cert",
                    "is required for an https:// collector (the CA that signed its certificate)"
                        .into(),
                ));
            }
        } else if !e.starts_with("http://") {
            return Err((
                "tracing.otlp_endpoint",
                format!("must start with http:// or https://, got {e:?}"),
            ));
        }
        Ok(())
    }
}

/// The trace a call belongs to: the caller's (from `traceparent`), or the one bankscore started
/// for it when traces are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTrace {
    /// The 16-byte trace id.
    pub trace_id: u128,
}

impl fmt::Display for CallTrace {
    /// The trace id as W3C writes it: 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.trace_id)
    }
}

/// The trace id and parent span id of a W3C `traceparent` value
/// (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), if it is a valid one.
pub fn parse_traceparent(value: &str) -> Option<(u128, u64)> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    // Version ff is forbidden; a later version may append fields, version 00 may not.
    let later = version != "00";
    if !hex(version, 2) || version == "ff" || !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    if !later && parts.next().is_some() {
        return None;
    }
    let trace = u128::from_str_radix(trace, 16).ok().filter(|t| *t != 0)?;
    let span = u64::from_str_radix(span, 16).ok().filter(|s| *s != 0)?;
    Some((trace, span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_gives_its_trace_and_parent_span_and_a_malformed_one_nothing() {
        assert_eq!(
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some((0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7))
        );
        // A later version may carry more fields.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
        let t = CallTrace { trace_id: 0xab };
        assert_eq!(t.to_string(), format!("{}ab", "0".repeat(30)));
    }
}

#[cfg(test)]
mod settings_tests {
    use super::TracingSettings;

    #[test]
    fn tracing_settings_refuse_a_bad_ratio_scheme_or_an_https_collector_without_its_ca() {
        let ok = TracingSettings::default();
        assert!(!ok.exports());
        assert_eq!(ok.check(), Ok(()));
        let with = |f: fn(&mut TracingSettings)| {
            let mut s = TracingSettings::default();
            f(&mut s);
            s.check().map_err(|(key, _)| key)
        };
        assert_eq!(with(|s| s.sample_ratio = 1.5), Err("tracing.sample_ratio"));
        assert_eq!(
            with(|s| s.sample_ratio = f64::NAN),
            Err("tracing.sample_ratio")
        );
        assert_eq!(
            with(|s| s.service_name.clear()),
            Err("tracing.service_name")
        );
        assert_eq!(
            with(|s| s.otlp_endpoint = "collector:4317".into()),
            Err("tracing.otlp_endpoint")
        );
        assert_eq!(
            with(|s| s.otlp_endpoint = "https://collector:4317".into()),
            Err("tracing.ca_cert")
        );
        assert_eq!(
            with(|s| {
                s.otlp_endpoint = "https://collector:4317".into();
                s.ca_cert = Some("ca.pem".into());
            }),
            Ok(())
        );
        assert_eq!(
            with(|s| s.otlp_endpoint = "http://127.0.0.1:4317".into()),
            Ok(())
        );
    }
}
