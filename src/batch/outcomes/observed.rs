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

/// Outcomes by customer hash, with the line each was read from.
pub(super) type Observed = HashMap<String, (bool, u64)>;

/// Reads `path` as JSON Lines when its first non-blank character is `{`, as CSV otherwise.
///
/// JSON Lines: the last outcome of a customer wins (a later report corrects an earlier one).
/// CSV: each customer once, as for a plan's outcomes.
///
/// # Errors
/// The file cannot be read; a line or row is bad (named by line and field); a CSV without
/// `hash_key`.
pub(super) fn read_observed(
    path: &Path,
    hash_key: Option<&HashKey>,
) -> Result<Observed, OutcomesError> {
    let io = |source| OutcomesError::Io {
        path: path.into(),
        source,
    };
    let mut first = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut first))
        .map_err(io)?;
    let json_lines = first[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if json_lines {
        return read_outcome_log(path);
    }
    let key = hash_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| OutcomesError::NoHashKey { path: path.into() })?;
    let hasher = CustomerHasher::new(key);
    Ok(read_outcomes(path)?
        .into_iter()
        .map(|(id, outcome)| (hasher.hash(&id), outcome))
        .collect())
}

/// The outcomes log: one [`OutcomeRecord`] per line, the last per customer kept.
fn read_outcome_log(path: &Path) -> Result<Observed, OutcomesError> {
    let text = std::fs::read_to_string(path).map_err(|source| OutcomesError::Io {
        path: path.into(),
        source,
    })?;
    let mut observed = Observed::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        let r: OutcomeRecord = parse_line(path, line, raw)?;
        observed.insert(r.customer, (r.churned, line));
    }
    Ok(observed)
}
