//! An observed outcome: whether a customer churned, reported after the decision, and the rules
//! each of its fields obeys.

use super::validation::{check_customer_id, MAX_KEY_LEN};

/// What became of one customer, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedOutcome {
    /// The customer's id, in clear (hashed before it is stored).
    pub customer_id: String,
    /// Whether the customer left.
    pub churned: bool,
    /// The day it was observed, `YYYY-MM-DD`.
    pub observed_on: Option<String>,
    /// The campaign it belongs to.
    pub campaign_id: Option<String>,
}

/// Why one outcome cannot be recorded: the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct OutcomeFieldError {
    /// The field, as named in the API (`customer_id`, `churned`, `observed_on`, `campaign_id`).
    pub field: &'static str,
    /// What is wrong, e.g. `is required`.
    pub problem: String,
}

impl ObservedOutcome {
    /// An outcome from its fields as received: empty optional text means absent.
    ///
    /// # Errors
    /// The first field at fault, checked in the order `customer_id` (present, at most 128
    /// bytes), `churned` (present), `observed_on` (a calendar date `YYYY-MM-DD`), `campaign_id`
    /// (at most 128 bytes).
    pub fn new(
        customer_id: String,
        churned: Option<bool>,
        observed_on: String,
        campaign_id: String,
    ) -> Result<Self, OutcomeFieldError> {
        let fail = |field, problem: String| OutcomeFieldError { field, problem };
        check_customer_id(&customer_id).map_err(|e| fail("customer_id", e.to_string()))?;
        let churned = churned.ok_or_else(|| fail("churned", "is required".into()))?;
        let observed_on = (!observed_on.is_empty())
            .then(|| check_date(&observed_on).map(|()| observed_on))
            .transpose()
            .map_err(|problem| fail("observed_on", problem))?;
        if campaign_id.len() > MAX_KEY_LEN {
            return Err(fail(
                "campaign_id",
                format!("is longer than {MAX_KEY_LEN} bytes"),
            ));
        }
        Ok(Self {
            customer_id,
            churned,
            observed_on,
            campaign_id: (!campaign_id.is_empty()).then_some(campaign_id),
        })
    }
}

/// Checks that `s` is a calendar date written `YYYY-MM-DD` (years 1900 to 9999).
fn check_date(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not a date written YYYY-MM-DD");
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(bad());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("`{s}` has no month {month}")),
    };
    if year < 1900 {
        return Err(format!("`{s}` is before 1900"));
    }
    if day == 0 || day > days_in_month {
        return Err(format!("`{s}` has no day {day} in month {month}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: &str, churned: Option<bool>, on: &str, campaign: &str) -> ObservedOutcome {
        ObservedOutcome::new(id.into(), churned, on.into(), campaign.into()).unwrap()
    }

    fn refused(id: &str, churned: Option<bool>, on: &str, campaign: &str) -> OutcomeFieldError {
        ObservedOutcome::new(id.into(), churned, on.into(), campaign.into()).unwrap_err()
    }

    #[test]
    fn an_outcome_keeps_its_fields_and_reads_empty_optional_text_as_absent() {
        assert_eq!(
            outcome("C-1", Some(true), "2028-02-29", "q1"),
            ObservedOutcome {
                customer_id: "C-1".into(),
                churned: true,
                observed_on: Some("2028-02-29".into()),
                campaign_id: Some("q1".into()),
            }
        );
        let o = outcome("C-2", Some(false), "", "");
        assert_eq!((o.observed_on, o.campaign_id), (None, None));
    }

    #[test]
    fn each_bad_field_is_named_with_its_problem() {
        let long = "x".repeat(MAX_KEY_LEN + 1);
        // (customer_id, churned, observed_on, campaign_id) → (field, problem).
        type Case<'a> = (&'a str, Option<bool>, &'a str, &'a str, &'a str, &'a str);
        let cases: [Case; 10] = [
            ("", Some(true), "", "", "customer_id", "is required"),
            (&long, Some(true), "", "", "customer_id", "longer than 128"),
            ("C", None, "", "", "churned", "is required"),
            (
                "C",
                Some(true),
                "2026-1-05",
                "",
                "observed_on",
                "YYYY-MM-DD",
            ),
            (
                "C",
                Some(true),
                "26-01-2026",
                "",
                "observed_on",
                "YYYY-MM-DD",
            ),
            (
                "C",
                Some(true),
                "2026-13-01",
                "",
                "observed_on",
                "no month 13",
            ),
            (
                "C",
                Some(true),
                "2026-02-29",
                "",
                "observed_on",
                "no day 29",
            ),
            (
                "C",
                Some(true),
                "2026-04-31",
                "",
                "observed_on",
                "no day 31",
            ),
            (
                "C",
                Some(true),
                "1850-01-01",
                "",
                "observed_on",
                "before 1900",
            ),
            (
                "C",
                Some(true),
                "2026-01-05",
                &long,
                "campaign_id",
                "longer",
            ),
        ];
        for (id, churned, on, campaign, field, problem) in cases {
            let e = refused(id, churned, on, campaign);
            assert_eq!(e.field, field, "case {id:.10}/{churned:?}/{on}");
            assert!(
                e.problem.contains(problem),
                "case {on}: `{}` should say `{problem}`",
                e.problem
            );
        }
    }

    #[test]
    fn the_first_field_at_fault_is_the_one_named() {
        assert_eq!(refused("", None, "nope", "").field, "customer_id");
        assert_eq!(refused("C", None, "nope", "").field, "churned");
    }
}
