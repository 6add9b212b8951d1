//! The `bankscore.v1.BatchScoringService` handlers: ScoreStream here, PlanCampaign in
//! `campaign.rs`, both on the bounded concurrency and low-priority threads of `bulk.rs` so
//! real-time calls come first.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::bulk::{next_message, Bulk, Outbox, ResultStream};
use super::convert;
use super::error::{self, FieldError};
use super::pb::{self, batch_scoring_service_server::BatchScoringService};
use super::pipeline::{ChunkPosition, Pipeline};
use crate::audit::{AuditLog, Rpc};
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelStore};

/// Most records in one `ScoreStream` chunk.
pub const MAX_RECORDS_PER_CHUNK: usize = 10_000;
/// The batch service.
#[derive(Debug)]
pub struct BatchApi {
    pipeline: Pipeline,
    bulk: Arc<Bulk>,
    max_message_bytes: usize,
}

/// Bytes of a response message beside its results (the model reference, field tags).
const RESPONSE_OVERHEAD: usize = 1024;

/// `results` in consecutive pieces whose responses each stay within `limit` bytes encoded.
fn split_to_fit(results: Vec<pb::StreamResult>, limit: usize) -> Vec<Vec<pb::StreamResult>> {
    use prost::Message;
    let room = limit.saturating_sub(RESPONSE_OVERHEAD).max(1);
    let mut pieces = Vec::new();
    let mut piece = Vec::new();
    let mut size = 0;
    for r in results {
        // The field's tag and length prefix: at most 1 + 5 bytes.
        let len = r.encoded_len() + 6;
        if size + len > room && !piece.is_empty() {
            pieces.push(std::mem::take(&mut piece));
            size = 0;
        }
        size += len;
        piece.push(r);
    }
    if !piece.is_empty() || pieces.is_empty() {
        pieces.push(piece);
    }
    pieces
}

impl BatchApi {
    /// Batch scoring over `store`, sharing `bulk`.
    pub fn new(store: Arc<ModelStore>, bulk: Arc<Bulk>) -> Self {
        Self {
            pipeline: Pipeline::new(store, None, None),
            bulk,
            max_message_bytes: super::MAX_MESSAGE_BYTES,
        }
    }

    /// Records every scored customer in `audit` (when set), one write per chunk, before the
    /// chunk's results are sent.
    pub fn with_audit(self, audit: Option<Arc<AuditLog>>) -> Self {
        let p = &self.pipeline;
        let pipeline = Pipeline::new(p.store(), audit, p.metrics().cloned());
        Self { pipeline, ..self }
    }

    /// The same service, splitting a chunk's results over several responses when one would be
    /// larger than `max_message_bytes`.
    pub fn with_max_message_bytes(self, max_message_bytes: usize) -> Self {
        Self {
            max_message_bytes,
            ..self
        }
    }

    /// The same service, recording what it scores into `metrics`.
    pub fn with_metrics(self, metrics: Option<Arc<Metrics>>) -> Self {
        let p = &self.pipeline;
        let pipeline = Pipeline::new(p.store(), p.audit().cloned(), metrics);
        Self { pipeline, ..self }
    }
}

#[tonic::async_trait]
impl BatchScoringService for BatchApi {
    type ScoreStreamStream = ResultStream<pb::ScoreStreamResponse>;

    async fn score_stream(
        &self,
        request: Request<Streaming<pb::ScoreStreamRequest>>,
    ) -> Result<Response<Self::ScoreStreamStream>, Status> {
        let admitted = self.bulk.admit()?;
        let trace = super::trace::of(&request);
        let mut inbound = request.into_inner();
        let (out, stream) = Outbox::new();
        let (pipeline, bulk) = (self.pipeline.clone(), self.bulk.clone());
        let log = pipeline.audit().cloned();
        let stream_id = pipeline.next_id("bankscore-stream");
        let reply_limit = self.max_message_bytes;
        // The stream runs in the call's span, which lasts until its last chunk is answered.
        let span = tracing::Span::current();
        tokio::spawn(async move {
            let _admitted = admitted;
            let mut stream_model: Option<(Arc<LoadedModel>, usize)> = None;
            let mut position = 0u64;
            let mut pinned = false;
            loop {
                let chunk = match next_message(&mut inbound).await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(status) => {
                        out.fail(status);
                        break;
                    }
                };
                let first = stream_model.is_none();
                if first {
                    pinned = !chunk.model_version.is_empty();
                    let setup = pipeline
                        .route(&chunk.model_version, "model_version")
                        .map(|route| {
                            route.record_on_span(&stream_id);
                            route.model
                        })
                        .and_then(|m| {
                            let reasons = convert::stream_reasons(chunk.max_reasons)?;
                            Ok((m, reasons))
                        });
                    match setup {
                        Ok(s) => stream_model = Some(s),
                        Err(status) => {
                            out.fail(status);
                            break;
                        }
                    }
                }
                if chunk.records.len() > MAX_RECORDS_PER_CHUNK {
                    out.fail(
                        FieldError::new(
                            "records",
                            format_args!(
                                "the chunk has {} records, at most {MAX_RECORDS_PER_CHUNK} are allowed",
                                chunk.records.len()
                            ),
                        )
                        .into(),
                    );
                    break;
                }
                let (model, max_reasons) = stream_model.clone().expect("set on the first chunk");
                let first_record = position;
                position += chunk.records.len() as u64;
                let scored = {
                    let (pipeline, model, stream_id) =
                        (pipeline.clone(), model.clone(), stream_id.clone());
                    let assess = tracing::info_span!("assess", first_record, records = chunk.records.len());
                    bulk.executor
                        .run(move || {
                            let at = ChunkPosition {
                                rpc: Rpc::ScoreStream,
                                stream_id: &stream_id,
                                first_record,
                                pinned,
                                trace,
                            };
                            assess.in_scope(|| {
                                pipeline.score_chunk(&model, chunk.records, max_reasons, at)
                            })
                        })
                        .await
                };
                let (results, audit_lines) = match scored {
                    Ok(scored) => scored,
                    Err(e) => {
                        out.fail(error::bulk(e));
                        break;
                    }
                };
                // The chunk's decisions reach the audit log, in one write, before its results go out.
                if let (Some(log), false) = (&log, audit_lines.is_empty()) {
                    let audited = log
                        .append(audit_lines)
                        .instrument(tracing::info_span!("audit"))
                        .await;
                    if let Err(e) = audited {
                        out.fail(error::unaudited(e));
                        break;
                    }
                }
                // One response per chunk, or several in a row when its results would not fit in
                // one message (many records with many reasons).
                let mut model_ref = first.then(|| (&model.id).into());
                let mut sent = true;
                for results in split_to_fit(results, reply_limit) {
                    let response = pb::ScoreStreamResponse {
                        model: model_ref.take(),
                        results,
                    };
                    // Waits while the client is slow to read (backpressure), but not forever.
                    sent = out.send(response).await;
                    if !sent {
                        break;
                    }
                }
                if !sent {
                    break;
                }
            }
        }.instrument(span));
        Ok(Response::new(stream))
    }

    type PlanCampaignStream = ResultStream<pb::PlanCampaignResponse>;

    async fn plan_campaign(
        &self,
        request: Request<Streaming<pb::PlanCampaignRequest>>,
    ) -> Result<Response<Self::PlanCampaignStream>, Status> {
        let admitted = self.bulk.admit()?;
        super::campaign::plan_campaign(&self.bulk, admitted, request.into_inner()).await
    }
}
