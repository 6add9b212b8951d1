//! Writing a model bundle: its files, then the checksum manifest that completes it; and
//! resealing a bundle after a deliberate edit.

use std::path::Path;

use anyhow::Context;

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
    seal(dir, entries)
}

/// What [`reseal_bundle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// The files the new manifest lists, in its order.
    pub sealed: Vec<String>,
    /// Other files in the directory: not bundle files, so not listed (the loader ignores them).
    pub left_out: Vec<String>,
}

/// Rewrites `checksums.sha256` in `dir` over the bundle's files as they are now, in the format
/// and order [`write_bundle`] writes, so that a deliberate edit (such as the business changing
/// `actions.toml`) passes the checksums. It says nothing about the edit being valid: load or
/// validate the bundle next. `MODEL_CARD.md` is listed when present.
///
/// # Errors
/// A required bundle file is missing or unreadable, or the manifest cannot be written.
pub fn reseal_bundle(dir: &Path) -> anyhow::Result<Resealed> {
    let mut contents: Vec<(&str, Vec<u8>)> = Vec::new();
    for name in files::SEALED {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => contents.push((name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                anyhow::ensure!(
                    !files::REQUIRED.contains(&name),
                    "{} has no {name}: not a complete bundle",
                    dir.display()
                );
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    let mut uplift: Vec<(String, Vec<u8>)> = Vec::new();
    for name in uplift_files(dir)? {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        uplift.push((name, bytes));
    }
    seal(
        dir,
        contents
            .iter()
            .map(|(n, b)| (*n, b.as_slice()))
            .chain(uplift.iter().map(|(n, b)| (n.as_str(), b.as_slice()))),
    )?;
    let mut left_out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let ours = name == files::CHECKSUMS
            || name == files::UPLIFT_DIR
            || files::SEALED.contains(&name.as_str());
        if !ours && !name.starts_with('.') {
            left_out.push(name);
        }
    }
    left_out.sort();
    Ok(Resealed {
        sealed: contents
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .chain(uplift.into_iter().map(|(n, _)| n))
            .collect(),
        left_out,
    })
}

/// The `uplift/*.json` files in `dir`, as manifest names, sorted.
fn uplift_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let folder = dir.join(files::UPLIFT_DIR);
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(&folder).with_context(|| format!("listing {}", folder.display()))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.starts_with('.') {
            names.push(format!("{}/{name}", files::UPLIFT_DIR));
        }
    }
    names.sort();
    Ok(names)
}

/// Writes a copy of the bundle in `base` into `dir` (created; must not exist yet) with the
/// learned uplift `files` (manifest name, content) added and `model_card` replacing the card;
/// every file of `base`'s manifest but its uplift files is copied byte for byte. Manifest last.
///
/// # Errors
/// `dir` exists, `base` has no readable manifest or file, or a file cannot be written.
pub fn write_bundle_with_uplift(
    base: &Path,
    dir: &Path,
    uplift: &[(String, Vec<u8>)],
    model_card: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !dir.exists(),
        "{} already exists; choose a new version",
        dir.display()
    );
    let manifest_path = base.join(files::CHECKSUMS);
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let listed = super::checksum::parse_manifest(&manifest)
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _) in listed {
        if name.starts_with(&format!("{}/", files::UPLIFT_DIR)) || name == files::MODEL_CARD {
            continue;
        }
        let path = base.join(&name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        entries.push((name, bytes));
    }
    entries.push((files::MODEL_CARD.to_owned(), model_card.as_bytes().to_vec()));
    entries.extend(uplift.iter().cloned());
    std::fs::create_dir_all(dir.join(files::UPLIFT_DIR))
        .with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in &entries {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {name}"))?;
    }
    seal(dir, entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
}

/// Writes the manifest of `entries` (file name, content) into `dir`. Written aside and renamed,
/// so a reader such as the server's watcher sees the old manifest or the new one, never part.
fn seal<'a>(
    dir: &Path,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{}.tmp", files::CHECKSUMS));
    std::fs::write(&tmp, render_manifest(entries))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(files::CHECKSUMS))
        .with_context(|| format!("writing {}", dir.join(files::CHECKSUMS).display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_store::load_bundle;

    /// A copy of the shipped bundle, written by `bankscore train`, at `<tmp>/churn/<version>`.
    fn shipped_copy(tmp: &Path, version: &str) -> std::path::PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1");
        let dst = tmp.join("churn").join(version);
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
        dst
    }

    #[test]
    fn resealing_an_unchanged_bundle_rewrites_the_manifest_training_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = shipped_copy(tmp.path(), "v2");
        let trained = std::fs::read(dir.join(files::CHECKSUMS)).unwrap();
        let resealed = reseal_bundle(&dir).unwrap();
        assert_eq!(std::fs::read(dir.join(files::CHECKSUMS)).unwrap(), trained);
        assert_eq!(resealed.sealed, files::SEALED);
        assert!(resealed.left_out.is_empty());
    }

    #[test]
    fn an_edited_catalog_loads_once_resealed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = shipped_copy(tmp.path(), "v2");
        let before = load_bundle(&dir).unwrap().id.checksum;
        let actions = dir.join(files::ACTIONS);
        let text = std::fs::read_to_string(&actions).unwrap();
        std::fs::write(&actions, text.replacen("cost = 80.0", "cost = 90.0", 1)).unwrap();
        std::fs::write(dir.join("notes.txt"), "why cost changed").unwrap();
        let err = load_bundle(&dir).unwrap_err();
        assert!(
            matches!(
                err.problem,
                crate::model_store::BundleProblem::ChecksumMismatch { .. }
            ),
            "{err}"
        );

        let resealed = reseal_bundle(&dir).unwrap();
        assert_eq!(resealed.left_out, ["notes.txt"]);
        let after = load_bundle(&dir).expect("resealed bundle loads");
        assert_ne!(after.id.checksum, before);
        assert!(!dir.join(".checksums.sha256.tmp").exists());
    }

    #[test]
    fn a_bundle_missing_a_required_file_is_not_resealed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = shipped_copy(tmp.path(), "v2");
        let manifest = std::fs::read(dir.join(files::CHECKSUMS)).unwrap();
        std::fs::remove_file(dir.join(files::POLICY)).unwrap();
        let err = reseal_bundle(&dir).unwrap_err().to_string();
        assert!(
            err.ends_with("has no policy.toml: not a complete bundle"),
            "{err}"
        );
        assert_eq!(std::fs::read(dir.join(files::CHECKSUMS)).unwrap(), manifest);

        // The model card is optional, as for the loader.
        let dir = shipped_copy(tmp.path(), "v3");
        std::fs::remove_file(dir.join(files::MODEL_CARD)).unwrap();
        assert_eq!(reseal_bundle(&dir).unwrap().sealed.len(), 6);
        load_bundle(&dir).expect("loads without a model card");
    }
}
