//! The Open Inference Protocol v2 (`inference.GRPCInferenceService`, KServe's
//! `grpc_predict_v2.proto`) on the scoring port, for the bank's existing inference clients and
//! routers: readiness and metadata follow the loaded models, and `ModelInfer` assesses each row
//! exactly as `Score` assesses the same customer, through the same pipeline (metrics, audit).
//!
//! - [`signature`]: the model as tensors, its inputs and outputs with their datatypes;
//! - [`tensors`]: input tensors (per input or one `[N, F]`; typed or raw) into profiles;
//! - [`outputs`]: assessments into the output tensors asked for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::bulk::Bulk;
use super::error::{self, FieldError};
use super::pipeline::{ChunkPosition, Pipeline, Route};
use crate::audit::{AuditLog, Rpc};
use crate::domain::AssessOptions;
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelStore};
use crate::telemetry::CallTrace;

mod outputs;
mod signature;
mod tensors;

pub use signature::{Datatype, Output, CUSTOMER_ID};
pub use tensors::MAX_ROWS;

/// Generated `inference` (Open Inference Protocol v2) messages, client and server.
pub mod v2 {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("inference");
}

use v2::grpc_inference_service_server::GrpcInferenceService;
use v2::model_metadata_response::TensorMetadata;

/// The platform ModelMetadata names.
pub const PLATFORM: &str = "bankscore";
/// The protocol extensions ServerMetadata lists: tensors as raw bytes (`raw_input_contents`).
pub const EXTENSIONS: &[&str] = &["binary_tensor_data"];
/// Requests with more rows than this are assessed on a bulk thread, so that a large one does
/// not hold up the real-time calls sharing the runtime's threads.
pub const INLINE_ROWS: usize = 64;

/// The inference service over the store of served models.
#[derive(Debug)]
pub struct InferenceApi {
    pipeline: Pipeline,
    bulk: Arc<Bulk>,
    serving: Arc<AtomicBool>,
}

impl InferenceApi {
    /// The service answering from `store`, assessing large requests on `bulk`'s threads,
    /// recording into `audit` and `metrics` when set; ready while `serving` holds.
    pub fn new(
        store: Arc<ModelStore>,
        bulk: Arc<Bulk>,
        audit: Option<Arc<AuditLog>>,
        metrics: Option<Arc<Metrics>>,
        serving: Arc<AtomicBool>,
    ) -> Self {
        Self {
            pipeline: Pipeline::new(store, audit, metrics),
            bulk,
            serving,
        }
    }

    /// The model `name` at `version` (the live one when empty).
    fn route(
        &self,
        name: &str,
        name_field: &str,
        version: &str,
        version_field: &str,
    ) -> Result<Route, Status> {
        let served = self.pipeline.store().current();
        if name != served.name() {
            return Err(Status::not_found(format!(
                "{name_field}: no model {name:?} is served here; the served model is {:?}",
                served.name()
            )));
        }
        self.pipeline.route(version, version_field)
    }
}

/// `model`'s inputs and outputs as ModelMetadata declares them.
fn metadata(model: &LoadedModel, versions: Vec<String>) -> v2::ModelMetadataResponse {
    let tensor = |name: &str, datatype: Datatype| TensorMetadata {
        name: name.to_owned(),
        datatype: datatype.name().to_owned(),
        shape: vec![-1],
    };
    let inputs = signature::numeric_inputs(&model.scoring)
        .map(|f| tensor(&f.name(), f.datatype()))
        .chain([tensor(CUSTOMER_ID, Datatype::Bytes)])
        .collect();
    let outputs = Output::ALL
        .iter()
        .map(|o| tensor(o.name(), o.datatype()))
        .collect();
    v2::ModelMetadataResponse {
        name: model.id.name.clone(),
        versions,
        platform: PLATFORM.to_owned(),
        inputs,
        outputs,
    }
}

/// Assesses the rows of `request` with `route`'s model: the reply and the audit lines to write
/// before it goes out.
fn infer(
    pipeline: &Pipeline,
    route: &Route,
    request: &v2::ModelInferRequest,
    request_id: &str,
    trace: Option<CallTrace>,
) -> Result<(v2::ModelInferResponse, Vec<u8>), FieldError> {
    let model = &route.model;
    let wanted = outputs::requested(&request.outputs)?;
    let profiles = tensors::profiles(model, request, request_id)?;
    let opts = AssessOptions {
        max_reasons: 0,
        include_ineligible: false,
    };
    let at = ChunkPosition {
        rpc: Rpc::ModelInfer,
        stream_id: request_id,
        first_record: 0,
        pinned: route.pinned,
        trace,
    };
    let mut rows = Vec::with_capacity(profiles.len());
    let mut missing = None;
    let audit_lines = pipeline.assess_rows(
        model,
        &profiles,
        |_| false,
        opts,
        at,
        |_, a| match a {
            Ok(a) => rows.push(outputs::RowAnswer::of(&model.scoring, a)),
            Err(e) => missing = missing.take().or(Some(e)),
        },
    );
    if let Some(e) = missing {
        // Every input the model reads was required above: this cannot be the caller's doing.
        return Err(FieldError::new(
            format!("input {}{}", crate::domain::profile::EXTRA_PREFIX, e.key),
            "is required",
        ));
    }
    let raw = !request.raw_input_contents.is_empty();
    let (outputs, raw_output_contents) = outputs::tensors(&wanted, &rows, raw);
    let reply = v2::ModelInferResponse {
        model_name: model.id.name.clone(),
        model_version: model.id.version.clone(),
        id: request.id.clone(),
        parameters: Default::default(),
        outputs,
        raw_output_contents,
    };
    Ok((reply, audit_lines))
}

/// The rows a request says it carries (its first input's first dimension), to choose where to
/// assess it.
fn declared_rows(request: &v2::ModelInferRequest) -> usize {
    request
        .inputs
        .first()
        .and_then(|t| t.shape.first())
        .map_or(0, |&n| usize::try_from(n).unwrap_or(0))
}

#[tonic::async_trait]
impl GrpcInferenceService for InferenceApi {
    async fn server_live(
        &self,
        _: Request<v2::ServerLiveRequest>,
    ) -> Result<Response<v2::ServerLiveResponse>, Status> {
        Ok(Response::new(v2::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<v2::ServerReadyRequest>,
    ) -> Result<Response<v2::ServerReadyResponse>, Status> {
        let ready = self.serving.load(Ordering::Relaxed);
        Ok(Response::new(v2::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<v2::ModelReadyRequest>,
    ) -> Result<Response<v2::ModelReadyResponse>, Status> {
        let r = request.into_inner();
        let ready = self.serving.load(Ordering::Relaxed)
            && self.route(&r.name, "name", &r.version, "version").is_ok();
        Ok(Response::new(v2::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<v2::ServerMetadataRequest>,
    ) -> Result<Response<v2::ServerMetadataResponse>, Status> {
        Ok(Response::new(v2::ServerMetadataResponse {
            name: PLATFORM.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            extensions: EXTENSIONS.iter().map(|e| (*e).to_owned()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<v2::ModelMetadataRequest>,
    ) -> Result<Response<v2::ModelMetadataResponse>, Status> {
        let r = request.into_inner();
        let route = self.route(&r.name, "name", &r.version, "version")?;
        let versions = route
            .registry
            .versions()
            .iter()
            .map(|m| m.id.version.clone())
            .collect();
        Ok(Response::new(metadata(&route.model, versions)))
    }

    async fn model_infer(
        &self,
        request: Request<v2::ModelInferRequest>,
    ) -> Result<Response<v2::ModelInferResponse>, Status> {
        let trace = super::trace::of(&request);
        let request = request.into_inner();
        let route = self.route(
            &request.model_name,
            "model_name",
            &request.model_version,
            "model_version",
        )?;
        let request_id = if request.id.is_empty() {
            self.pipeline.next_id("bankscore-infer")
        } else {
            request.id.clone()
        };
        route.record_on_span(&request_id);
        let rows = declared_rows(&request);
        let assess = tracing::info_span!("assess", rows);
        let (reply, audit_lines) = if rows <= INLINE_ROWS {
            assess.in_scope(|| infer(&self.pipeline, &route, &request, &request_id, trace))?
        } else {
            let pipeline = self.pipeline.clone();
            self.bulk
                .executor
                .run(move || {
                    assess.in_scope(|| infer(&pipeline, &route, &request, &request_id, trace))
                })
                .await
                .map_err(error::bulk)??
        };
        if let (Some(log), false) = (self.pipeline.audit(), audit_lines.is_empty()) {
            log.append(audit_lines)
                .instrument(tracing::info_span!("audit"))
                .await
                .map_err(error::unaudited)?;
        }
        Ok(Response::new(reply))
    }
}
