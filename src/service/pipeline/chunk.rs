//! The many-rows path of the pipeline: a block of profiles (a `ScoreStream` chunk, the rows of a
//! `ModelInfer` request) assessed a block at a time, counted into the metrics and rendered into
//! audit lines, on the calling thread (a bulk thread for streams).

use super::Pipeline;
use crate::audit::{ChunkRecords, Rpc};
use crate::domain::{
    AssessOptions, Assessment, BlockScratch, CustomerProfile, MissingExtraFeature,
};
use crate::model_store::LoadedModel;
use crate::service::convert;
use crate::service::error::FieldError;
use crate::service::pb;
use crate::telemetry::CallTrace;

/// Where a block of rows sits: the RPC and its stream or request, the position of its first
/// row, and whether the caller pinned its model version (then it does not count as the
/// champion's for drift).
#[derive(Debug, Clone, Copy)]
pub struct ChunkPosition<'a> {
    /// The RPC, as the audit log names it.
    pub rpc: Rpc,
    /// The stream's (or request's) id, the audit records' request id.
    pub stream_id: &'a str,
    /// The position of the block's first row in its stream (0 for a request).
    pub first_record: u64,
    /// The caller asked for its version.
    pub pinned: bool,
    /// The trace the call belongs to, for the audit records.
    pub trace: Option<CallTrace>,
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
        let refused: Vec<bool> = outcomes.iter().map(Option::is_some).collect();
        let audit_lines = self.assess_rows(
            model,
            &profiles,
            |i| refused[i],
            opts,
            at,
            |i, a| {
                outcomes[i] = Some(match a {
                    Ok(a) => Ok(convert::stream_assessment(scoring, a, max_reasons)),
                    Err(e) => Err(FieldError::missing_feature(&e, &model.id)),
                });
            },
        );
        let results = ids
            .into_iter()
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
            .collect();
        (results, audit_lines)
    }

    /// Assesses `profiles` with `model` a block at a time, in order, skipping the rows `refused`
    /// names; counts every row into the metrics (a refused row, or one lacking a feature, as
    /// rejected), renders each decision's audit record, and hands each assessed row to `each`
    /// with its index. Returns the audit lines, to be written (in one write) before any of the
    /// answers goes out.
    pub fn assess_rows(
        &self,
        model: &LoadedModel,
        profiles: &[CustomerProfile],
        refused: impl Fn(usize) -> bool,
        opts: AssessOptions,
        at: ChunkPosition<'_>,
        mut each: impl FnMut(usize, Result<&Assessment, MissingExtraFeature>),
    ) -> Vec<u8> {
        let first = at.first_record;
        let mut audit = self
            .audit()
            .map(|log| ChunkRecords::new(log, at.rpc, at.trace, at.stream_id, model, opts, first));
        let metrics = self.metrics();
        let mut tally = metrics.map(|m| m.chunk(model, !at.pinned));
        let mut rejected = (0..profiles.len()).filter(|&i| refused(i)).count() as u64;
        let mut scratch = BlockScratch::default();
        for (b, block) in profiles.chunks(ASSESS_BLOCK).enumerate() {
            let start = b * ASSESS_BLOCK;
            model.scoring.assess_block(
                block,
                |r| refused(start + r),
                opts,
                &mut scratch,
                |r, a| {
                    let i = start + r;
                    match &a {
                        Ok(a) => {
                            if let Some(audit) = &mut audit {
                                audit.add(i, &block[r], a);
                            }
                            if let Some(tally) = &mut tally {
                                tally.add(model, &block[r], a);
                            }
                        }
                        Err(_) => rejected += 1,
                    }
                    each(i, a);
                },
            );
        }
        if let (Some(m), Some(tally)) = (metrics, tally) {
            m.merge_chunk(model, tally, rejected);
        }
        audit.map(|a| a.lines).unwrap_or_default()
    }
}

/// Profiles assessed together ([`ScoringModel::assess_block`](crate::domain::ScoringModel::assess_block)).
const ASSESS_BLOCK: usize = 256;
