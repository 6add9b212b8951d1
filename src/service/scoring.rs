//! The `bankscore.v1.ScoringService` handlers. Every call goes through one pipeline,
//! [`ScoringApi::answer`]: resolve the model version, validate the profile, ask the core, record
//! the metrics and the challenger's shadow comparison, audit, and hand the answer to the reply;
//! each handler only says what it asks and how the reply looks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use super::error::{self, FieldError};
use super::pb::{self, scoring_service_server::ScoringService};
use crate::audit::{AuditLog, AuditedCall, Outputs, Rpc};
use crate::domain::{
    AssessOptions, Assessment, ChurnPrediction, CustomerProfile, ScoringModel, ValueAssessment,
};
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelRegistry, ModelStore};

/// The scoring service over the store of served models.
#[derive(Debug)]
pub struct ScoringApi {
    store: Arc<ModelStore>,
    next_request: AtomicU64,
    audit: Option<Arc<AuditLog>>,
    metrics: Option<Arc<Metrics>>,
}

/// A challenger answer this far from the champion's (in probability) is logged at info level.
pub const LARGE_SHADOW_DIFF: f64 = 0.1;

/// The model answering a request, and the registry it came from (for shadow scoring).
struct Resolved<'a> {
    model: Arc<LoadedModel>,
    registry: Arc<ModelRegistry>,
    pinned: bool,
    request_id: String,
    metrics: Option<&'a Metrics>,
}

/// What one kind of call asks the core: its answer, with the metrics and the shadow comparison
/// it records, and what its audit record keeps.
trait Question: Sized {
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
}

/// A call answered: the model that answered, the request id to echo, and the answer.
struct Answered<T> {
    model: Arc<LoadedModel>,
    request_id: String,
    answer: T,
}

impl<T> Answered<T> {
    /// The reply `render` makes of the answer, with the model's reference and the request id.
    fn reply<R>(
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

impl ScoringApi {
    /// A service answering from `store`.
    pub fn new(store: Arc<ModelStore>) -> Self {
        Self {
            store,
            next_request: AtomicU64::new(1),
            audit: None,
            metrics: None,
        }
    }

    /// Records every decision in `audit` (when set) before replying.
    pub fn with_audit(mut self, audit: Option<Arc<AuditLog>>) -> Self {
        self.audit = audit;
        self
    }

    /// The same service, recording its answers into `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The model a request asked for and the request id to echo (assigned when empty).
    fn resolve(&self, ctx: Option<pb::RequestContext>) -> Result<Resolved<'_>, Status> {
        let ctx = ctx.unwrap_or_default();
        let registry = self.store.current();
        let model = registry
            .resolve(&ctx.model_version)
            .map_err(|e| error::unknown_version("context.model_version", &e))?
            .clone();
        let request_id = if ctx.request_id.is_empty() {
            format!(
                "bankscore-{}",
                self.next_request.fetch_add(1, Ordering::Relaxed)
            )
        } else {
            ctx.request_id
        };
        let span = tracing::Span::current();
        span.record("request_id", request_id.as_str());
        span.record("model_version", model.id.version.as_str());
        Ok(Resolved {
            model,
            registry,
            pinned: !ctx.model_version.is_empty(),
            request_id,
            metrics: self.metrics.as_deref(),
        })
    }

    /// The request pipeline of every scoring RPC: resolve the version → validate the profile →
    /// ask the core (metrics, shadow) → audit → the answer for the reply. `rpc` names the call
    /// in the audit log when it is not `T`'s own (RecommendRetentionAction asks what Score asks).
    async fn answer<T: Question>(
        &self,
        rpc: Option<Rpc>,
        context: Option<pb::RequestContext>,
        profile: Option<pb::CustomerProfile>,
        options: AssessOptions,
    ) -> Result<Answered<T>, Status> {
        let r = self.resolve(context)?;
        let profile = convert::profile(profile)?;
        let answer = T::ask(&r, &profile, options)?;
        if let Some(log) = &self.audit {
            let call = AuditedCall {
                rpc: rpc.unwrap_or(T::RPC),
                request_id: &r.request_id,
                model: &r.model,
                profile: &profile,
                options,
            };
            log.record_call(call, answer.outputs(&r.model))
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

/// The options of an RPC that lists no churn reasons.
fn options(max_reasons: usize, include_ineligible: bool) -> AssessOptions {
    AssessOptions {
        max_reasons,
        include_ineligible,
    }
}

#[tonic::async_trait]
impl ScoringService for ScoringApi {
    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn classify_value_tier(
        &self,
        request: Request<pb::ClassifyValueTierRequest>,
    ) -> Result<Response<pb::ClassifyValueTierResponse>, Status> {
        let req = request.into_inner();
        let opts = options(0, false);
        let a: Answered<ValueAssessment> =
            self.answer(None, req.context, req.profile, opts).await?;
        Ok(a.reply(|model, id, _, v| convert::value_tier_reply(model, id, v)))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn predict_churn(
        &self,
        request: Request<pb::PredictChurnRequest>,
    ) -> Result<Response<pb::PredictChurnResponse>, Status> {
        let req = request.into_inner();
        let opts = options(convert::max_reasons(req.max_reasons)?, false);
        let a: Answered<ChurnPrediction> =
            self.answer(None, req.context, req.profile, opts).await?;
        Ok(a.reply(|model, id, scoring, c| convert::churn_reply(model, id, scoring, &c)))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn recommend_retention_action(
        &self,
        request: Request<pb::RecommendRetentionActionRequest>,
    ) -> Result<Response<pb::RecommendRetentionActionResponse>, Status> {
        let req = request.into_inner();
        let (rpc, opts) = (
            Some(Rpc::RecommendRetentionAction),
            options(0, req.include_ineligible),
        );
        let a: Answered<Assessment> = self.answer(rpc, req.context, req.profile, opts).await?;
        Ok(a.reply(|model, id, scoring, a| convert::recommendation_reply(model, id, scoring, &a)))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn score(
        &self,
        request: Request<pb::ScoreRequest>,
    ) -> Result<Response<pb::ScoreResponse>, Status> {
        let req = request.into_inner();
        let opts = options(
            convert::max_reasons(req.max_reasons)?,
            req.include_ineligible,
        );
        let a: Answered<Assessment> = self.answer(None, req.context, req.profile, opts).await?;
        Ok(a.reply(|model, id, scoring, a| convert::score_reply(model, id, scoring, &a)))
    }
}
