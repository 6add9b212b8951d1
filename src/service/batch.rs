//! The `bankscore.v1.BatchScoringService` handlers: ScoreStream here, PlanCampaign in
//! `campaign.rs`, both on the bounded concurrency and low-priority threads of `bulk.rs` so
//! real-time calls come first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::bulk::{next_message, Bulk, Outbox, ResultStream};
use super::convert;
use super::error::{self, FieldError};
use super::pb::{self, batch_scoring_service_server::BatchScoringService};
use crate::audit::{AuditLog, ChunkRecords};
use crate::domain::{AssessOptions, Assessment, BlockScratch, CustomerProfile};
use crate::metrics::Metrics;
use crate::model_store::{LoadedModel, ModelStore};

/// Most records in one `ScoreStream` chunk.
pub const MAX_RECORDS_PER_CHUNK: usize = 10_000;
/// The batch service.
#[derive(Debug)]
pub struct BatchApi {
    store: Arc<ModelStore>,
    bulk: Arc<Bulk>,
    audit: Option<Arc<AuditLog>>,
    next_stream: AtomicU64,
    metrics: Option<Arc<Metrics>>,
}

impl BatchApi {
    /// Batch scoring over `store`, sharing `bulk`.
    pub fn new(store: Arc<ModelStore>, bulk: Arc<Bulk>) -> Self {
        Self {
            store,
            bulk,
            audit: None,
            next_stream: AtomicU64::new(1),
            metrics: None,
        }
    }

    /// Records every scored customer in `audit` (when set), one write per chunk, before the
    /// chunk's results are sent.
    pub fn with_audit(mut self, audit: Option<Arc<AuditLog>>) -> Self {
        self.audit = audit;
        self
    }

    /// The same service, recording what it scores into `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }
}

/// Where a chunk's decisions go besides the results: the audit log (with the stream's id and
/// the stream position of the chunk's first record) and the metrics (with whether the model is
/// the champion, for drift).
#[derive(Clone, Copy, Default)]
struct ChunkSinks<'a> {
    audit: Option<(&'a AuditLog, &'a str, u64)>,
    metrics: Option<(&'a Metrics, bool)>,
}

/// Scores one chunk on a bulk thread, rendering its audit records and counting it into the
/// metrics there too; returns the results and the audit lines to write before sending them.
fn score_stream_chunk(
    model: &LoadedModel,
    records: Vec<pb::StreamRecord>,
    max_reasons: usize,
    sinks: ChunkSinks<'_>,
) -> (Vec<pb::StreamResult>, Vec<u8>) {
    let opts = AssessOptions {
        max_reasons,
        include_ineligible: false,
    };
    let mut audit = sinks
        .audit
        .map(|(log, stream_id, first)| ChunkRecords::new(log, stream_id, model, opts, first));
    let mut tally = sinks.metrics.map(|(m, champion)| m.chunk(model, champion));
    let results = score_records_with(model, records, max_reasons, |i, p, a| {
        if let Some(audit) = &mut audit {
            audit.add(i, p, a);
        }
        if let Some(tally) = &mut tally {
            tally.add(model, p, a);
        }
    });
    if let (Some((m, _)), Some(tally)) = (sinks.metrics, tally) {
        let rejected = results
            .iter()
            .filter(|r| matches!(r.outcome, Some(pb::stream_result::Outcome::Error(_))))
            .count();
        m.merge_chunk(model, tally, rejected as u64);
    }
    (results, audit.map(|a| a.lines).unwrap_or_default())
}

/// Scores one chunk, one result per record, in order, calling `on_decision` with each scored
/// record's index in the chunk.
fn score_records_with(
    model: &LoadedModel,
    records: Vec<pb::StreamRecord>,
    max_reasons: usize,
    mut on_decision: impl FnMut(usize, &CustomerProfile, &Assessment),
) -> Vec<pb::StreamResult> {
    let scoring = &model.scoring;
    let opts = AssessOptions {
        max_reasons,
        include_ineligible: false,
    };
    // Every record's profile first (a blank in place of a refused one), then the chunk's
    // assessments a block at a time, in record order.
    let mut ids = Vec::with_capacity(records.len());
    let mut outcomes: Vec<Option<Result<pb::StreamAssessment, FieldError>>> =
        Vec::with_capacity(records.len());
    let mut profiles = Vec::with_capacity(records.len());
    for record in records {
        ids.push(record.record_id);
        match convert::profile(record.profile) {
            Ok(p) => {
                profiles.push(p);
                outcomes.push(None);
            }
            Err(e) => {
                profiles.push(CustomerProfile::blank());
                outcomes.push(Some(Err(e)));
            }
        }
    }
    let mut scratch = BlockScratch::default();
    for (b, block) in profiles.chunks(ASSESS_BLOCK).enumerate() {
        let first = b * ASSESS_BLOCK;
        let mut assessed = Vec::with_capacity(block.len());
        scoring.assess_block(
            block,
            |r| outcomes[first + r].is_some(),
            opts,
            &mut scratch,
            |r, a| {
                let i = first + r;
                assessed.push((
                    i,
                    match a {
                        Ok(a) => {
                            on_decision(i, &block[r], a);
                            Ok(convert::stream_assessment(scoring, a, max_reasons))
                        }
                        Err(e) => Err(FieldError::missing_feature(&e, &model.id)),
                    },
                ));
            },
        );
        for (i, outcome) in assessed {
            outcomes[i] = Some(outcome);
        }
    }
    ids.into_iter()
        .zip(outcomes)
        .map(|(record_id, outcome)| pb::StreamResult {
            record_id,
            outcome: Some(
                match outcome.expect("every record is refused or assessed") {
                    Ok(a) => pb::stream_result::Outcome::Assessment(a),
                    Err(e) => pb::stream_result::Outcome::Error(e.into()),
                },
            ),
        })
        .collect()
}

/// Profiles assessed together ([`ScoringModel::assess_block`]).
const ASSESS_BLOCK: usize = 256;

#[tonic::async_trait]
impl BatchScoringService for BatchApi {
    type ScoreStreamStream = ResultStream<pb::ScoreStreamResponse>;

    async fn score_stream(
        &self,
        request: Request<Streaming<pb::ScoreStreamRequest>>,
    ) -> Result<Response<Self::ScoreStreamStream>, Status> {
        let admitted = self.bulk.admit()?;
        let mut inbound = request.into_inner();
        let (out, stream) = Outbox::new();
        let (store, bulk, log) = (self.store.clone(), self.bulk.clone(), self.audit.clone());
        let metrics = self.metrics.clone();
        let stream_id = format!(
            "bankscore-stream-{}",
            self.next_stream.fetch_add(1, Ordering::Relaxed)
        );
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
                    let setup = store
                        .current()
                        .resolve(&chunk.model_version)
                        .map_err(|e| error::unknown_version("model_version", &e))
                        .cloned()
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
                    let (model, log, stream_id) = (model.clone(), log.clone(), stream_id.clone());
                    let metrics = metrics.clone();
                    bulk.executor
                        .run(move || {
                            let sinks = ChunkSinks {
                                audit: log
                                    .as_deref()
                                    .map(|l| (l, stream_id.as_str(), first_record)),
                                metrics: metrics.as_deref().map(|m| (m, !pinned)),
                            };
                            score_stream_chunk(&model, chunk.records, max_reasons, sinks)
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
                    if let Err(e) = log.append(audit_lines).await {
                        out.fail(error::unaudited(e));
                        break;
                    }
                }
                let response = pb::ScoreStreamResponse {
                    model: first.then(|| (&model.id).into()),
                    results,
                };
                // Waits while the client is slow to read (backpressure), but not forever.
                if !out.send(response).await {
                    break;
                }
            }
        });
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
