//! `models/<name>/deployment.toml`: which version is live (the champion) and which, if any,
//! scores in shadow (the challenger). Model owners edit it or use `bankscore deploy`.
//!
//! ```toml
//! champion = "v2"
//! challenger = "v3"   # optional
//! ```
//!
//! Without the file the newest valid version is champion and there is no challenger.

use std::path::{Path, PathBuf};

/// File name of the deployment declaration inside `models/<name>/`.
pub const DEPLOYMENT_FILE: &str = "deployment.toml";

/// A `deployment.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file exists but cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file cannot be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a valid declaration (the TOML parser's message).
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The declared champion and challenger.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Version answering requests that do not pin one.
    pub champion: Option<String>,
    /// Version scoring the same requests in shadow; its answers are never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<String>,
}

impl Deployment {
    /// Reads `model_dir/deployment.toml`; a missing file is the default (newest version, no challenger).
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn read(model_dir: &Path) -> Result<Self, DeploymentError> {
        let path = model_dir.join(DEPLOYMENT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| DeploymentError::Syntax {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(DeploymentError::Read { path, source }),
        }
    }

    /// Writes `model_dir/deployment.toml` atomically (temporary file, then rename).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, model_dir: &Path) -> Result<(), DeploymentError> {
        let text = format!(
            "# Written by `bankscore deploy`. The server picks changes up without a restart.\n{}",
            toml::to_string(self).expect("two optional strings serialize")
        );
        let path = model_dir.join(DEPLOYMENT_FILE);
        let tmp = model_dir.join(format!(".{DEPLOYMENT_FILE}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| DeploymentError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_means_the_default_and_a_written_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Deployment::read(dir.path()).unwrap(), Deployment::default());
        let d = Deployment {
            champion: Some("v2".into()),
            challenger: Some("v3".into()),
        };
        d.write(dir.path()).unwrap();
        assert_eq!(Deployment::read(dir.path()).unwrap(), d);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DEPLOYMENT_FILE), "champoin = \"v2\"\n").unwrap();
        let err = Deployment::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("deployment.toml") && err.contains("champoin"),
            "{err}"
        );
    }
}
