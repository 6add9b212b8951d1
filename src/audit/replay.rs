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

use super::outputs::Outputs;
use super::record::{AuditEntry, Rpc};
use crate::model_store::{load_bundle, LoadedModel};

/// Differences and failures listed in a report's text (the counts are always complete).
const LISTED: usize = 20;

/// Where a record sits: file and line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    /// The record.
    pub at: Location,
    /// Its request id.
    pub request_id: String,
    /// One entry per differing output, e.g. `churn_probability: recorded 0.2, replayed 0.1`.
    pub outputs: Vec<String>,
}

/// A record that could not be re-scored, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unreplayable {
    /// The record.
    pub at: Location,
    /// Why.
    pub reason: String,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
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
        Rpc::Score | Rpc::RecommendRetentionAction | Rpc::ScoreStream | Rpc::ModelInfer => {
            Outputs::of_assessment(
                scoring,
                &scoring
                    .assess(&profile, entry.options.into())
                    .map_err(missing)?,
            )
        }
        Rpc::ClassifyValueTier => {
            Outputs::of_value(&scoring.classify_value(&profile).map_err(missing)?)
        }
        Rpc::PredictChurn => Outputs::of_churn(
            &scoring
                .predict_churn(&profile, entry.options.max_reasons)
                .map_err(missing)?,
        ),
    };
    Ok((entry.request_id, entry.outputs.differences(&replayed)))
}

/// Bundles loaded so far, by name and version; a version that failed keeps its reason.
pub(crate) struct ModelCache<'a> {
    root: &'a Path,
    loaded: HashMap<(String, String), Result<Arc<LoadedModel>, String>>,
}

impl<'a> ModelCache<'a> {
    /// An empty cache over the models directory `root`.
    pub(crate) fn new(root: &'a Path) -> Self {
        Self {
            root,
            loaded: HashMap::new(),
        }
    }

    /// The recorded bundle, provided its checksum is the recorded one.
    pub(crate) fn get(&mut self, entry: &AuditEntry) -> Result<Arc<LoadedModel>, String> {
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
