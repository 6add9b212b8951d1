//! Writing a model bundle: its files, then the checksum manifest that completes it; and
//! resealing a bundle after a deliberate edit.

use std::path::Path;

use std::path::PathBuf;

use super::checksum::render_manifest;
use super::error::BundleProblem;
use super::format::{files, Evaluation, GoldenFile, ModelFile, ModelMetadata, PolicyFile};

/// Why a bundle could not be written (or resealed).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The version directory exists: a version is never overwritten.
    #[error("{} already exists; choose a new version", .0.display())]
    Exists(PathBuf),
    /// A file or directory could not be read, listed, created or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// `reading`, `writing`, `creating` or `listing`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file's content could not be serialized.
    #[error("{file}: {message}")]
    Serialize {
        /// The bundle file.
        file: &'static str,
        /// The serializer's message.
        message: String,
    },
    /// A file every bundle has is missing.
    #[error("{} has no {file}: not a complete bundle", dir.display())]
    Incomplete {
        /// The bundle directory.
        dir: PathBuf,
        /// The missing file.
        file: &'static str,
    },
    /// The base bundle's manifest does not parse.
    #[error("{}: {problem}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        problem: BundleProblem,
    },
}

/// An I/O failure on `path`.
fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// A serialization failure of bundle file `file`.
fn serialize(file: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> WriteError {
    move |e| WriteError::Serialize {
        file,
        message: e.to_string(),
    }
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
pub fn write_bundle(dir: &Path, bundle: &BundleContents<'_>) -> Result<(), WriteError> {
    if dir.exists() {
        return Err(WriteError::Exists(dir.to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let json = |file: &'static str, value: &dyn erased::Json| {
        value
            .pretty()
            .map(|text| text + "\n")
            .map_err(|e| serialize(file)(&e))
    };
    let model = json(files::MODEL, bundle.model)?;
    let policy = toml::to_string_pretty(bundle.policy).map_err(|e| serialize(files::POLICY)(&e))?;
    let metadata = json(files::METADATA, bundle.metadata)?;
    let evaluation = json(files::EVALUATION, bundle.evaluation)?;
    let golden = json(files::GOLDEN, bundle.golden)?;
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
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(io("writing", &path))?;
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
pub fn reseal_bundle(dir: &Path) -> Result<Resealed, WriteError> {
    let mut contents: Vec<(&str, Vec<u8>)> = Vec::new();
    for name in files::SEALED {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => contents.push((name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if files::REQUIRED.contains(&name) {
                    return Err(WriteError::Incomplete {
                        dir: dir.to_owned(),
                        file: name,
                    });
                }
            }
            Err(e) => return Err(io("reading", &path)(e)),
        }
    }
    let mut uplift: Vec<(String, Vec<u8>)> = Vec::new();
    for name in uplift_files(dir)? {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
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
    for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
        let name = entry.map_err(io("listing", dir))?.file_name();
        let name = name.to_string_lossy().into_owned();
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
fn uplift_files(dir: &Path) -> Result<Vec<String>, WriteError> {
    let folder = dir.join(files::UPLIFT_DIR);
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(io("listing", &folder))? {
        let name = entry.map_err(io("listing", &folder))?.file_name();
        let name = name.to_string_lossy().into_owned();
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
) -> Result<(), WriteError> {
    if dir.exists() {
        return Err(WriteError::Exists(dir.to_owned()));
    }
    let manifest_path = base.join(files::CHECKSUMS);
    let manifest =
        std::fs::read_to_string(&manifest_path).map_err(io("reading", &manifest_path))?;
    let listed =
        super::checksum::parse_manifest(&manifest).map_err(|problem| WriteError::Manifest {
            path: manifest_path.clone(),
            problem,
        })?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _) in listed {
        if name.starts_with(&format!("{}/", files::UPLIFT_DIR)) || name == files::MODEL_CARD {
            continue;
        }
        let path = base.join(&name);
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        entries.push((name, bytes));
    }
    entries.push((files::MODEL_CARD.to_owned(), model_card.as_bytes().to_vec()));
    entries.extend(uplift.iter().cloned());
    let uplift_dir = dir.join(files::UPLIFT_DIR);
    std::fs::create_dir_all(&uplift_dir).map_err(io("creating", &uplift_dir))?;
    for (name, bytes) in &entries {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(io("writing", &path))?;
    }
    seal(dir, entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
}

/// Writes the manifest of `entries` (file name, content) into `dir`. Written aside and renamed,
/// so a reader such as the server's watcher sees the old manifest or the new one, never part.
fn seal<'a>(
    dir: &Path,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), WriteError> {
    let tmp = dir.join(format!(".{}.tmp", files::CHECKSUMS));
    std::fs::write(&tmp, render_manifest(entries)).map_err(io("writing", &tmp))?;
    let manifest = dir.join(files::CHECKSUMS);
    std::fs::rename(&tmp, &manifest).map_err(io("writing", &manifest))
}

/// JSON files of a bundle, written pretty, whatever their type.
mod erased {
    /// A value written as pretty JSON.
    pub trait Json {
        /// The JSON text.
        fn pretty(&self) -> serde_json::Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> serde_json::Result<String> {
            serde_json::to_string_pretty(self)
        }
    }
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
