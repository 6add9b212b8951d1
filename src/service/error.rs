//! The one mapping from the core's typed problems to gRPC. A bad request field or stream record
//! is a [`FieldError`] — the field, named as the API names it, and what is wrong — which becomes
//! `INVALID_ARGUMENT` with the text `field: problem` for a call, or a `RecordError` with the same
//! field and problem for one record of a stream: the same words for the same problem in every
//! RPC. The other statuses the edge answers are built here too.

use std::fmt::Display;
use std::time::Duration;

use tonic::Status;

use super::pb;
use crate::audit::{AuditError, OutcomeLogError};
use crate::batch::plan::CampaignError;
use crate::batch::BulkError;
use crate::domain::MissingExtraFeature;
use crate::model_store::{ModelId, UnknownVersion};

/// A request or record field that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field, e.g. `profile.tenure_months` or `profile.extra_features["app_rating"]`.
    pub field: String,
    /// What is wrong with it, e.g. `is required`.
    pub problem: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, problem: impl Display) -> Self {
        Self {
            field: field.into(),
            problem: problem.to_string(),
        }
    }

    /// A feature `model` needs and the profile lacks.
    pub fn missing_feature(e: &MissingExtraFeature, model: &ModelId) -> Self {
        Self::new(
            format!("profile.extra_features[\"{}\"]", e.key),
            format_args!(
                "is required by the model {} version {}",
                model.name, model.version
            ),
        )
    }
}

impl From<FieldError> for Status {
    fn from(e: FieldError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

impl From<FieldError> for pb::RecordError {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            reason: e.problem,
        }
    }
}

/// `NOT_FOUND` for a model version that is not loaded, named by the request's `field`.
pub fn unknown_version(field: &str, e: &UnknownVersion) -> Status {
    Status::not_found(format!("{field}: {e}"))
}

/// `UNAVAILABLE`: a decision that could not be recorded in the audit log is not returned.
pub fn unaudited(e: AuditError) -> Status {
    Status::unavailable(format!(
        "the decision could not be recorded in the audit log, so it is not returned: {e}"
    ))
}

/// `DEADLINE_EXCEEDED`: a call outlived its deadline (the client's, or the server's `limit`).
pub fn past_deadline(limit: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the call did not finish within its deadline of {limit:?}"
    ))
}

/// `UNAUTHENTICATED`: no token, or one the server does not know (`why`).
pub fn unauthenticated(why: impl Display) -> Status {
    Status::unauthenticated(format!("{why}: send `authorization: Bearer <token>`"))
}

/// `PERMISSION_DENIED`: the token lacks the role `needs`.
pub fn lacks_role(needs: impl Display) -> Status {
    Status::permission_denied(format!(
        "this token lacks the `{needs}` role this method needs"
    ))
}

/// `RESOURCE_EXHAUSTED`: the server works on its limit of calls; the call is shed at once.
pub fn too_many_calls(limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "the server is working on its limit of {limit} calls; retry with backoff"
    ))
}

/// `RESOURCE_EXHAUSTED`: every bulk stream slot is taken.
pub fn bulk_streams_busy(max_streams: usize) -> Status {
    Status::resource_exhausted(format!(
        "{max_streams} bulk streams are already running (the limit); retry when one finishes"
    ))
}

/// `DEADLINE_EXCEEDED`: a bulk stream's client read no result for `waited`.
pub fn slow_reader(waited: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the client read no result for {} s; the stream was ended",
        waited.as_secs()
    ))
}

/// `DEADLINE_EXCEEDED`: a bulk stream's client sent nothing for `waited`.
pub fn idle_stream(waited: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "no message for {} s; the bulk stream was ended",
        waited.as_secs()
    ))
}

/// `FAILED_PRECONDITION`: `ReportOutcomes` on a server without an outcomes log.
pub fn no_outcomes_log() -> Status {
    Status::failed_precondition(
        "outcomes.path is not set: this server does not record outcomes (set [outcomes] path or \
         BANKSCORE_OUTCOMES_PATH)",
    )
}

/// `UNAVAILABLE`: the outcomes of a call could not be recorded, so none was accepted.
pub fn outcomes_not_recorded(e: OutcomeLogError) -> Status {
    tracing::error!(cause = %e, "outcomes not recorded");
    Status::unavailable(format!(
        "the outcomes could not be recorded; none of this call's outcomes were accepted: {e}"
    ))
}

/// `INTERNAL`: a task the call waited on failed.
pub fn task_failed(what: &str, e: impl Display) -> Status {
    Status::internal(format!("{what} failed: {e}"))
}

/// Why a bulk chunk was not scored.
pub fn bulk(e: BulkError) -> Status {
    match e {
        BulkError::ShutDown => Status::unavailable("the server is shutting down"),
        BulkError::Panicked => {
            Status::internal("scoring this chunk failed unexpectedly; see the server log")
        }
    }
}

/// A campaign rule broken, naming the setting (`settings.budget`) or the customer's field.
pub fn campaign(e: &CampaignError) -> Status {
    let setting = matches!(
        e,
        CampaignError::Budget(_)
            | CampaignError::ControlShare(_)
            | CampaignError::CampaignIdRequired
    );
    let prefix = if setting { "settings." } else { "" };
    Status::invalid_argument(format!("{prefix}{}: {e}", e.field()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_reads_the_same_as_a_status_and_as_a_record_error() {
        let e = FieldError::missing_feature(
            &MissingExtraFeature {
                key: "app_rating".into(),
            },
            &ModelId {
                name: "churn".into(),
                version: "v2".into(),
                checksum: "c".into(),
            },
        );
        let status = Status::from(e.clone());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "profile.extra_features[\"app_rating\"]: is required by the model churn version v2"
        );
        let record = pb::RecordError::from(e);
        assert_eq!(
            format!("{}: {}", record.field, record.reason),
            status.message()
        );
    }

    #[test]
    fn campaign_settings_are_named_under_settings_and_customers_by_id() {
        let s = campaign(&CampaignError::Budget(-1.0));
        assert_eq!(
            s.message(),
            "settings.budget: -1 is not a finite amount >= 0"
        );
        let c = campaign(&CampaignError::Duplicate {
            customer: "C1".into(),
        });
        assert!(c
            .message()
            .starts_with("candidates[C1]: the customer appears twice"));
    }
}
