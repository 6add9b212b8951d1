//! Observed outcomes for `bankscore outcomes --audit`, keyed by the customer's hash: either the
//! outcomes log `ReportOutcomes` writes (already hashed) or a CSV `customer_id,churned` whose ids
//! are hashed here with the audit log's key.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::read::read_outcomes;
use super::realtime::parse_line;
use super::OutcomesError;
use crate::audit::{CustomerHasher, HashKey, OutcomeRecord};
use crate::batch::FileError;

/// Outcomes by customer hash, with the line each was read from.
pub(super) type Observed = HashMap<String, (bool, u64)>;

/// Reads `path` as JSON Lines when its first non-blank character is `{`, as CSV otherwise; also
/// returns how many outcomes were set aside as another campaign's.
///
/// JSON Lines: the last outcome of a customer wins (a later report corrects an earlier one).
/// With `campaign`, an outcome reported with another `campaign_id` is set aside (one reported
/// without a campaign id belongs to every campaign). CSV: each customer once, as for a plan's
/// outcomes.
///
/// # Errors
/// The file cannot be read; a line or row is bad (named by line and field); a CSV without
/// `hash_key`.
pub(super) fn read_observed(
    path: &Path,
    hash_key: Option<&HashKey>,
    campaign: Option<&str>,
) -> Result<(Observed, u64), OutcomesError> {
    let io = |source| OutcomesError::from(FileError::io("reading", path)(source));
    let mut first = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut first))
        .map_err(io)?;
    let json_lines = first[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if json_lines {
        return read_outcome_log(path, campaign);
    }
    let key = hash_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| OutcomesError::NoHashKey { path: path.into() })?;
    let hasher = CustomerHasher::new(key);
    let observed = read_outcomes(path)?
        .into_iter()
        .map(|(id, outcome)| (hasher.hash(&id), outcome))
        .collect();
    Ok((observed, 0))
}

/// The outcomes log: one [`OutcomeRecord`] per line, the last per customer of `campaign` kept;
/// also the number of lines of other campaigns.
fn read_outcome_log(path: &Path, campaign: Option<&str>) -> Result<(Observed, u64), OutcomesError> {
    let text = std::fs::read_to_string(path).map_err(FileError::io("reading", path))?;
    let (mut observed, mut other_campaigns) = (Observed::new(), 0);
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        let r: OutcomeRecord = parse_line(path, line, raw)?;
        match (campaign, r.campaign_id.as_deref()) {
            (Some(wanted), Some(reported)) if wanted != reported => other_campaigns += 1,
            _ => {
                observed.insert(r.customer, (r.churned, line));
            }
        }
    }
    Ok((observed, other_campaigns))
}
