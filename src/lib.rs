//! bankscore: customer value tiers, churn probability and the next best retention action for
//! retail banks, served over gRPC.
//!
//! - [`domain`]: the pure scoring core (profile, churn model, value, tiers, actions, learned uplift,
//!   exploration and control group, arbitration);
//! - [`model_store`]: the on-disk model bundle format, its validation and the registry of loaded versions;
//! - [`training`]: the synthetic customer and campaign-history generators, `bankscore train` (linfa
//!   logistic regression), `bankscore train-uplift` (a T-learner from campaign history) and the
//!   uplift evaluation (Qini, AUUC, uplift by decile);
//! - [`batch`]: offline scoring of files, campaign planning, measuring a campaign's lift (`bankscore outcomes`),
//!   and estimating a candidate bundle's policy value from logged decisions (`bankscore evaluate-policy`);
//! - [`audit`]: the decision audit log (keyed customer hashes, rotation) and its replay;
//! - [`service`]: the tonic edge: conversions, bearer-token auth, limits, health, reflection, TLS and `serve_with`;
//! - [`app`]: process start-up: the runtime every command runs on, and `bankscore serve` (signals,
//!   model watcher, metrics listener, then the gRPC server);
//! - [`client`]: `bankscore call`, one RPC with a profile from a JSON file;
//! - [`connect`]: TLS and mutual TLS for bankscore's own clients (`--ca-cert` and friends);
//! - [`loadgen`]: the load generator for the unary `Score` RPC;
//! - [`metrics`]: Prometheus metrics, drift (PSI) of live customers, and the `/metrics` endpoint;
//! - [`settings`]: the typed settings of `serve`: defaults, TOML file, `BANKSCORE_*` environment, flags;
//! - [`telemetry`]: tracing set-up.

pub mod app;
pub mod audit;
pub mod batch;
pub mod client;
pub mod connect;
pub mod domain;
pub mod loadgen;
pub mod metrics;
pub mod model_store;
pub mod progress;
pub mod service;
pub mod settings;
pub mod telemetry;
pub mod training;
