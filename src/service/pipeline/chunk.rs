//! The many-rows path of the pipeline: one `ScoreStream` chunk validated, assessed a block at a
//! time, counted into the metrics and rendered into audit lines on a bulk thread.

use super::Pipeline;
use crate::audit::{AuditLog, ChunkRecords};
use crate::domain::{AssessOptions, Assessment, BlockScratch, CustomerProfile};
use crate::metrics::Metrics;
use crate::model_store::LoadedModel;
use crate::service::convert;
use crate::service::error::FieldError;
use crate::service::pb;

/// Where a chunk sits: its stream, the stream position of its first record, and whether the
/// stream pinned its model version (then it does not count as the champion's for drift).
#[derive(Debug, Clone, Copy)]
pub struct ChunkPosition<'a> {
    /// The stream's id, the audit records' request id.
    pub stream_id: &'a str,
    /// The stream position of the chunk's first record.
    pub first_record: u64,
    /// The stream asked for its version.
    pub pinned: bool,
}

impl Pipeline {
    /// Validates, assesses, counts and audits one chunk of `model`'s stream: one result per
    /// record, in order, and the audit lines to write (in one write) before sending them.
    pub fn score_chunk(
        &self,
        model: &LoadedModel,
        records: Vec<pb::StreamRecord>,
        max_reasons: usize,
        at: ChunkPosition<'_>,
    ) -> (Vec<pb::StreamResult>, Vec<u8>) {
        let sinks = ChunkSinks {
            audit: self
                .audit()
                .map(|l| (l.as_ref(), at.stream_id, at.first_record)),
            metrics: self.metrics().map(|m| (m.as_ref(), !at.pinned)),
        };
        score_stream_chunk(model, records, max_reasons, sinks)
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
