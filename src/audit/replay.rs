//! `bankscore replay`: re-scores audit records with the model version each one names and
//! reports every record whose outputs differ.
//!
//! Steps per record: parse the line → load `models/<name>/<version>/` (once per version) and
//! check its checksum is the recorded one → rebuild the profile from the recorded inputs →
//! score it as the recorded RPC did, with the recorded options → compare the outputs.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::record::{AuditEntry, Outputs, Rpc};
use crate::model_store::{load_bundle, LoadedModel};

/// Largest relative difference between a recorded and a replayed number that still matches.
pub const TOLERANCE: f64 = 1e-12;

/// Differences and failures listed in a report's text (the counts are always complete).
const LISTED: usize = 20;

/// Where a record sits: file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The audit file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A record whose replayed outputs differ from the recorded ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The record.
    pub at: Location,
    /// Its request id.
    pub request_id: String,
    /// One entry per differing output, e.g. `churn_probability: recorded 0.2, replayed 0.1`.
    pub outputs: Vec<String>,
}

/// A record that could not be re-scored, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreplayable {
    /// The record.
    pub at: Location,
    /// Why.
    pub reason: String,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Records read (non-empty lines).
    pub records: u64,
    /// Records whose outputs were reproduced.
    pub matched: u64,
    /// Records whose outputs differ.
    pub differing: Vec<Difference>,
    /// Records that could not be re-scored.
    pub unreplayable: Vec<Unreplayable>,
}

impl ReplayReport {
    /// Every record was re-scored and matched.
    pub fn is_clean(&self) -> bool {
        self.differing.is_empty() && self.unreplayable.is_empty()
    }
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} records: {} matched, {} differing, {} unreplayable",
            self.records,
            self.matched,
            self.differing.len(),
            self.unreplayable.len()
        )?;
        for d in self.differing.iter().take(LISTED) {
            writeln!(
                f,
                "differs: {} (request {}): {}",
                d.at,
                d.request_id,
                d.outputs.join("; ")
            )?;
        }
        for u in self.unreplayable.iter().take(LISTED) {
            writeln!(f, "unreplayable: {}: {}", u.at, u.reason)?;
        }
        let hidden = self.differing.len().saturating_sub(LISTED)
            + self.unreplayable.len().saturating_sub(LISTED);
        if hidden > 0 {
            writeln!(f, "({hidden} more not listed)")?;
        }
        Ok(())
    }
}

/// Replays every record of `files` against the bundles under `models_dir`.
///
/// # Errors
/// A file cannot be opened or read (problems with single records are in the report).
pub fn replay_files(files: &[PathBuf], models_dir: &Path) -> std::io::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let mut models = ModelCache::new(models_dir);
    for file in files {
        let reader = std::io::BufReader::new(std::fs::File::open(file).map_err(|e| {
            std::io::Error::new(e.kind(), format!("opening {}: {e}", file.display()))
        })?);
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            report.records += 1;
            let at = Location {
                file: file.clone(),
                line: i + 1,
            };
            match replay_line(&line, &mut models) {
                Ok((_, diffs)) if diffs.is_empty() => report.matched += 1,
                Ok((request_id, outputs)) => report.differing.push(Difference {
                    at,
                    request_id,
                    outputs,
                }),
                Err(reason) => report.unreplayable.push(Unreplayable { at, reason }),
            }
        }
    }
    Ok(report)
}

/// Re-scores one line; the request id and the differing outputs, or why it cannot be replayed.
fn replay_line(line: &str, models: &mut ModelCache) -> Result<(String, Vec<String>), String> {
    let entry: AuditEntry =
        serde_json::from_str(line).map_err(|e| format!("not an audit record: {e}"))?;
    let model = models.get(&entry)?;
    let profile = entry
        .profile()
        .map_err(|e| format!("the recorded inputs are not a profile: {e}"))?;
    let scoring = &model.scoring;
    let missing = |e: crate::domain::MissingExtraFeature| {
        format!("the recorded inputs lack a feature the model reads: {e}")
    };
    let replayed = match entry.rpc {
        Rpc::Score | Rpc::RecommendRetentionAction | Rpc::ScoreStream => Outputs::of_assessment(
            scoring,
            &scoring
                .assess(&profile, entry.options.into())
                .map_err(missing)?,
        ),
        Rpc::ClassifyValueTier => {
            Outputs::of_value(&scoring.classify_value(&profile).map_err(missing)?)
        }
        Rpc::PredictChurn => Outputs::of_churn(
            &scoring
                .predict_churn(&profile, entry.options.max_reasons)
                .map_err(missing)?,
        ),
    };
    Ok((entry.request_id, compare(&entry.outputs, &replayed)))
}

/// The outputs that differ, each described.
pub fn compare(recorded: &Outputs, replayed: &Outputs) -> Vec<String> {
    let mut out = Vec::new();
    let mut number = |what: &str, a: Option<f64>, b: Option<f64>| {
        let same = match (a, b) {
            (Some(a), Some(b)) => close(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            out.push(format!(
                "{what}: recorded {}, replayed {}",
                show(a),
                show(b)
            ));
        }
    };
    number(
        "churn_probability",
        Some(recorded.churn_probability),
        Some(replayed.churn_probability),
    );
    let part = |o: &Outputs, f: fn(&super::record::ValueParts) -> f64| o.value.as_ref().map(f);
    number(
        "value.realized",
        part(recorded, |v| v.realized),
        part(replayed, |v| v.realized),
    );
    number(
        "value.potential",
        part(recorded, |v| v.potential),
        part(replayed, |v| v.potential),
    );
    number(
        "value.influence",
        part(recorded, |v| v.influence),
        part(replayed, |v| v.influence),
    );
    number(
        "value.total",
        part(recorded, |v| v.total),
        part(replayed, |v| v.total),
    );
    number(
        "value.value_at_risk",
        part(recorded, |v| v.value_at_risk),
        part(replayed, |v| v.value_at_risk),
    );
    number(
        "decision.expected_value",
        recorded.decision.as_ref().and_then(|d| d.expected_value),
        replayed.decision.as_ref().and_then(|d| d.expected_value),
    );
    if recorded.tier != replayed.tier {
        out.push(format!(
            "tier: recorded {:?}, replayed {:?}",
            recorded.tier, replayed.tier
        ));
    }
    if recorded.key_account != replayed.key_account {
        out.push(format!(
            "key_account: recorded {:?}, replayed {:?}",
            recorded.key_account, replayed.key_account
        ));
    }
    let action = |o: &Outputs| o.decision.as_ref().map(|d| d.action.clone());
    if action(recorded) != action(replayed) {
        out.push(format!(
            "decision.action: recorded {:?}, replayed {:?}",
            action(recorded),
            action(replayed)
        ));
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "none".into(), |v| v.to_string())
}

/// Bundles loaded so far, by name and version; a version that failed keeps its reason.
struct ModelCache<'a> {
    root: &'a Path,
    loaded: HashMap<(String, String), Result<Arc<LoadedModel>, String>>,
}

impl<'a> ModelCache<'a> {
    fn new(root: &'a Path) -> Self {
        Self {
            root,
            loaded: HashMap::new(),
        }
    }

    /// The recorded bundle, provided its checksum is the recorded one.
    fn get(&mut self, entry: &AuditEntry) -> Result<Arc<LoadedModel>, String> {
        let (name, version) = (&entry.model.name, &entry.model.version);
        if [name, version]
            .iter()
            .any(|s| s.is_empty() || s.contains(['/', '\\']) || s.as_ref() == "..")
        {
            return Err(format!(
                "model `{name}` version `{version}` is not a bundle name"
            ));
        }
        let root = self.root;
        let model = self
            .loaded
            .entry((name.to_string(), version.to_string()))
            .or_insert_with(|| {
                load_bundle(&root.join(name.as_ref()).join(version.as_ref()))
                    .map(Arc::new)
                    .map_err(|e| format!("the recorded model version cannot be loaded: {e}"))
            })
            .clone()?;
        if model.id.checksum != entry.model.checksum {
            return Err(format!(
                "checksum mismatch: the record was scored by {name} {version} with checksum {}, \
                 the bundle on disk has checksum {}",
                entry.model.checksum, model.id.checksum
            ));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{Chosen, ValueParts};

    fn outputs() -> Outputs {
        Outputs {
            churn_probability: 0.25,
            value: Some(ValueParts {
                realized: 100.0,
                potential: 200.0,
                influence: 0.0,
                total: 300.0,
                value_at_risk: 200.0,
            }),
            tier: Some(crate::domain::ValueTier::B),
            key_account: Some(false),
            decision: Some(Chosen {
                action: "fee_waiver".into(),
                expected_value: Some(3.5),
            }),
        }
    }

    #[test]
    fn equal_outputs_and_rounding_noise_show_no_difference() {
        let mut b = outputs();
        assert!(compare(&outputs(), &b).is_empty());
        b.churn_probability += 1e-17;
        assert!(compare(&outputs(), &b).is_empty());
    }

    #[test]
    fn each_changed_output_is_named() {
        let mut b = outputs();
        b.churn_probability = 0.26;
        b.tier = Some(crate::domain::ValueTier::A);
        b.decision = Some(Chosen {
            action: "no_action".into(),
            expected_value: None,
        });
        let diffs = compare(&outputs(), &b);
        assert_eq!(diffs.len(), 4, "{diffs:?}");
        assert!(diffs[0].starts_with("churn_probability: recorded 0.25, replayed 0.26"));
        assert!(diffs.iter().any(|d| d.starts_with("tier:")));
        assert!(diffs.iter().any(|d| d.starts_with("decision.action:")));
        assert!(diffs
            .iter()
            .any(|d| d == "decision.expected_value: recorded 3.5, replayed none"));
    }
}
