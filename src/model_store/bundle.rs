//! Loading (with every check) and writing a model bundle directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::checksum::{parse_manifest, render_manifest, sha256_hex};
use super::format::{files, ModelFile, ModelMetadata, PolicyFile, FORMAT_VERSION};
use crate::domain::{ActionCatalog, ChurnModel, ScoringModel};

/// Which bundle answered: shown in every response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelId {
    /// Model name (directory under `models/`).
    pub name: String,
    /// Version (directory under `models/<name>/`).
    pub version: String,
    /// SHA-256 of `checksums.sha256`: identifies every file of the bundle.
    pub checksum: String,
}

/// A validated bundle, ready to score.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// Identity.
    pub id: ModelId,
    /// The scoring core's model.
    pub scoring: ScoringModel,
    /// Training metadata.
    pub metadata: ModelMetadata,
}

/// A bundle that cannot be used, with the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("model bundle {}: {file}: {problem}", dir.display())]
pub struct BundleError {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The file at fault (or the directory itself).
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads and checks the bundle in `dir` (`.../<name>/<version>/`).
///
/// Checks, in order: the manifest covers every required file and every checksum matches; each
/// file parses; every number is finite and in range; every feature is known.
///
/// # Errors
/// The first problem found, naming the file.
pub fn load_bundle(dir: &Path) -> Result<LoadedModel, BundleError> {
    let fail = |file: &str, problem: String| BundleError {
        dir: dir.to_owned(),
        file: file.to_owned(),
        problem,
    };
    let (name, version) = name_and_version(dir)
        .ok_or_else(|| fail(".", "expected a directory models/<name>/<version>/".into()))?;

    let manifest_bytes = std::fs::read(dir.join(files::CHECKSUMS))
        .map_err(|e| fail(files::CHECKSUMS, format!("cannot read: {e}")))?;
    let manifest_text = std::str::from_utf8(&manifest_bytes)
        .map_err(|_| fail(files::CHECKSUMS, "not UTF-8 text".into()))?;
    let manifest = parse_manifest(manifest_text).map_err(|e| fail(files::CHECKSUMS, e))?;

    let mut contents: BTreeMap<&str, String> = BTreeMap::new();
    for required in files::REQUIRED {
        let Some((_, expected)) = manifest.iter().find(|(f, _)| f == required) else {
            return Err(fail(files::CHECKSUMS, format!("does not list {required}")));
        };
        let bytes = std::fs::read(dir.join(required))
            .map_err(|e| fail(required, format!("cannot read: {e}")))?;
        let actual = sha256_hex(&bytes);
        if &actual != expected {
            return Err(fail(
                required,
                format!("checksum mismatch: manifest says {expected}, file has {actual}"),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail(required, "not UTF-8 text".into()))?;
        contents.insert(required, text);
    }

    let model: ModelFile = serde_json::from_str(&contents[files::MODEL])
        .map_err(|e| fail(files::MODEL, e.to_string()))?;
    if model.format_version != FORMAT_VERSION {
        return Err(fail(
            files::MODEL,
            format!(
                "format_version {} is not supported (this build reads {FORMAT_VERSION})",
                model.format_version
            ),
        ));
    }
    if model.kind != "logistic_regression" {
        return Err(fail(
            files::MODEL,
            format!("kind `{}` is not supported", model.kind),
        ));
    }
    let churn = ChurnModel::new(model.intercept, model.features, model.horizon_months)
        .map_err(|e| fail(files::MODEL, e.to_string()))?;

    let policy: PolicyFile =
        toml::from_str(&contents[files::POLICY]).map_err(|e| fail(files::POLICY, e.to_string()))?;
    policy
        .value
        .validate()
        .map_err(|e| fail(files::POLICY, e.to_string()))?;
    policy
        .tiers
        .validate()
        .map_err(|e| fail(files::POLICY, e.to_string()))?;

    let actions: ActionCatalog = toml::from_str(&contents[files::ACTIONS])
        .map_err(|e| fail(files::ACTIONS, e.to_string()))?;
    actions
        .validate()
        .map_err(|e| fail(files::ACTIONS, e.to_string()))?;

    let metadata: ModelMetadata = serde_json::from_str(&contents[files::METADATA])
        .map_err(|e| fail(files::METADATA, e.to_string()))?;

    Ok(LoadedModel {
        id: ModelId {
            name,
            version,
            checksum: sha256_hex(&manifest_bytes),
        },
        scoring: ScoringModel {
            churn,
            value: policy.value,
            tiers: policy.tiers,
            actions,
        },
        metadata,
    })
}

fn name_and_version(dir: &Path) -> Option<(String, String)> {
    let version = dir.file_name()?.to_str()?.to_owned();
    let name = dir.parent()?.file_name()?.to_str()?.to_owned();
    Some((name, version))
}

/// The contents of a bundle to write.
#[derive(Debug, Clone)]
pub struct BundleContents<'a> {
    /// `model.json`.
    pub model: &'a ModelFile,
    /// `policy.toml`.
    pub policy: &'a PolicyFile,
    /// `actions.toml` as text, so the business's comments survive.
    pub actions_toml: &'a str,
    /// `metadata.json`.
    pub metadata: &'a ModelMetadata,
}

/// Writes a complete bundle into `dir` (created; must not exist yet), manifest last.
///
/// # Errors
/// `dir` exists, or a file cannot be serialized or written.
pub fn write_bundle(dir: &Path, bundle: &BundleContents<'_>) -> anyhow::Result<()> {
    use anyhow::Context;
    anyhow::ensure!(
        !dir.exists(),
        "{} already exists; choose a new version",
        dir.display()
    );
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let model = serde_json::to_string_pretty(bundle.model)? + "\n";
    let policy = toml::to_string_pretty(bundle.policy)?;
    let metadata = serde_json::to_string_pretty(bundle.metadata)? + "\n";
    let entries: [(&str, &[u8]); 4] = [
        (files::MODEL, model.as_bytes()),
        (files::POLICY, policy.as_bytes()),
        (files::ACTIONS, bundle.actions_toml.as_bytes()),
        (files::METADATA, metadata.as_bytes()),
    ];
    for (name, bytes) in entries {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {name}"))?;
    }
    // The manifest goes last: a bundle without it is incomplete and never loaded.
    std::fs::write(dir.join(files::CHECKSUMS), render_manifest(entries))
        .context("writing checksums.sha256")?;
    Ok(())
}
