//! Writing a model bundle: its files, then the checksum manifest that completes it.

use std::path::Path;

use super::checksum::render_manifest;
use super::format::{files, Evaluation, GoldenFile, ModelFile, ModelMetadata, PolicyFile};

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
    /// `evaluation.json`.
    pub evaluation: &'a Evaluation,
    /// `golden.json`.
    pub golden: &'a GoldenFile,
    /// `MODEL_CARD.md`.
    pub model_card: &'a str,
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
    let evaluation = serde_json::to_string_pretty(bundle.evaluation)? + "\n";
    let golden = serde_json::to_string_pretty(bundle.golden)? + "\n";
    let entries: [(&str, &[u8]); 7] = [
        (files::MODEL, model.as_bytes()),
        (files::POLICY, policy.as_bytes()),
        (files::ACTIONS, bundle.actions_toml.as_bytes()),
        (files::METADATA, metadata.as_bytes()),
        (files::EVALUATION, evaluation.as_bytes()),
        (files::GOLDEN, golden.as_bytes()),
        (files::MODEL_CARD, bundle.model_card.as_bytes()),
    ];
    for (name, bytes) in entries {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {name}"))?;
    }
    // The manifest goes last: a bundle without it is incomplete and never loaded.
    std::fs::write(dir.join(files::CHECKSUMS), render_manifest(entries))
        .context("writing checksums.sha256")?;
    Ok(())
}
