//! `OutcomeService` requests: each reported outcome checked on its own.

use crate::domain::outcome::{ObservedOutcome, OutcomeFieldError};
use crate::service::pb;

impl TryFrom<pb::Outcome> for ObservedOutcome {
    type Error = OutcomeFieldError;

    fn try_from(o: pb::Outcome) -> Result<Self, Self::Error> {
        ObservedOutcome::new(o.customer_id, o.churned, o.observed_on, o.campaign_id)
    }
}

/// The outcomes that pass their checks, and the position and fault of each that does not.
pub fn check_outcomes(outcomes: Vec<pb::Outcome>) -> (Vec<ObservedOutcome>, Vec<pb::OutcomeError>) {
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
        let (accepted, errors) = check_outcomes(vec![
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
