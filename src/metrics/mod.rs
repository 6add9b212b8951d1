//! Prometheus metrics: what the server did (calls by RPC and status, latency), what it answered
//! (churn probabilities, tiers, actions), which models serve, how the challenger differs, and how
//! far live customers have drifted from the champion's training data (PSI).
//!
//! - [`registry`]: [`Metrics`], recorded with relaxed atomics on the hot path;
//! - [`layer`]: the tower layer counting every gRPC call by RPC and status code;
//! - [`requests`], [`scores`], [`drift`]: the counters behind it;
//! - [`psi`]: the population stability index and its bands;
//! - [`histogram`], [`exposition`]: lock-free histograms and the text format;
//! - [`render`]: the scrape; [`endpoint`]: `GET /metrics` on its own listener;
//! - [`settings`]: the `[metrics]` settings.

pub mod drift;
pub mod endpoint;
pub mod exposition;
pub mod histogram;
pub mod layer;
pub mod psi;
mod registry;
mod render;
pub mod requests;
pub mod scores;
pub mod settings;

pub use endpoint::serve_metrics;
pub use layer::RequestMetricsLayer;
pub use registry::{ChunkTally, Metrics};
pub use settings::MetricsSettings;
