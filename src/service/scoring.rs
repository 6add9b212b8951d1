//! The `bankscore.v1.ScoringService` handlers: each says what it asks and how its reply looks;
//! [`Pipeline::answer`](super::pipeline::Pipeline::answer) does the rest.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use super::pb::{self, scoring_service_server::ScoringService};
use super::pipeline::{Answered, Pipeline};
use super::trace;
use crate::audit::{AuditLog, Rpc};
use crate::domain::{AssessOptions, Assessment, ChurnPrediction, ValueAssessment};
use crate::metrics::Metrics;
use crate::model_store::ModelStore;

/// The scoring service over the store of served models.
#[derive(Debug)]
pub struct ScoringApi {
    pipeline: Pipeline,
}

impl ScoringApi {
    /// A service answering from `store`.
    pub fn new(store: Arc<ModelStore>) -> Self {
        Self {
            pipeline: Pipeline::new(store, None, None),
        }
    }

    /// Records every decision in `audit` (when set) before replying.
    pub fn with_audit(self, audit: Option<Arc<AuditLog>>) -> Self {
        let p = self.pipeline;
        Self {
            pipeline: Pipeline::new(p.store(), audit, p.metrics().cloned()),
        }
    }

    /// The same service, recording its answers into `metrics`.
    pub fn with_metrics(self, metrics: Option<Arc<Metrics>>) -> Self {
        let p = self.pipeline;
        Self {
            pipeline: Pipeline::new(p.store(), p.audit().cloned(), metrics),
        }
    }
}

/// The assessment options a request asks for.
fn options(max_reasons: usize, include_ineligible: bool) -> AssessOptions {
    AssessOptions {
        max_reasons,
        include_ineligible,
    }
}

#[tonic::async_trait]
impl ScoringService for ScoringApi {
    async fn classify_value_tier(
        &self,
        request: Request<pb::ClassifyValueTierRequest>,
    ) -> Result<Response<pb::ClassifyValueTierResponse>, Status> {
        let trace = trace::of(&request);
        let req = request.into_inner();
        let opts = options(0, false);
        let a: Answered<ValueAssessment> = self
            .pipeline
            .answer(None, trace, req.context, req.profile, opts)
            .await?;
        Ok(a.reply(|model, id, _, v| convert::value_tier_reply(model, id, v)))
    }

    async fn predict_churn(
        &self,
        request: Request<pb::PredictChurnRequest>,
    ) -> Result<Response<pb::PredictChurnResponse>, Status> {
        let trace = trace::of(&request);
        let req = request.into_inner();
        let opts = options(convert::max_reasons(req.max_reasons)?, false);
        let a: Answered<ChurnPrediction> = self
            .pipeline
            .answer(None, trace, req.context, req.profile, opts)
            .await?;
        Ok(a.reply(|model, id, scoring, c| convert::churn_reply(model, id, scoring, &c)))
    }

    async fn recommend_retention_action(
        &self,
        request: Request<pb::RecommendRetentionActionRequest>,
    ) -> Result<Response<pb::RecommendRetentionActionResponse>, Status> {
        let trace = trace::of(&request);
        let req = request.into_inner();
        let (rpc, opts) = (
            Some(Rpc::RecommendRetentionAction),
            options(0, req.include_ineligible),
        );
        let a: Answered<Assessment> = self
            .pipeline
            .answer(rpc, trace, req.context, req.profile, opts)
            .await?;
        Ok(a.reply(|model, id, scoring, a| convert::recommendation_reply(model, id, scoring, &a)))
    }

    async fn score(
        &self,
        request: Request<pb::ScoreRequest>,
    ) -> Result<Response<pb::ScoreResponse>, Status> {
        let trace = trace::of(&request);
        let req = request.into_inner();
        let opts = options(
            convert::max_reasons(req.max_reasons)?,
            req.include_ineligible,
        );
        let a: Answered<Assessment> = self
            .pipeline
            .answer(None, trace, req.context, req.profile, opts)
            .await?;
        Ok(a.reply(|model, id, scoring, a| convert::score_reply(model, id, scoring, &a)))
    }
}
