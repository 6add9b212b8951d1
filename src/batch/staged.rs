//! Output files that appear whole or not at all: each is written to a temporary file in the
//! directory of its final path, and all are renamed into place only once every one is written.
//! A run that fails midway leaves no output behind (the temporary files are removed on drop).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A set of outputs being written; nothing is visible under the final names before
/// [`Staged::commit`].
#[derive(Debug, Default)]
pub struct Staged {
    // (temporary path, final path)
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `path`'s content to its temporary file with `write`.
    ///
    /// # Errors
    /// The temporary file cannot be created or written: the error names `path`.
    pub fn write(
        &mut self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), (PathBuf, std::io::Error)> {
        let name = path
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let fail = |e| (path.to_path_buf(), e);
        let file = File::create(&tmp).map_err(fail)?;
        // Registered before writing so that a failed write is cleaned up too.
        self.files.push((tmp, path.to_path_buf()));
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w).map_err(fail)?;
        w.into_inner()
            .map_err(|e| fail(e.into_error()))?
            .sync_all()
            .map_err(fail)
    }

    /// Renames every temporary file to its final name.
    ///
    /// # Errors
    /// A rename fails: the error names the final path (files renamed before it stay).
    pub fn commit(mut self) -> Result<(), (PathBuf, std::io::Error)> {
        for (tmp, path) in std::mem::take(&mut self.files) {
            if let Err(e) = std::fs::rename(&tmp, &path) {
                let _ = std::fs::remove_file(&tmp);
                return Err((path, e));
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_appear_only_on_commit_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.md"), dir.path().join("b.csv"));
        let mut staged = Staged::new();
        staged.write(&a, |w| w.write_all(b"report")).unwrap();
        staged.write(&b, |w| w.write_all(b"rows")).unwrap();
        assert!(!a.exists() && !b.exists());
        staged.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "report");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "rows");

        let c = dir.path().join("c.md");
        let mut staged = Staged::new();
        staged.write(&c, |w| w.write_all(b"half")).unwrap();
        let failed = staged.write(&dir.path().join("d.md"), |_| {
            Err(std::io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().0, dir.path().join("d.md"));
        drop(staged);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "only a.md and b.csv remain: {left:?}");
    }
}
