//! The request pipeline every scoring call goes through: **resolve** the model version →
//! **validate** the profile → **ask** the core → record the **metrics** and the challenger's
//! **shadow** comparison → **audit** → hand the answer to the **reply**.
//!
//! A unary RPC runs all of it in [`Pipeline::answer`]; `ScoreStream` resolves once per stream
//! ([`Pipeline::route`]) and runs the rest a chunk at a time on a bulk thread (the block path,
//! `service/batch.rs`), with the same conversion, errors, metrics and audit log. Any other
//! protocol serving assessments goes through the same steps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tonic::{Response, Status};
use tracing::Instrument;

use super::convert;
use super::error::{self, FieldError};
use super::pb;
use crate::audit::{AuditLog, AuditedCall, Outputs, Rpc};
use crate::domain::{
    AssessOptions, Assessment, ChurnPrediction, CustomerProfile, ScoringModel, ValueAssessment,
};
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelRegistry, ModelStore};
use crate::telemetry::CallTrace;

mod chunk;
pub use chunk::ChunkPosition;

/// The stages' shared state: the served models, the audit log and the metrics.
#[derive(Debug, Clone)]
pub struct Pipeline {
    store: Arc<ModelStore>,
    audit: Option<Arc<AuditLog>>,
    metrics: Option<Arc<Metrics>>,
    next_call: Arc<AtomicU64>,
}

/// Where a call goes: the model answering it, the registry it came from (for the challenger),
/// and whether the caller pinned the version (a pinned call is never shadowed, and does not
/// count as the champion's for drift).
#[derive(Debug, Clone)]
pub struct Route {
    /// The answering model.
    pub model: Arc<LoadedModel>,
    /// The registry the model came from.
    pub registry: Arc<ModelRegistry>,
    /// The caller asked for this version.
    pub pinned: bool,
}

/// A challenger answer this far from the champion's (in probability) is logged at info level.
pub const LARGE_SHADOW_DIFF: f64 = 0.1;

/// The model answering a request, and the registry it came from (for shadow scoring).
pub(super) struct Resolved<'a> {
    model: Arc<LoadedModel>,
    registry: Arc<ModelRegistry>,
    pinned: bool,
    request_id: String,
    metrics: Option<&'a Metrics>,
}

/// What one kind of call asks the core: its answer, with the metrics and the shadow comparison
/// it records, and what its audit record keeps.
pub(super) trait Question: Sized {
    /// The RPC, as the audit log names it.
    const RPC: Rpc;
    /// Asks `r`'s model about `profile`.
    fn ask(
        r: &Resolved<'_>,
        profile: &CustomerProfile,
        opts: AssessOptions,
    ) -> Result<Self, FieldError>;
    /// What the audit record keeps of the answer.
    fn outputs(&self, model: &LoadedModel) -> Outputs;
    /// The kind of decision, for the call's span: `take_action` or `no_action` (answers
    /// without a decision have none).
    fn decision_kind(&self) -> Option<&'static str> {
        None
    }
}

/// `ClassifyValueTier`: value and tier.
impl Question for ValueAssessment {
    const RPC: Rpc = Rpc::ClassifyValueTier;

    fn ask(
        r: &Resolved<'_>,
        profile: &CustomerProfile,
        _: AssessOptions,
    ) -> Result<Self, FieldError> {
        let v = r
            .model
            .scoring
            .classify_value(profile)
            .map_err(|e| r.missing(&e))?;
        if let Some(m) = r.metrics {
            m.valued(&r.model, !r.pinned, profile, &v);
        }
        r.shadow(profile, &v, None);
        Ok(v)
    }

    fn outputs(&self, _: &LoadedModel) -> Outputs {
        Outputs::of_value(self)
    }
}

/// `PredictChurn`: the probability and its reasons.
impl Question for ChurnPrediction {
    const RPC: Rpc = Rpc::PredictChurn;

    fn ask(
        r: &Resolved<'_>,
        profile: &CustomerProfile,
        opts: AssessOptions,
    ) -> Result<Self, FieldError> {
        let scoring = &r.model.scoring;
        let churn = scoring
            .predict_churn(profile, opts.max_reasons)
            .map_err(|e| r.missing(&e))?;
        if let Some(m) = r.metrics {
            m.churn_predicted(&r.model, !r.pinned, profile, churn.probability);
        }
        if r.registry.challenger().is_some() {
            let v = scoring.value_assessment(profile, churn.probability);
            r.shadow(profile, &v, None);
        }
        Ok(churn)
    }

    fn outputs(&self, _: &LoadedModel) -> Outputs {
        Outputs::of_churn(self)
    }
}

/// `Score` and `RecommendRetentionAction`: the full assessment, decision included.
impl Question for Assessment {
    const RPC: Rpc = Rpc::Score;

    fn ask(
        r: &Resolved<'_>,
        profile: &CustomerProfile,
        opts: AssessOptions,
    ) -> Result<Self, FieldError> {
        let scoring = &r.model.scoring;
        let a = scoring.assess(profile, opts).map_err(|e| r.missing(&e))?;
        if let Some(m) = r.metrics {
            m.assessed(&r.model, !r.pinned, profile, &a);
        }
        let best = a.decision.best_action_id(&scoring.actions);
        r.shadow(profile, &a.value_assessment(), Some(best));
        Ok(a)
    }

    fn outputs(&self, model: &LoadedModel) -> Outputs {
        Outputs::of_assessment(&model.scoring, self)
    }

    fn decision_kind(&self) -> Option<&'static str> {
        Some(decision_kind(self))
    }
}

/// The kind of `a`'s decision, as the call's span and the reply name it.
pub fn decision_kind(a: &Assessment) -> &'static str {
    if a.decision.best().is_some() {
        "take_action"
    } else {
        "no_action"
    }
}

/// A call answered: the model that answered, the request id to echo, and the answer.
pub(super) struct Answered<T> {
    model: Arc<LoadedModel>,
    request_id: String,
    answer: T,
}

impl<T> Answered<T> {
    /// The reply `render` makes of the answer, with the model's reference and the request id.
    pub(super) fn reply<R>(
        self,
        render: impl FnOnce(Option<pb::ModelRef>, String, &ScoringModel, T) -> R,
    ) -> Response<R> {
        let model = Some((&self.model.id).into());
        Response::new(render(
            model,
            self.request_id,
            &self.model.scoring,
            self.answer,
        ))
    }
}

impl Resolved<'_> {
    /// A feature the resolved model needs and the profile lacks.
    fn missing(&self, e: &crate::domain::MissingExtraFeature) -> FieldError {
        FieldError::missing_feature(e, &self.model.id)
    }

    /// Scores `profile` with the challenger, if there is one and the request did not pin a
    /// version, and records how its answer differs from the champion's. Never fails the call.
    fn shadow(
        &self,
        profile: &CustomerProfile,
        champion: &ValueAssessment,
        best_action: Option<&str>,
    ) {
        let Some((challenger, stats)) = self.registry.challenger().filter(|_| !self.pinned) else {
            return;
        };
        let opts = AssessOptions {
            max_reasons: 0,
            include_ineligible: false,
        };
        match challenger.scoring.assess(profile, opts) {
            Ok(c) => {
                let diff = c.churn.probability - champion.churn_probability;
                let c_action = c.decision.best_action_id(&challenger.scoring.actions);
                let tier_differs = c.tier.tier != champion.tier.tier;
                let action_differs = best_action.is_some_and(|b| b != c_action);
                stats.record(diff, tier_differs, action_differs);
                if let Some(m) = self.metrics {
                    m.shadowed(challenger, diff);
                }
                // Every comparison at debug level; a large one also at info, for model owners.
                if diff.abs() >= LARGE_SHADOW_DIFF {
                    tracing::info!(request_id = %self.request_id, challenger = %challenger.id.version,
                        probability_diff = diff, tier_differs, action_differs, "large shadow score difference");
                } else {
                    tracing::debug!(request_id = %self.request_id, challenger = %challenger.id.version,
                        probability_diff = diff, tier_differs, action_differs, "shadow score");
                }
            }
            Err(e) => {
                tracing::debug!(request_id = %self.request_id, challenger = %challenger.id.version,
                cause = %e, "shadow model cannot score this request")
            }
        }
    }
}

impl Route {
    /// Records the request id and the answering model on the call's span.
    pub fn record_on_span(&self, request_id: &str) {
        let span = tracing::Span::current();
        span.record("request_id", request_id);
        span.record("model_name", self.model.id.name.as_str());
        span.record("model_version", self.model.id.version.as_str());
    }
}

impl Pipeline {
    /// The pipeline over `store`, recording into `audit` and `metrics` when they are set.
    pub fn new(
        store: Arc<ModelStore>,
        audit: Option<Arc<AuditLog>>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Self {
            store,
            audit,
            metrics,
            next_call: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The served models.
    pub fn store(&self) -> Arc<ModelStore> {
        self.store.clone()
    }

    /// The audit log, when decisions are audited.
    pub fn audit(&self) -> Option<&Arc<AuditLog>> {
        self.audit.as_ref()
    }

    /// The metrics, when they are kept.
    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    /// Step 1, resolve: the model serving `version` (the champion when empty), whether the
    /// caller pinned it, and the registry it came from. `field` names the version in a
    /// `NOT_FOUND`.
    pub fn route(&self, version: &str, field: &str) -> Result<Route, Status> {
        let registry = self.store.current();
        let model = registry
            .resolve(version)
            .map_err(|e| error::unknown_version(field, &e))?
            .clone();
        Ok(Route {
            model,
            registry,
            pinned: !version.is_empty(),
        })
    }

    /// A request id for a call or stream that brought none: `<prefix>-<n>`.
    pub fn next_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}",
            self.next_call.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The model a unary request asked for and the request id to echo (assigned when empty).
    fn resolve(&self, ctx: Option<pb::RequestContext>) -> Result<Resolved<'_>, Status> {
        let ctx = ctx.unwrap_or_default();
        let route = self.route(&ctx.model_version, "context.model_version")?;
        let request_id = if ctx.request_id.is_empty() {
            self.next_id("bankscore")
        } else {
            ctx.request_id
        };
        route.record_on_span(&request_id);
        Ok(Resolved {
            model: route.model,
            registry: route.registry,
            pinned: route.pinned,
            request_id,
            metrics: self.metrics.as_deref(),
        })
    }

    /// The request pipeline of every scoring RPC: resolve the version → validate the profile →
    /// ask the core (metrics, shadow) → audit → the answer for the reply. `rpc` names the call
    /// in the audit log when it is not `T`'s own (RecommendRetentionAction asks what Score asks);
    /// `trace` is the call's, for its audit record. The asking and the audit record run in
    /// child spans (`assess`, `audit`) of the call's span, which gets the decision kind.
    pub async fn answer<T: Question>(
        &self,
        rpc: Option<Rpc>,
        trace: Option<CallTrace>,
        context: Option<pb::RequestContext>,
        profile: Option<pb::CustomerProfile>,
        options: AssessOptions,
    ) -> Result<Answered<T>, Status> {
        let r = self.resolve(context)?;
        let profile = convert::profile(profile)?;
        let answer = tracing::info_span!("assess").in_scope(|| T::ask(&r, &profile, options))?;
        if let Some(kind) = answer.decision_kind() {
            tracing::Span::current().record("decision_kind", kind);
        }
        if let Some(log) = &self.audit {
            let call = AuditedCall {
                rpc: rpc.unwrap_or(T::RPC),
                request_id: &r.request_id,
                model: &r.model,
                profile: &profile,
                options,
                trace,
            };
            log.record_call(call, answer.outputs(&r.model))
                .instrument(tracing::info_span!("audit"))
                .await
                .map_err(error::unaudited)?;
        }
        Ok(Answered {
            model: r.model,
            request_id: r.request_id,
            answer,
        })
    }
}
