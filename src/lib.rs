//! bankscore: customer value tiers, churn probability and the next best retention action for
//! retail banks, served over gRPC.
//!
//! # Modules
//!
//! The scoring core, pure (no I/O, no gRPC):
//! - [`domain`]: the customer profile and its field rules (`profile`, `validation`), the churn
//!   model (`churn`), customer value and value at risk (`value`), tiers (`tier`), the action
//!   catalog and eligibility (`actions`), learned uplift (`uplift`), exploration and the control
//!   group (`exploration`), the expected-value arbitration (`arbitration`), reported outcomes
//!   (`outcome`).
//!
//! Around it:
//! - [`model_store`]: the on-disk bundle format (`format`), its loader and checks (`bundle`,
//!   `consistency`, `checksum`, typed `error`s), the registry of loaded versions with champion,
//!   challenger and shadow statistics (`registry`, `shadow`), hot reload (`store`, `watch`,
//!   `fingerprint`), `deployment.toml`, and writing bundles (`write`);
//! - [`training`]: synthetic customers and campaign histories, `train` (linfa logistic
//!   regression), `train-uplift` (a T-learner) and the uplift evaluation (Qini, AUUC, deciles),
//!   the model card, the reports both commands print, and why a run stops (`TrainError`);
//! - [`batch`]: the low-priority bulk executor, offline file scoring (`read`, `score_file`,
//!   `write`, `parquet_out`, `text`), campaign planning and its rules (`plan`, `plan_file`),
//!   measuring a campaign (`outcomes`), off-policy evaluation (`policy_eval`), per-customer
//!   uplift files (`uplift_file`);
//! - [`audit`]: the decision audit log (keyed customer hashes, records of calls and stream chunks,
//!   the writer with group commit, rotation), replay, and the outcomes log;
//! - [`metrics`]: Prometheus metrics, drift (PSI) of live customers, the `/metrics` endpoint;
//! - [`settings`]: the typed settings of `serve`: defaults, TOML file, `BANKSCORE_*` environment,
//!   typed flags (`ServeFlags`);
//! - [`telemetry`]: tracing set-up; [`progress`]: progress of long file runs.
//!
//! The edges:
//! - [`service`]: the tonic services — `scoring` (the unary RPCs), `batch` (ScoreStream),
//!   `campaign` (PlanCampaign), `outcomes` (ReportOutcomes), `admin` — over one request pipeline
//!   (`pipeline`: resolve → validate → assess → metrics and shadow → audit, for one customer or
//!   a stream chunk), one conversion layer (`convert`) and one mapping of problems to statuses
//!   (`error`); `bulk` (what the streams share), `guard`
//!   (tokens, roles, concurrency, deadlines), `auth`, `tls`, and `server` (`serve_with`: a bound
//!   listener, the store, the config and a shutdown future);
//! - [`app`]: process start-up: the runtime every command runs on, and `bankscore serve` (signals,
//!   model watcher, metrics listener, then the gRPC server);
//! - [`client`], [`connect`], [`loadgen`]: bankscore's own clients (`call`, `models`, TLS and
//!   tokens, the load generators). The command line is the binary's `src/cli/`, one module per
//!   command.
//!
//! # Where each concept lives
//!
//! | concept (`DOMAIN.md`) | file |
//! |---|---|
//! | realized, potential and influence value; lifetime value; value at risk | `domain/value.rs` |
//! | ABC tiers, sleeping customers, key accounts | `domain/tier.rs` |
//! | churn probability and its drivers (reasons) | `domain/churn.rs`, the features in `domain/profile.rs` |
//! | retention actions, levels, costs, prior uplift, eligibility and contact policy | `domain/actions.rs` |
//! | learned uplift τ (T-learner) | serving: `domain/uplift.rs`; learning: `training/uplift.rs` |
//! | expected-value arbitration, "no action", why the winner won | `domain/arbitration.rs` |
//! | control group and exploration (propensities) | `domain/exploration.rs` (real time), `batch/plan/rules.rs` (campaigns) |
//! | budgeted campaign | `batch/plan.rs` |
//! | measured lift against the control group | `batch/outcomes.rs` |
//! | Qini, AUUC, uplift by decile | `training/uplift_eval.rs` |
//! | evaluating a policy before switching (IPS, DR) | `batch/policy_eval.rs` |
//!
//! | RPC | handler | conversion | errors |
//! |---|---|---|---|
//! | `ScoringService.*` (Score, PredictChurn, ClassifyValueTier, RecommendRetentionAction) | `service/scoring.rs`, through `service/pipeline.rs` | `service/convert/mod.rs` (profile), `service/convert/scoring.rs` (replies) | `service/error.rs` |
//! | `BatchScoringService.ScoreStream` | `service/batch.rs`, the chunk in `service/pipeline/chunk.rs` | `service/convert/scoring.rs` (`stream_assessment`) | `service/error.rs` |
//! | `BatchScoringService.PlanCampaign` | `service/campaign.rs` | `service/convert/campaign.rs` | `batch/plan/rules.rs` → `service/error.rs` |
//! | `OutcomeService.ReportOutcomes` | `service/outcomes.rs` | `service/convert/outcomes.rs` | `service/error.rs` |
//! | `ModelAdminService.*` | `service/admin.rs` | `service/convert/admin.rs` | `service/error.rs` |
//! | health, reflection, tokens, limits | `service/server.rs`, `service/guard.rs`, `service/auth.rs` | — | `service/guard.rs` |
//!
//! # The path of one `Score` call
//!
//! 1. `service::server::serve_with` accepts the HTTP/2 stream; the metrics layer
//!    (`metrics::layer`) times it and `service::guard` checks the bearer token and role, the
//!    concurrency limit and the deadline.
//! 2. `service::scoring::ScoringApi::score` hands the request to the pipeline,
//!    `service::pipeline::Pipeline::answer`: `route` picks the model version (the champion, or
//!    the pinned one)
//!    from `model_store::ModelStore::current`; `service::convert::profile` validates the profile
//!    into a `domain::CustomerProfile` (a bad field is a `service::error::FieldError`).
//! 3. The core answers: `domain::ScoringModel::assess` computes the churn probability and its
//!    reasons (`domain::churn`), the value and value at risk (`domain::value`), the tier
//!    (`domain::tier`) and the decision (`domain::arbitration`, with `domain::uplift` when the
//!    bundle learned uplift); the metrics count it and the challenger, if any, scores it in
//!    shadow.
//! 4. `audit::AuditLog::record_call` writes the decision before the reply (when auditing is on).
//! 5. `service::convert::score_reply` renders the reply.

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

/// An error and its causes as one line, joined with `: `, as the CLI prints it and a caller logs
/// it; a cause the message before it already ends with (an error that shows its source) is not
/// repeated.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}
