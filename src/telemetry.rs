//! Tracing set-up: one call at start-up; `RUST_LOG` overrides the default filter.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs a formatting subscriber writing to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // Reporting a failed log write with eprintln! would panic once stderr is closed.
        .log_internal_errors(false)
        .try_init();
}
