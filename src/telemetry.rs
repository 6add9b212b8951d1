//! Tracing set-up: one call at start-up; `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

/// Installs a formatting subscriber writing to stderr with `default_filter` unless `RUST_LOG` is set.
pub fn init_tracing(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
