//! Tracing set-up: one call at start-up; `RUST_LOG` overrides the default filter.
//!
//! Logs are text for people or JSON lines for collectors. Each scoring RPC runs in a span
//! carrying its `request_id` (and `model_version`), so every event of a request can be found.
//!
//! Privacy: logs never carry a customer id in clear (where one must be named, log
//! [`crate::audit::CustomerHasher::hash`] of it) and carry no profile field value at info level
//! or above. Decisions with their inputs go to the audit log, not to logs.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log events are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One human-readable line per event (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (e.g. `request_id`).
    Json,
}

/// Installs a text subscriber writing to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing(default_filter: &str) {
    init_tracing_as(default_filter, LogFormat::Text);
}

/// Installs a subscriber writing `format` to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing_as(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Reporting a failed log write with eprintln! would panic once stderr is closed.
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
