//! Audit settings: embedded as `[audit]` in the service settings.

use std::path::PathBuf;

/// Default size at which the audit file is rotated: 256 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Where decisions are audited and how customer ids are hashed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// The JSON Lines file decisions are appended to; `None` turns auditing off.
    pub path: Option<PathBuf>,
    /// Once the file is this large, it is renamed aside and a new one started.
    pub max_file_bytes: u64,
    /// Secret key of the customer-id hash; required when `path` is set.
    pub hash_key: HashKey,
    /// `fdatasync` after every group commit: records then survive a power loss, not only a
    /// crash of the process, at the cost of a disk flush per group.
    pub fsync: bool,
    /// Also record every customer scored by `ScoreStream` (about 1.1 KB each; an audited stream
    /// runs at roughly a third of its speed). Off: bulk streams are not audited, unary calls are.
    pub streams: bool,
}

impl Default for AuditSettings {
    /// Off; 256 MiB files; no key; no fsync; streams audited too when on.
    fn default() -> Self {
        Self {
            path: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            hash_key: HashKey::default(),
            fsync: false,
            streams: true,
        }
    }
}

/// The secret key of the customer-id hash. `Debug` never shows it; serde reads and writes the
/// plain secret (a settings file holds it), so never log serialized settings.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct HashKey(String);

impl HashKey {
    /// A key from its secret text.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The key's bytes, for the HMAC.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// No key was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("HashKey(<empty>)")
        } else {
            f.write_str("HashKey(<redacted>)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_hash_key() {
        let s = AuditSettings {
            hash_key: HashKey::new("s3cret-key"),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn settings_deserialize_with_defaults_for_missing_fields() {
        let s: AuditSettings =
            serde_json::from_str(r#"{"path": "audit.jsonl", "hash_key": "k"}"#).unwrap();
        assert_eq!(s.path, Some(PathBuf::from("audit.jsonl")));
        assert_eq!(s.max_file_bytes, DEFAULT_MAX_FILE_BYTES);
        assert_eq!(s.hash_key, HashKey::new("k"));
        assert!(!s.fsync);
        assert_eq!(
            serde_json::from_str::<AuditSettings>("{}").unwrap(),
            AuditSettings::default()
        );
    }
}
