//! The `bankscore.v1.OutcomeService` handler: each outcome checked on its own, the good ones
//! recorded in the outcomes log before the reply, the bad ones named in it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::pb::{self, outcome_service_server::OutcomeService};
use crate::audit::{OutcomeLog, OutcomeLogError};
use crate::domain::outcome::{ObservedOutcome, OutcomeFieldError};

/// Most outcomes one `ReportOutcomes` call may carry (about 1 MB of outcomes; the message limit
/// applies too).
pub const MAX_OUTCOMES_PER_CALL: usize = 10_000;

/// The outcome service over the outcomes log, if the server keeps one.
#[derive(Debug, Default)]
pub struct OutcomeApi {
    log: Option<Arc<OutcomeLog>>,
}

impl OutcomeApi {
    /// A service recording into `log`; without one every call answers FAILED_PRECONDITION.
    pub fn new(log: Option<Arc<OutcomeLog>>) -> Self {
        Self { log }
    }
}

impl TryFrom<pb::Outcome> for ObservedOutcome {
    type Error = OutcomeFieldError;

    fn try_from(o: pb::Outcome) -> Result<Self, Self::Error> {
        ObservedOutcome::new(o.customer_id, o.churned, o.observed_on, o.campaign_id)
    }
}

/// The outcomes that pass their checks, and the position and fault of each that does not.
fn check_each(outcomes: Vec<pb::Outcome>) -> (Vec<ObservedOutcome>, Vec<pb::OutcomeError>) {
    let mut accepted = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::new();
    for (index, o) in outcomes.into_iter().enumerate() {
        match ObservedOutcome::try_from(o) {
            Ok(o) => accepted.push(o),
            Err(e) => errors.push(pb::OutcomeError {
                // At most MAX_OUTCOMES_PER_CALL, so it fits.
                index: index as u32,
                field: e.field.to_owned(),
                problem: e.problem,
            }),
        }
    }
    (accepted, errors)
}

fn not_recorded(e: OutcomeLogError) -> Status {
    tracing::error!(cause = %e, "outcomes not recorded");
    Status::unavailable(format!(
        "the outcomes could not be recorded; none of this call's outcomes were accepted: {e}"
    ))
}

#[tonic::async_trait]
impl OutcomeService for OutcomeApi {
    #[tracing::instrument(skip_all, fields(outcomes = request.get_ref().outcomes.len()))]
    async fn report_outcomes(
        &self,
        request: Request<pb::ReportOutcomesRequest>,
    ) -> Result<Response<pb::ReportOutcomesResponse>, Status> {
        let Some(log) = &self.log else {
            return Err(Status::failed_precondition(
                "outcomes.path is not set: this server does not record outcomes (set [outcomes] \
                 path or BANKSCORE_OUTCOMES_PATH)",
            ));
        };
        let outcomes = request.into_inner().outcomes;
        if outcomes.len() > MAX_OUTCOMES_PER_CALL {
            return Err(Status::invalid_argument(format!(
                "outcomes: {} outcomes in one call, at most {MAX_OUTCOMES_PER_CALL}",
                outcomes.len()
            )));
        }
        let (accepted, errors) = check_each(outcomes);
        log.record(&accepted).await.map_err(not_recorded)?;
        Ok(Response::new(pb::ReportOutcomesResponse {
            accepted: accepted.len() as u32,
            errors,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb_outcome(id: &str, churned: Option<bool>, on: &str) -> pb::Outcome {
        pb::Outcome {
            customer_id: id.into(),
            churned,
            observed_on: on.into(),
            campaign_id: String::new(),
        }
    }

    #[test]
    fn a_bad_outcome_is_named_by_its_position_and_the_others_pass() {
        let (accepted, errors) = check_each(vec![
            pb_outcome("C-1", Some(true), ""),
            pb_outcome("", Some(true), ""),
            pb_outcome("C-3", Some(false), "2027-02-30"),
            pb_outcome("C-4", None, ""),
            pb_outcome("C-5", Some(false), "2027-02-28"),
        ]);
        let ids: Vec<_> = accepted.iter().map(|o| o.customer_id.as_str()).collect();
        assert_eq!(ids, ["C-1", "C-5"]);
        let named: Vec<_> = errors.iter().map(|e| (e.index, e.field.as_str())).collect();
        assert_eq!(
            named,
            [(1, "customer_id"), (2, "observed_on"), (3, "churned")]
        );
    }
}
