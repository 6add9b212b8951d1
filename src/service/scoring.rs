//! The `bankscore.v1.ScoringService` handlers: convert, call the core, convert back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::audit::{self, Decision};
use super::convert;
use super::pb::{self, scoring_service_server::ScoringService};
use crate::audit::{AuditLog, Outputs, Rpc};
use crate::domain::{
    AssessOptions, Assessment, CustomerProfile, MissingExtraFeature, ValueAssessment,
};
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelRegistry, ModelStore, UnknownVersion};

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

impl Resolved<'_> {
    /// The full assessment by the resolved model, shadowed by the challenger.
    fn assess(&self, profile: &CustomerProfile, opts: AssessOptions) -> Result<Assessment, Status> {
        let a = self
            .model
            .scoring
            .assess(profile, opts)
            .map_err(missing_feature(&self.model))?;
        if let Some(m) = self.metrics {
            m.assessed(&self.model, !self.pinned, profile, &a);
        }
        self.shadow(
            profile,
            &a.value_assessment(),
            Some(best_action_id(&self.model, &a)),
        );
        Ok(a)
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
                let c_action = best_action_id(challenger, &c);
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

    /// Audits one decision of `r`; see [`audit::record`].
    async fn audit(
        &self,
        r: &Resolved<'_>,
        rpc: Rpc,
        profile: &CustomerProfile,
        options: AssessOptions,
        outputs: impl FnOnce() -> Outputs,
    ) -> Result<(), Status> {
        let d = Decision {
            rpc,
            request_id: &r.request_id,
            model: &r.model,
            profile,
            options,
        };
        audit::record(self.audit.as_deref(), d, outputs).await
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
            .map_err(not_found)?
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
}

fn not_found(e: UnknownVersion) -> Status {
    Status::not_found(format!("context.model_version: {e}"))
}

fn missing_feature(model: &LoadedModel) -> impl FnOnce(MissingExtraFeature) -> Status + '_ {
    move |e| {
        Status::invalid_argument(format!(
            "profile.{e} {} version {}",
            model.id.name, model.id.version
        ))
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
        let r = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let v = r
            .model
            .scoring
            .classify_value(&profile)
            .map_err(missing_feature(&r.model))?;
        if let Some(m) = r.metrics {
            m.valued(&r.model, !r.pinned, &profile, &v);
        }
        r.shadow(&profile, &v, None);
        let opts = AssessOptions {
            max_reasons: 0,
            include_ineligible: false,
        };
        self.audit(&r, Rpc::ClassifyValueTier, &profile, opts, || {
            Outputs::of_value(&v)
        })
        .await?;
        Ok(Response::new(pb::ClassifyValueTierResponse {
            model: Some((&r.model.id).into()),
            request_id: r.request_id,
            value: Some(v.value.into()),
            tier: Some(v.tier.into()),
            churn_probability: v.churn_probability,
        }))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn predict_churn(
        &self,
        request: Request<pb::PredictChurnRequest>,
    ) -> Result<Response<pb::PredictChurnResponse>, Status> {
        let req = request.into_inner();
        let r = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let max_reasons = convert::max_reasons(req.max_reasons)?;
        let churn = r
            .model
            .scoring
            .predict_churn(&profile, max_reasons)
            .map_err(missing_feature(&r.model))?;
        if let Some(m) = r.metrics {
            m.churn_predicted(&r.model, !r.pinned, &profile, churn.probability);
        }
        if r.registry.challenger().is_some() {
            r.shadow(
                &profile,
                &r.model
                    .scoring
                    .value_assessment(&profile, churn.probability),
                None,
            );
        }
        let opts = AssessOptions {
            max_reasons,
            include_ineligible: false,
        };
        self.audit(&r, Rpc::PredictChurn, &profile, opts, || {
            Outputs::of_churn(&churn)
        })
        .await?;
        Ok(Response::new(pb::PredictChurnResponse {
            model: Some((&r.model.id).into()),
            request_id: r.request_id,
            churn: Some(convert::churn(&r.model.scoring, &churn)),
        }))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn recommend_retention_action(
        &self,
        request: Request<pb::RecommendRetentionActionRequest>,
    ) -> Result<Response<pb::RecommendRetentionActionResponse>, Status> {
        let req = request.into_inner();
        let r = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let opts = AssessOptions {
            max_reasons: 0,
            include_ineligible: req.include_ineligible,
        };
        let a = r.assess(&profile, opts)?;
        self.audit(&r, Rpc::RecommendRetentionAction, &profile, opts, || {
            Outputs::of_assessment(&r.model.scoring, &a)
        })
        .await?;
        Ok(Response::new(pb::RecommendRetentionActionResponse {
            model: Some((&r.model.id).into()),
            request_id: r.request_id,
            decision: Some(convert::decision(
                &r.model.scoring,
                &a.decision,
                a.churn.probability,
            )),
            churn_probability: a.churn.probability,
            tier: pb::ValueTier::from(a.tier.tier).into(),
        }))
    }

    #[tracing::instrument(skip_all, fields(request_id = tracing::field::Empty, model_version = tracing::field::Empty))]
    async fn score(
        &self,
        request: Request<pb::ScoreRequest>,
    ) -> Result<Response<pb::ScoreResponse>, Status> {
        let req = request.into_inner();
        let r = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let opts = AssessOptions {
            max_reasons: convert::max_reasons(req.max_reasons)?,
            include_ineligible: req.include_ineligible,
        };
        let a = r.assess(&profile, opts)?;
        self.audit(&r, Rpc::Score, &profile, opts, || {
            Outputs::of_assessment(&r.model.scoring, &a)
        })
        .await?;
        Ok(Response::new(pb::ScoreResponse {
            model: Some((&r.model.id).into()),
            request_id: r.request_id,
            value: Some(a.value.into()),
            tier: Some(a.tier.into()),
            churn: Some(convert::churn(&r.model.scoring, &a.churn)),
            decision: Some(convert::decision(
                &r.model.scoring,
                &a.decision,
                a.churn.probability,
            )),
        }))
    }
}

/// The chosen action's id, or `no_action`.
fn best_action_id<'a>(model: &'a LoadedModel, a: &Assessment) -> &'a str {
    a.decision.best().map_or("no_action", |o| {
        model.scoring.actions.actions[o.action].id.as_str()
    })
}
