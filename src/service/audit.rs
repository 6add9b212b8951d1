//! Auditing at the gRPC edge: building each decision's record and refusing a decision that
//! cannot be audited.

use tonic::Status;

use crate::audit::record::{now, DecisionRecord, ScoredInputs};
use crate::audit::{AuditError, AuditLog, Outputs, Rpc};
use crate::domain::{AssessOptions, Assessment, CustomerProfile};
use crate::model_store::LoadedModel;

/// One decision to audit.
pub(super) struct Decision<'a> {
    /// The RPC that decided.
    pub rpc: Rpc,
    /// The request id echoed to the caller.
    pub request_id: &'a str,
    /// The deciding bundle.
    pub model: &'a LoadedModel,
    /// The profile as scored.
    pub profile: &'a CustomerProfile,
    /// The options it was scored with.
    pub options: AssessOptions,
}

/// Appends the decision to `log` (if auditing is on) and waits until it is written.
///
/// # Errors
/// `UNAVAILABLE`: the record could not be written, so the decision must not be returned.
pub(super) async fn record(
    log: Option<&AuditLog>,
    d: Decision<'_>,
    outputs: impl FnOnce() -> Outputs,
) -> Result<(), Status> {
    let Some(log) = log else {
        return Ok(());
    };
    let customer = log.hasher().hash(&d.profile.customer_id);
    // Logs name a customer only by the keyed hash, and never show profile values.
    tracing::debug!(customer = %customer, rpc = ?d.rpc, "auditing decision");
    let line = DecisionRecord {
        time: now(),
        request_id: d.request_id,
        rpc: d.rpc,
        record: None,
        customer,
        model: (&d.model.id).into(),
        options: d.options.into(),
        inputs: ScoredInputs(d.profile),
        outputs: outputs(),
    }
    .to_line();
    log.append(line).await.map_err(unaudited)
}

/// The status of a decision refused because it could not be audited.
pub(super) fn unaudited(e: AuditError) -> Status {
    Status::unavailable(format!(
        "the decision could not be recorded in the audit log, so it is not returned: {e}"
    ))
}

/// The records of one ScoreStream chunk, collected while it is scored and written at once.
pub(super) struct ChunkRecords<'a> {
    log: &'a AuditLog,
    stream_id: &'a str,
    model: &'a LoadedModel,
    options: AssessOptions,
    /// Position in the stream of the chunk's first record.
    first: u64,
    /// The JSON lines so far.
    pub lines: Vec<u8>,
}

impl<'a> ChunkRecords<'a> {
    /// Records for the chunk of `stream_id` whose first record is the stream's `first`-th.
    pub fn new(
        log: &'a AuditLog,
        stream_id: &'a str,
        model: &'a LoadedModel,
        options: AssessOptions,
        first: u64,
    ) -> Self {
        Self {
            log,
            stream_id,
            model,
            options,
            first,
            lines: Vec::new(),
        }
    }

    /// Adds the record of the chunk's `index`-th customer.
    pub fn add(&mut self, index: usize, profile: &CustomerProfile, a: &Assessment) {
        DecisionRecord {
            time: now(),
            request_id: self.stream_id,
            rpc: Rpc::ScoreStream,
            record: Some(self.first + index as u64),
            customer: self.log.hasher().hash(&profile.customer_id),
            model: (&self.model.id).into(),
            options: self.options.into(),
            inputs: ScoredInputs(profile),
            outputs: Outputs::of_assessment(&self.model.scoring, a),
        }
        .write_line(&mut self.lines);
    }
}
