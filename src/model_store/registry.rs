//! The set of loaded model versions and which one is live.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use super::bundle::{load_bundle, BundleError, LoadedModel};

/// The loaded versions of one model, and the live one.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    name: String,
    /// Sorted by [`compare_versions`], oldest first.
    versions: Vec<Arc<LoadedModel>>,
    live: Arc<LoadedModel>,
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
    #[error("model `{name}` has no valid version: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NoValidVersion {
        name: String,
        errors: Vec<BundleError>,
    },
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

/// What loading a models directory found.
#[derive(Debug)]
pub struct LoadReport {
    /// The registry of valid versions.
    pub registry: ModelRegistry,
    /// Bundles that were refused, with why.
    pub rejected: Vec<BundleError>,
}

impl ModelRegistry {
    /// Loads every version of one model from `root` (`root/<name>/<version>/`); the newest valid
    /// version is live. `model` may be omitted when `root` holds exactly one model.
    ///
    /// # Errors
    /// The directory cannot be read, the model is ambiguous or unknown, or no version is valid.
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
        let model_dir = root.join(&name);
        let mut versions = Vec::new();
        let mut rejected = Vec::new();
        for version in subdirectories(&model_dir)? {
            match load_bundle(&model_dir.join(&version)) {
                Ok(m) => versions.push(Arc::new(m)),
                Err(e) => rejected.push(e),
            }
        }
        versions.sort_by(|a, b| compare_versions(&a.id.version, &b.id.version));
        let Some(live) = versions.last().cloned() else {
            return Err(RegistryError::NoValidVersion {
                name,
                errors: rejected,
            });
        };
        Ok(LoadReport {
            registry: Self {
                name,
                versions,
                live,
            },
            rejected,
        })
    }

    /// A registry holding one model.
    pub fn single(model: LoadedModel) -> Self {
        let live = Arc::new(model);
        Self {
            name: live.id.name.clone(),
            versions: vec![live.clone()],
            live,
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The live version.
    pub fn live(&self) -> &Arc<LoadedModel> {
        &self.live
    }

    /// Every loaded version, oldest first.
    pub fn versions(&self) -> &[Arc<LoadedModel>] {
        &self.versions
    }

    /// The version a request asked for; empty means the live one.
    ///
    /// # Errors
    /// The version is not loaded.
    pub fn resolve(&self, version: &str) -> Result<&Arc<LoadedModel>, UnknownVersion> {
        if version.is_empty() {
            return Ok(&self.live);
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
