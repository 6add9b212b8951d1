//! The outcomes log: one JSON line per observed outcome, the customer only as the audit log's
//! keyed hash so that outcomes join with decision records and no clear id reaches the disk.
//!
//! ```json
//! {"time":"2027-03-01T09:00:00.000001Z","customer":"5bdcc146bf60754e6a042426089575c7",
//!  "churned":true,"observed_on":"2027-02-28","campaign_id":"2027-q1"}
//! ```
//!
//! `observed_on` and `campaign_id` are left out when not reported. The file is written exactly
//! as the audit log is (the same writer: group commit, rotation by size, `fdatasync` when
//! `outcomes.fsync` is set), with the same durability: an accepted outcome has reached the
//! operating system before the reply, and the disk too with `fsync`.

use std::path::{Path, PathBuf};

use super::hash::CustomerHasher;
use super::log::{AuditError, AuditLog};
use super::record::now;
use super::settings::{AuditSettings, HashKey, DEFAULT_MAX_FILE_BYTES};
use crate::domain::outcome::ObservedOutcome;

/// `[outcomes]`: where reported outcomes are recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomesSettings {
    /// The JSON Lines file outcomes are appended to; `None`: `ReportOutcomes` answers
    /// FAILED_PRECONDITION. Needs `audit.hash_key`.
    pub path: Option<PathBuf>,
    /// Once the file is this large, it is renamed aside and a new one started.
    pub max_file_bytes: u64,
    /// `fdatasync` before acknowledging each group of outcomes.
    pub fsync: bool,
}

impl Default for OutcomesSettings {
    /// Off; 256 MiB files; no fsync.
    fn default() -> Self {
        Self {
            path: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            fsync: false,
        }
    }
}

/// One outcome as written and read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    /// RFC 3339 UTC time it was recorded, microseconds.
    pub time: String,
    /// The keyed hash of the customer id (as in the audit log).
    pub customer: String,
    /// Whether the customer left.
    pub churned: bool,
    /// The day it was observed, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_on: Option<String>,
    /// The campaign it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

impl OutcomeRecord {
    /// The record of `o`, its customer hashed by `hasher`, stamped now.
    pub fn of(o: &ObservedOutcome, hasher: &CustomerHasher) -> Self {
        Self {
            time: now(),
            customer: hasher.hash(&o.customer_id),
            churned: o.churned,
            observed_on: o.observed_on.clone(),
            campaign_id: o.campaign_id.clone(),
        }
    }

    /// Appends the record and its newline to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, self).expect("an outcome record always serializes");
        out.push(b'\n');
    }
}

/// Why outcomes could not be recorded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutcomeLogError {
    /// Outcomes are on but there is no key to hash customer ids with.
    #[error(
        "outcomes.path needs audit.hash_key to hash customer ids (set BANKSCORE_AUDIT_HASH_KEY)"
    )]
    NoHashKey,
    /// The file cannot be opened at start-up.
    #[error("cannot open the outcomes log {path}: {cause}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        cause: String,
    },
    /// Writing (or rotating) failed: the outcomes of the group are not in the log.
    #[error("cannot write to the outcomes log {path}: {cause}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        cause: String,
    },
    /// The log was closed (the server is shutting down).
    #[error("the outcomes log is closed")]
    Closed,
}

impl From<AuditError> for OutcomeLogError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::NoHashKey => Self::NoHashKey,
            AuditError::Open { path, cause } => Self::Open { path, cause },
            AuditError::Write { path, cause } => Self::Write { path, cause },
            AuditError::Closed => Self::Closed,
        }
    }
}

/// The outcomes log; share it as `Arc<OutcomeLog>`.
#[derive(Debug)]
pub struct OutcomeLog {
    // The audit log's writer over another file: only the lines differ.
    writer: AuditLog,
}

impl OutcomeLog {
    /// Opens the log at `path` (appending to an existing file), hashing ids under `hash_key`.
    ///
    /// # Errors
    /// The hash key is empty, or the file cannot be opened.
    pub fn open(
        path: &Path,
        settings: &OutcomesSettings,
        hash_key: &HashKey,
    ) -> Result<Self, OutcomeLogError> {
        let writer_settings = AuditSettings {
            path: Some(path.to_owned()),
            max_file_bytes: settings.max_file_bytes,
            hash_key: hash_key.clone(),
            fsync: settings.fsync,
            streams: false,
        };
        Ok(Self {
            writer: AuditLog::open(path, &writer_settings)?,
        })
    }

    /// Opens the log the settings name, or `None` when outcomes are not recorded.
    ///
    /// # Errors
    /// See [`OutcomeLog::open`].
    pub fn from_settings(
        settings: &OutcomesSettings,
        hash_key: &HashKey,
    ) -> Result<Option<Self>, OutcomeLogError> {
        settings
            .path
            .as_deref()
            .map(|p| Self::open(p, settings, hash_key))
            .transpose()
    }

    /// The live file.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    /// The keyed hash of customer ids (the audit log's).
    pub fn hasher(&self) -> &CustomerHasher {
        self.writer.hasher()
    }

    /// Records `outcomes` in one write and waits until they reached the file (see the module's
    /// durability note).
    ///
    /// # Errors
    /// The write failed or the log is closed: the outcomes are not in the log.
    pub async fn record(&self, outcomes: &[ObservedOutcome]) -> Result<(), OutcomeLogError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(outcomes.len() * 128);
        for o in outcomes {
            OutcomeRecord::of(o, self.hasher()).write_line(&mut lines);
        }
        Ok(self.writer.append(lines).await?)
    }

    /// Writes everything queued, syncs the file and stops the writer.
    ///
    /// # Errors
    /// The final sync failed.
    pub async fn close(&self) -> Result<(), OutcomeLogError> {
        Ok(self.writer.close().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: &str, churned: bool, on: &str) -> ObservedOutcome {
        ObservedOutcome::new(id.into(), Some(churned), on.into(), String::new()).unwrap()
    }

    #[tokio::test]
    async fn recorded_outcomes_carry_the_hash_never_the_id_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outcomes.jsonl");
        let key = HashKey::new("k");
        let log = OutcomeLog::open(&path, &OutcomesSettings::default(), &key).unwrap();
        log.record(&[
            outcome("C-0001", true, "2027-01-31"),
            outcome("C-0002", false, ""),
        ])
        .await
        .unwrap();
        log.close().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("C-000"), "{text}");
        let records: Vec<OutcomeRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let hasher = CustomerHasher::new(&key);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].customer, hasher.hash("C-0001"));
        assert_eq!(
            (records[0].churned, records[0].observed_on.as_deref()),
            (true, Some("2027-01-31"))
        );
        assert_eq!(
            (records[1].churned, &records[1].observed_on),
            (false, &None)
        );
        assert!(
            !text.lines().nth(1).unwrap().contains("observed_on"),
            "absent fields are left out: {text}"
        );
    }

    #[test]
    fn outcomes_without_a_hash_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = OutcomeLog::open(
            &dir.path().join("o.jsonl"),
            &OutcomesSettings::default(),
            &HashKey::default(),
        )
        .unwrap_err();
        assert!(matches!(e, OutcomeLogError::NoHashKey));
        assert!(e.to_string().contains("audit.hash_key"), "{e}");
    }
}
