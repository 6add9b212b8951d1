//! The `bankscore.v1.ScoringService` handlers: convert, call the core, convert back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use super::pb::{self, scoring_service_server::ScoringService};
use crate::domain::{AssessOptions, MissingExtraFeature};
use crate::model_store::{LoadedModel, ModelRegistry, UnknownVersion};

/// The scoring service over a registry of loaded models.
#[derive(Debug)]
pub struct ScoringApi {
    registry: Arc<ModelRegistry>,
    next_request: AtomicU64,
}

impl ScoringApi {
    /// A service answering from `registry`.
    pub fn new(registry: Arc<ModelRegistry>) -> Self {
        Self {
            registry,
            next_request: AtomicU64::new(1),
        }
    }

    /// The model a request asked for and the request id to echo (assigned when empty).
    fn resolve(
        &self,
        ctx: Option<pb::RequestContext>,
    ) -> Result<(Arc<LoadedModel>, String), Status> {
        let ctx = ctx.unwrap_or_default();
        let model = self
            .registry
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
        Ok((model, request_id))
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
    async fn classify_value_tier(
        &self,
        request: Request<pb::ClassifyValueTierRequest>,
    ) -> Result<Response<pb::ClassifyValueTierResponse>, Status> {
        let req = request.into_inner();
        let (model, request_id) = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let v = model
            .scoring
            .classify_value(&profile)
            .map_err(missing_feature(&model))?;
        Ok(Response::new(pb::ClassifyValueTierResponse {
            model: Some((&model.id).into()),
            request_id,
            value: Some(v.value.into()),
            tier: Some(v.tier.into()),
            churn_probability: v.churn_probability,
        }))
    }

    async fn predict_churn(
        &self,
        request: Request<pb::PredictChurnRequest>,
    ) -> Result<Response<pb::PredictChurnResponse>, Status> {
        let req = request.into_inner();
        let (model, request_id) = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let max_reasons = convert::max_reasons(req.max_reasons)?;
        let churn = model
            .scoring
            .predict_churn(&profile, max_reasons)
            .map_err(missing_feature(&model))?;
        Ok(Response::new(pb::PredictChurnResponse {
            model: Some((&model.id).into()),
            request_id,
            churn: Some(convert::churn(&model.scoring, &churn)),
        }))
    }

    async fn recommend_retention_action(
        &self,
        request: Request<pb::RecommendRetentionActionRequest>,
    ) -> Result<Response<pb::RecommendRetentionActionResponse>, Status> {
        let req = request.into_inner();
        let (model, request_id) = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let opts = AssessOptions {
            max_reasons: 0,
            include_ineligible: req.include_ineligible,
        };
        let a = model
            .scoring
            .assess(&profile, opts)
            .map_err(missing_feature(&model))?;
        Ok(Response::new(pb::RecommendRetentionActionResponse {
            model: Some((&model.id).into()),
            request_id,
            decision: Some(convert::decision(
                &model.scoring,
                &a.decision,
                a.churn.probability,
            )),
            churn_probability: a.churn.probability,
            tier: pb::ValueTier::from(a.tier.tier).into(),
        }))
    }

    async fn score(
        &self,
        request: Request<pb::ScoreRequest>,
    ) -> Result<Response<pb::ScoreResponse>, Status> {
        let req = request.into_inner();
        let (model, request_id) = self.resolve(req.context)?;
        let profile = convert::profile(req.profile)?;
        let opts = AssessOptions {
            max_reasons: convert::max_reasons(req.max_reasons)?,
            include_ineligible: req.include_ineligible,
        };
        let a = model
            .scoring
            .assess(&profile, opts)
            .map_err(missing_feature(&model))?;
        Ok(Response::new(pb::ScoreResponse {
            model: Some((&model.id).into()),
            request_id,
            value: Some(a.value.into()),
            tier: Some(a.tier.into()),
            churn: Some(convert::churn(&model.scoring, &a.churn)),
            decision: Some(convert::decision(
                &model.scoring,
                &a.decision,
                a.churn.probability,
            )),
        }))
    }
}
