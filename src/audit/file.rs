//! The append-only audit file and its rotation by size.
//!
//! Records only ever go to the end of the file (`O_APPEND`). When the next record would take
//! the file past its size limit, the file is renamed to `<stem>.<UTC time>.<n>.<ext>` and a
//! new one started, so a record is never split across files and no file is ever rewritten.
//! Rotated names sort in the order they were written.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The live audit file.
#[derive(Debug)]
pub struct AuditFile {
    path: PathBuf,
    file: File,
    len: u64,
    max_bytes: u64,
    fsync: bool,
    // A write failed part-way, or the file was found ending mid-line: the next write starts
    // with a newline so that the next record sits on a line of its own.
    broken_line: bool,
}

impl AuditFile {
    /// Opens (creating it if needed) the file at `path` for appending.
    ///
    /// # Errors
    /// The file cannot be opened or read.
    pub fn open(path: &Path, max_bytes: u64, fsync: bool) -> io::Result<Self> {
        let (file, len, broken_line) = open_append(path)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            len,
            max_bytes,
            fsync,
            broken_line,
        })
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a batch of `next` bytes, queued after `pending` bytes not yet written, must go
    /// to a new file: the file with the pending bytes is not empty and would pass its limit.
    /// (A single batch larger than the limit still goes whole into one file.)
    pub fn must_rotate_before(&self, pending: usize, next: usize) -> bool {
        let before = self.len.saturating_add(pending as u64);
        before > 0 && before.saturating_add(next as u64) > self.max_bytes
    }

    /// Appends whole records in one `write(2)` (more if the kernel takes less), then syncs if
    /// set to.
    ///
    /// # Errors
    /// The file was deleted and cannot be created again, or the write or sync fails.
    pub fn append(&mut self, records: &[u8]) -> io::Result<()> {
        self.reopen_if_deleted()?;
        if self.broken_line {
            self.file.write_all(b"\n")?;
            self.len += 1;
            self.broken_line = false;
        }
        if let Err(e) = self.file.write_all(records) {
            // How much went out is unknown: re-read the length, and start the next record on
            // a fresh line.
            self.len = self.file.metadata().map_or(self.len, |m| m.len());
            self.broken_line = true;
            return Err(e);
        }
        self.len += records.len() as u64;
        if self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Renames the live file aside and starts a new one; returns the rotated file's path.
    ///
    /// # Errors
    /// The rename or the new file fails.
    pub fn rotate(&mut self) -> io::Result<PathBuf> {
        self.file.sync_all()?;
        let rotated = free_rotated_name(&self.path, SystemTime::now());
        std::fs::rename(&self.path, &rotated)?;
        let (file, len, broken_line) = open_append(&self.path)?;
        self.file = file;
        self.len = len;
        self.broken_line = broken_line;
        Ok(rotated)
    }

    /// Flushes the file to disk (used at shutdown).
    ///
    /// # Errors
    /// The sync fails.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// A deleted file (or directory) would swallow every later record unseen: notice it
    /// (one `fstat`) and create the file again, or fail.
    fn reopen_if_deleted(&mut self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if self.file.metadata()?.nlink() == 0 {
                let (file, len, broken_line) = open_append(&self.path).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("the file was deleted and cannot be created again: {e}"),
                    )
                })?;
                self.file = file;
                self.len = len;
                self.broken_line = broken_line;
            }
        }
        Ok(())
    }
}

/// Opens for appending; returns the file, its length, and whether it ends mid-line.
fn open_append(path: &Path) -> io::Result<(File, u64, bool)> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut broken_line = false;
    if len > 0 && file.metadata()?.is_file() {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        broken_line = last[0] != b'\n';
    }
    Ok((file, len, broken_line))
}

/// `<stem>.<UTC time>.<n>.<ext>` beside `path`, with the first `n` not taken.
pub fn free_rotated_name(path: &Path, at: SystemTime) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or_else(|| "jsonl".into(), |s| s.to_string_lossy().into_owned());
    // 2026-11-25T15:13:00.123456Z → 20261125T151300.123456Z: sortable and free of colons.
    let stamp: String = humantime::format_rfc3339_micros(at)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    (0u32..)
        .map(|n| path.with_file_name(format!("{stem}.{stamp}.{n:03}.{ext}")))
        .find(|p| !p.exists())
        .expect("some sequence number is free")
}

/// The rotated files of the log at `path`, oldest first, then the live file if it exists.
///
/// # Errors
/// The directory cannot be read.
pub fn log_files(path: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let live = path.file_name().map(|n| n.to_owned());
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with(&format!("{stem}.")))
                && p.file_name().map(|n| n.to_owned()) != live
        })
        .collect();
    rotated.sort();
    if path.exists() {
        rotated.push(path.to_owned());
    }
    Ok(rotated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_rotates_between_records_once_the_next_would_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut f = AuditFile::open(&path, 10, false).unwrap();
        assert!(
            !f.must_rotate_before(0, 100),
            "an empty file takes any batch"
        );
        assert!(f.must_rotate_before(8, 8), "pending bytes count");
        f.append(b"{\"a\":1}\n").unwrap();
        assert!(f.must_rotate_before(0, 8));
        let rotated = f.rotate().unwrap();
        f.append(b"{\"a\":2}\n").unwrap();
        assert_eq!(std::fs::read(&rotated).unwrap(), b"{\"a\":1}\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":2}\n");
        assert_eq!(log_files(&path).unwrap(), vec![rotated, path]);
    }

    #[test]
    fn rotated_names_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let at = SystemTime::now();
        let first = free_rotated_name(&path, at);
        std::fs::write(&first, b"x").unwrap();
        let second = free_rotated_name(&path, at);
        assert_ne!(first, second);
        assert!(first < second, "{first:?} sorts before {second:?}");
        assert!(second.to_string_lossy().ends_with(".001.jsonl"));
    }

    #[test]
    fn a_file_left_mid_line_gets_its_next_record_on_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"trunc").unwrap();
        let mut f = AuditFile::open(&path, 1 << 20, false).unwrap();
        f.append(b"{\"a\":2}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"trunc\n{\"a\":2}\n"
        );
    }

    #[test]
    fn a_deleted_file_is_created_again_rather_than_written_into_the_void() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut f = AuditFile::open(&path, 1 << 20, false).unwrap();
        f.append(b"1\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        f.append(b"2\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2\n");
    }
}
