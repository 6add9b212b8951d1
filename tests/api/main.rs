//! Integration tests: the real server on 127.0.0.1:0, called through the generated client.

mod audit;
mod bad_input;
mod bundles;
mod campaign;
mod cli;
mod files;
mod health_reflection;
mod helpers;
pub(crate) mod hostile;
mod inference;
mod learned_uplift;
mod limits;
mod logs;
mod metrics;
mod outcomes;
mod production;
mod realtime_outcomes;
mod redeploy;
mod scoring;
mod serve_process;
mod settings;
mod stream;
mod tls;
mod traces;
mod train_uplift;
mod training;
mod uplift;
