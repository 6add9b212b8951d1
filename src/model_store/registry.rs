//! The loaded versions of one model: the champion, the optional challenger, the versions that
//! may be pinned, and the bundles that were refused.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use super::bundle::{load_bundle, LoadedModel};
use super::deployment::{Deployment, DeploymentError};
use super::format::files;
use super::shadow::ShadowStats;

/// The state of one model, as served. Immutable: a reload builds a new one and swaps it in.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    name: String,
    /// Valid versions, sorted by [`compare_versions`], oldest first.
    versions: Vec<Arc<LoadedModel>>,
    champion: Arc<LoadedModel>,
    challenger: Option<Arc<LoadedModel>>,
    shadow: Option<Arc<ShadowStats>>,
    rejected: Vec<Rejected>,
    incomplete: Vec<String>,
}

/// A bundle the last load refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its version directory.
    pub version: String,
    /// Why, naming the file.
    pub reason: String,
    /// An earlier, valid load of the same version still serves.
    pub previous_kept: bool,
}

/// Why the models directory yields no servable model.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read the models directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the models directory {0} holds no model (expected models/<name>/<version>/)")]
    NoModel(String),
    #[error("the models directory holds several models ({0}); choose one with --model")]
    SeveralModels(String),
    #[error("model `{0}` is not in the models directory")]
    UnknownModel(String),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error("model `{name}`: the declared champion `{version}` is not a valid version{}", reasons(.rejected))]
    Champion {
        name: String,
        version: String,
        rejected: Vec<Rejected>,
    },
    #[error("model `{name}` has no valid version{}", reasons(.rejected))]
    NoValidVersion {
        name: String,
        rejected: Vec<Rejected>,
    },
}

fn reasons(rejected: &[Rejected]) -> String {
    if rejected.is_empty() {
        return String::new();
    }
    let all: Vec<String> = rejected.iter().map(|r| r.reason.clone()).collect();
    format!(": {}", all.join("; "))
}

/// A version that was asked for but is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model version `{version}` is not loaded (loaded: {loaded})")]
pub struct UnknownVersion {
    /// The version asked for.
    pub version: String,
    /// Loaded versions, comma-separated.
    pub loaded: String,
}

/// A problem a load found that did not prevent serving.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadProblem {
    /// A bundle was refused (an earlier load of it may still serve).
    #[error("{}", .0.reason)]
    Rejected(Rejected),
    /// The declared champion is not valid, so the live one stays.
    #[error("declared champion `{declared}` is not a valid version; `{live}` stays live")]
    ChampionKept {
        /// The version `deployment.toml` declares.
        declared: String,
        /// The version that stays live.
        live: String,
    },
    /// The declared challenger is the champion.
    #[error("challenger `{0}` is the champion; no shadow scoring")]
    ChallengerIsChampion(String),
    /// The declared challenger is not a valid version.
    #[error("declared challenger `{0}` is not a valid version; no shadow scoring")]
    ChallengerInvalid(String),
    /// Nothing was applied: the directory yields no servable model, so the live state stays.
    #[error(transparent)]
    NotApplied(Arc<RegistryError>),
}

/// What a load found besides the registry itself.
#[derive(Debug)]
pub struct LoadReport {
    /// The registry to serve.
    pub registry: ModelRegistry,
    /// Problems that did not prevent serving: refused bundles, an invalid challenger, a
    /// champion kept because the declared one is invalid.
    pub problems: Vec<LoadProblem>,
}

impl ModelRegistry {
    /// Loads one model from `root` (`root/<name>/<version>/`) at start-up. `model` may be
    /// omitted when `root` holds exactly one model.
    ///
    /// # Errors
    /// The directory cannot be read, the model is ambiguous or unknown, the deployment file is
    /// invalid, or there is no valid champion.
    pub fn load_dir(root: &Path, model: Option<&str>) -> Result<LoadReport, RegistryError> {
        let names = subdirectories(root)?;
        let name = match model {
            Some(m) if names.iter().any(|n| n == m) => m.to_owned(),
            Some(m) => return Err(RegistryError::UnknownModel(m.to_owned())),
            None => match names.as_slice() {
                [] => return Err(RegistryError::NoModel(root.display().to_string())),
                [one] => one.clone(),
                many => return Err(RegistryError::SeveralModels(many.join(", "))),
            },
        };
        build(&root.join(&name), name, None)
    }

    /// Loads the model again from `root`, keeping what is valid of `self`: a version whose
    /// bundle is now broken keeps its earlier load, and an invalid declared champion leaves
    /// the current champion live.
    ///
    /// # Errors
    /// The directory cannot be read or the deployment file is invalid (nothing changes then).
    pub fn reload(&self, root: &Path) -> Result<LoadReport, RegistryError> {
        build(&root.join(&self.name), self.name.clone(), Some(self))
    }

    /// A registry holding one model as champion.
    pub fn single(model: LoadedModel) -> Self {
        let champion = Arc::new(model);
        Self {
            name: champion.id.name.clone(),
            versions: vec![champion.clone()],
            champion,
            challenger: None,
            shadow: None,
            rejected: Vec::new(),
            incomplete: Vec::new(),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The live version.
    pub fn champion(&self) -> &Arc<LoadedModel> {
        &self.champion
    }

    /// The shadow version and its comparison counters, if any.
    pub fn challenger(&self) -> Option<(&Arc<LoadedModel>, &Arc<ShadowStats>)> {
        self.challenger.as_ref().zip(self.shadow.as_ref())
    }

    /// Every valid version, oldest first.
    pub fn versions(&self) -> &[Arc<LoadedModel>] {
        &self.versions
    }

    /// Bundles the last load refused.
    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }

    /// Version directories without a checksum manifest yet (still being copied).
    pub fn incomplete(&self) -> &[String] {
        &self.incomplete
    }

    /// The version a request asked for; empty means the champion.
    ///
    /// # Errors
    /// The version is not loaded.
    pub fn resolve(&self, version: &str) -> Result<&Arc<LoadedModel>, UnknownVersion> {
        if version.is_empty() {
            return Ok(&self.champion);
        }
        self.versions
            .iter()
            .find(|m| m.id.version == version)
            .ok_or_else(|| UnknownVersion {
                version: version.to_owned(),
                loaded: self
                    .versions
                    .iter()
                    .map(|m| m.id.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

fn build(
    model_dir: &Path,
    name: String,
    previous: Option<&ModelRegistry>,
) -> Result<LoadReport, RegistryError> {
    let deployment = Deployment::read(model_dir)?;
    let mut versions = Vec::new();
    let mut rejected = Vec::new();
    let mut incomplete = Vec::new();
    for version in subdirectories(model_dir)? {
        let dir = model_dir.join(&version);
        if !dir.join(files::CHECKSUMS).exists() {
            // The manifest is written last: without it the bundle is still being copied, and an
            // earlier load of the same version keeps serving meanwhile.
            versions.extend(previous.and_then(|p| p.resolve(&version).ok()).cloned());
            incomplete.push(version);
            continue;
        }
        match load_bundle(&dir) {
            Ok(m) => versions.push(Arc::new(m)),
            Err(e) => {
                let earlier = previous.and_then(|p| p.resolve(&version).ok()).cloned();
                rejected.push(Rejected {
                    version,
                    reason: e.to_string(),
                    previous_kept: earlier.is_some(),
                });
                versions.extend(earlier);
            }
        }
    }
    versions.sort_by(|a, b| compare_versions(&a.id.version, &b.id.version));
    let find = |v: &str| versions.iter().find(|m| m.id.version == v).cloned();
    let mut problems: Vec<LoadProblem> = rejected
        .iter()
        .cloned()
        .map(LoadProblem::Rejected)
        .collect();

    let champion = match (&deployment.champion, previous) {
        (Some(v), _) if find(v).is_some() => find(v).expect("checked"),
        (Some(v), Some(prev)) => {
            problems.push(LoadProblem::ChampionKept {
                declared: v.clone(),
                live: prev.champion.id.version.clone(),
            });
            prev.champion.clone()
        }
        (Some(v), None) => {
            return Err(RegistryError::Champion {
                name,
                version: v.clone(),
                rejected,
            })
        }
        (None, _) => match versions.last() {
            Some(newest) => newest.clone(),
            None => match previous {
                Some(prev) => prev.champion.clone(),
                None => return Err(RegistryError::NoValidVersion { name, rejected }),
            },
        },
    };
    // A champion kept from the previous load stays listed and pinnable even if its directory changed.
    if !versions.iter().any(|m| m.id == champion.id) {
        versions.retain(|m| m.id.version != champion.id.version);
        versions.push(champion.clone());
        versions.sort_by(|a, b| compare_versions(&a.id.version, &b.id.version));
    }
    let find = |v: &str| versions.iter().find(|m| m.id.version == v).cloned();
    let challenger = match &deployment.challenger {
        Some(v) if *v == champion.id.version => {
            problems.push(LoadProblem::ChallengerIsChampion(v.clone()));
            None
        }
        Some(v) => {
            let found = find(v);
            if found.is_none() {
                problems.push(LoadProblem::ChallengerInvalid(v.clone()));
            }
            found
        }
        None => None,
    };
    let shadow = challenger.as_ref().map(|c| {
        previous
            .and_then(|p| p.challenger())
            .filter(|(old, _)| old.id == c.id)
            .map_or_else(
                || Arc::new(ShadowStats::default()),
                |(_, stats)| stats.clone(),
            )
    });
    Ok(LoadReport {
        registry: ModelRegistry {
            name,
            versions,
            champion,
            challenger,
            shadow,
            rejected,
            incomplete,
        },
        problems,
    })
}

fn subdirectories(dir: &Path) -> Result<Vec<String>, RegistryError> {
    let io = |source| RegistryError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type().map_err(io)?.is_dir() && !hidden {
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Orders versions naturally: digit runs compare as numbers, so `v10` > `v9` and `2026.11.2` > `2026.9.30`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let chunks = |s: &str| {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, run)) if *d == digit => run.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    };
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, n), (true, m)) => {
                let (n, m) = (n.trim_start_matches('0'), m.trim_start_matches('0'));
                n.len().cmp(&m.len()).then_with(|| n.cmp(m))
            }
            ((_, s), (_, t)) => s.cmp(t),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_naturally() {
        assert_eq!(compare_versions("v10", "v9"), Ordering::Greater);
        assert_eq!(
            compare_versions("2026.11.2", "2026.9.30"),
            Ordering::Greater
        );
        assert_eq!(compare_versions("1", "1.1"), Ordering::Less);
        assert_eq!(compare_versions("v2", "v2"), Ordering::Equal);
    }
}
