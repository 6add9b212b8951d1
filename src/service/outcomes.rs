//! The `bankscore.v1.OutcomeService` handler: each outcome checked on its own, the good ones
//! recorded in the outcomes log before the reply, the bad ones named in it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use super::error::{self, FieldError};
use super::pb::{self, outcome_service_server::OutcomeService};
use crate::audit::OutcomeLog;

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

#[tonic::async_trait]
impl OutcomeService for OutcomeApi {
    #[tracing::instrument(skip_all, fields(outcomes = request.get_ref().outcomes.len()))]
    async fn report_outcomes(
        &self,
        request: Request<pb::ReportOutcomesRequest>,
    ) -> Result<Response<pb::ReportOutcomesResponse>, Status> {
        let Some(log) = &self.log else {
            return Err(error::no_outcomes_log());
        };
        let outcomes = request.into_inner().outcomes;
        if outcomes.len() > MAX_OUTCOMES_PER_CALL {
            return Err(FieldError::new(
                "outcomes",
                format_args!(
                    "{} outcomes in one call, at most {MAX_OUTCOMES_PER_CALL}",
                    outcomes.len()
                ),
            )
            .into());
        }
        let (accepted, errors) = convert::check_outcomes(outcomes);
        log.record(&accepted)
            .await
            .map_err(error::outcomes_not_recorded)?;
        Ok(Response::new(pb::ReportOutcomesResponse {
            accepted: accepted.len() as u32,
            errors,
        }))
    }
}
