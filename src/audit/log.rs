//! [`AuditLog`]: decisions appended by one writer thread with group commit.
//!
//! Handlers serialize their record on their own thread, hand the bytes to the writer and await
//! its acknowledgement before replying. The writer takes everything queued since its last
//! write, appends it with one `write(2)`, then acknowledges each handler. Under load one
//! system call serves many decisions and no handler thread ever blocks on the disk.
//!
//! # Durability
//! An acknowledged record has reached the operating system (`write(2)` returned): it survives
//! a crash, kill or panic of the process, but not a power loss or kernel crash before the page
//! cache is flushed. With `fsync` set, the writer also calls `fdatasync` before acknowledging a
//! group, and an acknowledged record survives a power loss too. The file is synced at close
//! and before each rotation either way.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::file::AuditFile;
use super::hash::CustomerHasher;
use super::settings::AuditSettings;

/// Most queued appends written in one group.
const MAX_GROUP: usize = 4096;

/// Why a decision could not be audited.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// Auditing is on but there is no key to hash customer ids with.
    #[error("the audit log needs a hash key for customer ids (set BANKSCORE_AUDIT_HASH_KEY)")]
    NoHashKey,
    /// The file cannot be opened at start-up.
    #[error("cannot open the audit log {path}: {cause}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        cause: String,
    },
    /// Writing (or rotating) failed: the records of the group are not in the log.
    #[error("cannot write to the audit log {path}: {cause}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        cause: String,
    },
    /// The log was closed (the server is shutting down).
    #[error("the audit log is closed")]
    Closed,
}

enum Message {
    Append {
        records: Vec<u8>,
        done: oneshot::Sender<Result<(), AuditError>>,
    },
    Close(oneshot::Sender<Result<(), AuditError>>),
}

/// The decision audit log; share it as `Arc<AuditLog>`.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    hasher: CustomerHasher,
    queue: mpsc::Sender<Message>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Whether bulk streams are audited.
    streams: bool,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Append { records, .. } => write!(f, "Append({} bytes)", records.len()),
            Self::Close(_) => f.write_str("Close"),
        }
    }
}

impl AuditLog {
    /// Opens the log at `path` (appending to an existing file) and starts its writer thread.
    ///
    /// # Errors
    /// The hash key is empty, or the file cannot be opened.
    pub fn open(path: &Path, settings: &AuditSettings) -> Result<Self, AuditError> {
        if settings.hash_key.is_empty() {
            return Err(AuditError::NoHashKey);
        }
        let file = AuditFile::open(path, settings.max_file_bytes, settings.fsync).map_err(|e| {
            AuditError::Open {
                path: path.to_owned(),
                cause: e.to_string(),
            }
        })?;
        let (queue, inbox) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("bankscore-audit".into())
            .spawn(move || write_loop(file, &inbox))
            .map_err(|e| AuditError::Open {
                path: path.to_owned(),
                cause: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            path: path.to_owned(),
            hasher: CustomerHasher::new(&settings.hash_key),
            queue,
            writer: Mutex::new(Some(writer)),
            streams: settings.streams,
        })
    }

    /// Opens the log the settings name, or `None` when auditing is off.
    ///
    /// # Errors
    /// See [`AuditLog::open`].
    pub fn from_settings(settings: &AuditSettings) -> Result<Option<Self>, AuditError> {
        settings
            .path
            .as_deref()
            .map(|p| Self::open(p, settings))
            .transpose()
    }

    /// Whether `ScoreStream` records are audited too (`audit.streams`).
    pub fn audits_streams(&self) -> bool {
        self.streams
    }

    /// The live file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyed hash of customer ids used in records (and wherever logs name a customer).
    pub fn hasher(&self) -> &CustomerHasher {
        &self.hasher
    }

    /// Appends whole JSON lines and waits until they reached the file (see the module's
    /// durability note).
    ///
    /// # Errors
    /// The write failed or the log is closed: the records are not in the log.
    pub async fn append(&self, records: Vec<u8>) -> Result<(), AuditError> {
        let (done, written) = oneshot::channel();
        self.queue
            .send(Message::Append { records, done })
            .map_err(|_| AuditError::Closed)?;
        written.await.map_err(|_| AuditError::Closed)?
    }

    /// Writes everything queued before, syncs the file and stops the writer. Later appends
    /// fail with [`AuditError::Closed`].
    ///
    /// # Errors
    /// The final sync failed.
    pub async fn close(&self) -> Result<(), AuditError> {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).is_err() {
            return Ok(()); // already closed
        }
        let result = closed.await.unwrap_or(Ok(()));
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        result
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Appends were all acknowledged already (each caller waited); this only adds the sync.
        let (done, _) = oneshot::channel();
        let _ = self.queue.send(Message::Close(done));
    }
}

/// The writer thread: group commit until closed or every sender is gone.
fn write_loop(mut file: AuditFile, inbox: &mpsc::Receiver<Message>) {
    let mut group: Vec<Message> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<Result<(), AuditError>>> = Vec::new();
    while let Ok(first) = inbox.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match inbox.try_recv() {
                Ok(m) => group.push(m),
                Err(_) => break,
            }
        }
        for message in group.drain(..) {
            match message {
                Message::Append { records, done } => {
                    if file.must_rotate_before(buf.len(), records.len()) {
                        // Write what is before this batch to the old file, then rotate.
                        commit(&mut file, &mut buf, &mut waiting);
                        if let Err(e) = file.rotate() {
                            let _ = done.send(Err(write_error(&file, "rotating", &e)));
                            continue;
                        }
                    }
                    buf.extend_from_slice(&records);
                    waiting.push(done);
                }
                Message::Close(done) => {
                    commit(&mut file, &mut buf, &mut waiting);
                    let synced = file
                        .sync()
                        .map_err(|e| write_error(&file, "syncing at close", &e));
                    let _ = done.send(synced);
                    return;
                }
            }
        }
        commit(&mut file, &mut buf, &mut waiting);
    }
    let _ = file.sync();
}

/// Writes `buf` and tells every waiter how it went.
fn commit(
    file: &mut AuditFile,
    buf: &mut Vec<u8>,
    waiting: &mut Vec<oneshot::Sender<Result<(), AuditError>>>,
) {
    if buf.is_empty() {
        return;
    }
    let result = file
        .append(buf)
        .map_err(|e| write_error(file, "writing", &e));
    if let Err(e) = &result {
        tracing::error!(cause = %e, appends = waiting.len(), "audit write failed; the decisions are refused");
    }
    for done in waiting.drain(..) {
        // A caller that gave up waiting is no reason to stop.
        let _ = done.send(result.clone());
    }
    buf.clear();
}

fn write_error(file: &AuditFile, doing: &str, e: &std::io::Error) -> AuditError {
    AuditError::Write {
        path: file.path().to_owned(),
        cause: format!("{doing}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::settings::HashKey;

    fn settings(max_file_bytes: u64) -> AuditSettings {
        AuditSettings {
            path: None,
            max_file_bytes,
            hash_key: HashKey::new("test-key"),
            fsync: false,
            streams: true,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_all_land_whole_and_appends_after_close_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path, &settings(4096)).unwrap());
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move {
                    log.append(format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(100)).into())
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        log.close().await.unwrap();
        assert!(matches!(
            log.append(b"{}\n".to_vec()).await,
            Err(AuditError::Closed)
        ));

        let files = crate::audit::file::log_files(&path).unwrap();
        assert!(files.len() > 1, "4 KiB files rotate: {files:?}");
        let mut seen: Vec<u64> = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.len() <= 4096, "{f:?} has {} bytes", text.len());
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                seen.push(v["n"].as_u64().unwrap());
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<u64>>());
    }

    #[test]
    fn auditing_without_a_hash_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = AuditSettings {
            hash_key: HashKey::default(),
            ..settings(1024)
        };
        assert!(matches!(
            AuditLog::open(&dir.path().join("a.jsonl"), &s),
            Err(AuditError::NoHashKey)
        ));
    }
}
