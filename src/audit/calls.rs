//! The audit records of scoring calls: one per unary decision, written before the reply, and
//! one per scored record of a ScoreStream chunk, written together before the chunk's results.

use crate::audit::record::{now, DecisionRecord, ScoredInputs};
use crate::audit::{AuditError, AuditLog, Outputs, Rpc};
use crate::domain::{AssessOptions, Assessment, CustomerProfile};
use crate::model_store::LoadedModel;
use crate::telemetry::CallTrace;

/// One call's decision to audit.
pub struct AuditedCall<'a> {
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
    /// The trace the call belongs to.
    pub trace: Option<CallTrace>,
}

impl AuditLog {
    /// Appends the call's record, with its `outputs`, and waits until it is written.
    ///
    /// # Errors
    /// The record could not be written: the decision must not be returned.
    pub async fn record_call(
        &self,
        call: AuditedCall<'_>,
        outputs: Outputs,
    ) -> Result<(), AuditError> {
        let customer = self.hasher().hash(&call.profile.customer_id);
        // Logs name a customer only by the keyed hash, and never show profile values.
        tracing::debug!(customer = %customer, rpc = ?call.rpc, "auditing decision");
        let trace_id = call.trace.map(|t| t.to_string());
        let line = DecisionRecord {
            time: now(),
            request_id: call.request_id,
            rpc: call.rpc,
            record: None,
            trace_id: trace_id.as_deref(),
            customer,
            model: (&call.model.id).into(),
            options: call.options.into(),
            inputs: ScoredInputs(call.profile),
            outputs,
        }
        .to_line();
        self.append(line).await
    }
}

/// The records of one block of rows (a ScoreStream chunk, a ModelInfer request), collected while
/// it is scored and written at once.
pub struct ChunkRecords<'a> {
    log: &'a AuditLog,
    rpc: Rpc,
    /// The call's trace id, rendered once for all the block's records.
    trace_id: Option<String>,
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
        rpc: Rpc,
        trace: Option<CallTrace>,
        stream_id: &'a str,
        model: &'a LoadedModel,
        options: AssessOptions,
        first: u64,
    ) -> Self {
        Self {
            log,
            rpc,
            trace_id: trace.map(|t| t.to_string()),
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
            rpc: self.rpc,
            record: Some(self.first + index as u64),
            trace_id: self.trace_id.as_deref(),
            customer: self.log.hasher().hash(&profile.customer_id),
            model: (&self.model.id).into(),
            options: self.options.into(),
            inputs: ScoredInputs(profile),
            outputs: Outputs::of_assessment(&self.model.scoring, a),
        }
        .write_line(&mut self.lines);
    }
}
