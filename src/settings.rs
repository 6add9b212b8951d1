//! The service's settings: one typed structure built from defaults, then a TOML file
//! (`--config`), then `BANKSCORE_<SECTION>_<KEY>` environment variables, then command-line flags
//! — each layer overriding the one before. A bad or unknown setting stops start-up with its
//! name and where it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::{AuditSettings, OutcomesSettings};
use crate::metrics::MetricsSettings;
use crate::service::auth::AuthSettings;
use crate::service::TlsSettings;

/// Everything `bankscore serve` can be told.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The gRPC listener and its limits.
    pub server: ServerSettings,
    /// Where the models are and how changes are noticed.
    pub models: ModelsSettings,
    /// Bulk scoring and planning.
    pub bulk: BulkSettings,
    /// Bearer tokens and roles.
    pub auth: AuthSettings,
    /// TLS and mutual TLS; plaintext when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// Decision audit log.
    pub audit: AuditSettings,
    /// Observed outcomes reported by `ReportOutcomes`.
    pub outcomes: OutcomesSettings,
    /// Log output.
    pub log: LogSettings,
    /// OpenTelemetry traces.
    pub tracing: crate::telemetry::TracingSettings,
}

/// A setting that cannot be used, named with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("setting `{key}` (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// The sections environment variables can address, as `BANKSCORE_<SECTION>_<KEY>`.
const SECTIONS: [&str; 10] = [
    "server", "models", "bulk", "auth", "tls", "metrics", "audit", "outcomes", "log", "tracing",
];

/// Builds settings layer by layer; see the module documentation.
#[derive(Debug)]
pub struct SettingsBuilder {
    value: toml::Table,
    origins: BTreeMap<String, String>,
    // Typed flags, applied after the file and the environment.
    overrides: Vec<flags::Override>,
}

impl Default for SettingsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SettingsBuilder {
    /// Starts from the defaults.
    pub fn new() -> Self {
        let value = toml::Table::try_from(Settings::default()).expect("defaults serialize");
        Self {
            value,
            origins: BTreeMap::new(),
            overrides: Vec::new(),
        }
    }

    /// Lays a TOML config file over the settings so far.
    ///
    /// # Errors
    /// The file cannot be read or is not TOML.
    pub fn file(mut self, path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| SettingsError::Syntax {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?;
        let origin = path.display().to_string();
        for (key, value) in flatten(&table) {
            self.set_value(&key, value, origin.clone());
        }
        Ok(self)
    }

    /// Lays `BANKSCORE_<SECTION>_<KEY>` variables over the settings so far (other `BANKSCORE_`
    /// variables, such as a client's `BANKSCORE_TOKEN`, are not settings and are left alone).
    pub fn env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (name, raw) in vars {
            let Some(rest) = name.strip_prefix("BANKSCORE_") else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let Some((section, key)) = SECTIONS.iter().find_map(|s| {
                rest.strip_prefix(s)
                    .and_then(|k| k.strip_prefix('_'))
                    .filter(|k| !k.is_empty())
                    .map(|k| (*s, k))
            }) else {
                continue;
            };
            self.set_value(&format!("{section}.{key}"), env_value(&raw), name.clone());
        }
        self
    }

    /// Sets one setting from a command-line flag (`key` as in the file: `server.listen`).
    pub fn flag(mut self, key: &str, value: impl Into<toml::Value>, flag: &str) -> Self {
        self.set_value(key, value.into(), format!("flag {flag}"));
        self
    }

    fn set_value(&mut self, key: &str, value: toml::Value, origin: String) {
        let mut table = &mut self.value;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                table.insert(part.to_owned(), value);
                break;
            }
            let entry = table
                .entry(part.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            table = entry.as_table_mut().expect("just made a table");
        }
        self.origins.insert(key.to_owned(), origin);
    }

    /// The settings, type-checked and then checked for consistency.
    ///
    /// # Errors
    /// The first setting that is unknown, of the wrong type, or out of range.
    pub fn build(mut self) -> Result<Settings, SettingsError> {
        // A typed flag replaces what the file or environment said, bad or not.
        for o in &self.overrides {
            remove_key(&mut self.value, o.key);
            self.origins.insert(o.key.to_owned(), o.origin.to_owned());
        }
        let overrides = std::mem::take(&mut self.overrides);
        let origin_of = |key: &str| -> String {
            // The most specific layer that set this key or one of its parents.
            let mut k = key.to_owned();
            loop {
                if let Some(o) = self.origins.get(&k) {
                    return o.clone();
                }
                match k.rfind('.') {
                    Some(i) => k.truncate(i),
                    None => return "the defaults".into(),
                }
            }
        };
        let value = toml::Value::Table(self.value.clone());
        let mut settings: Settings = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            SettingsError::Invalid {
                origin: origin_of(&key),
                message: e.inner().message().to_owned(),
                key,
            }
        })?;
        for o in overrides {
            (o.apply)(&mut settings);
        }
        settings
            .check()
            .map_err(|(key, message)| SettingsError::Invalid {
                origin: origin_of(key),
                key: key.to_owned(),
                message,
            })?;
        Ok(settings)
    }
}

/// Removes the dotted `key` from `table`, if present.
fn remove_key(table: &mut toml::Table, key: &str) {
    match key.split_once('.') {
        Some((head, rest)) => {
            if let Some(toml::Value::Table(t)) = table.get_mut(head) {
                remove_key(t, rest);
            }
        }
        None => {
            table.remove(key);
        }
    }
}

/// Every leaf of `table` with its dotted key (arrays, such as the token list, are leaves).
fn flatten(table: &toml::Table) -> Vec<(String, toml::Value)> {
    let mut out = Vec::new();
    for (k, v) in table {
        match v {
            toml::Value::Table(t) => {
                for (sub, leaf) in flatten(t) {
                    out.push((format!("{k}.{sub}"), leaf));
                }
            }
            leaf => out.push((k.clone(), leaf.clone())),
        }
    }
    out
}

/// An environment value as TOML: booleans, numbers and arrays are read as such, anything else
/// is text (so `127.0.0.1:50051` or `10s` need no quotes).
fn env_value(raw: &str) -> toml::Value {
    let looks_typed = matches!(raw, "true" | "false")
        || raw.starts_with('[')
        || raw.parse::<i64>().is_ok()
        || raw.parse::<f64>().is_ok_and(f64::is_finite);
    if looks_typed {
        if let Ok(t) = format!("v = {raw}").parse::<toml::Table>() {
            if let Some(v) = t.get("v") {
                return v.clone();
            }
        }
    }
    toml::Value::String(raw.to_owned())
}

impl Settings {
    /// Checks what types cannot: ranges and settings that need each other.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let s = &self.server;
        let positive = |key: &'static str, d: Duration| {
            if d.is_zero() {
                Err((key, "must be longer than 0".to_owned()))
            } else {
                Ok(())
            }
        };
        positive("server.request_timeout", s.request_timeout)?;
        positive("server.keepalive_interval", s.keepalive_interval)?;
        positive("server.keepalive_timeout", s.keepalive_timeout)?;
        positive("server.max_connection_age", s.max_connection_age)?;
        positive("server.preface_timeout", s.preface_timeout)?;
        if s.max_connections == 0 {
            return Err(("server.max_connections", "must be at least 1".into()));
        }
        if s.max_message_bytes < 1024 {
            return Err(("server.max_message_bytes", "must be at least 1024".into()));
        }
        if s.max_concurrent_streams == 0 {
            return Err(("server.max_concurrent_streams", "must be at least 1".into()));
        }
        if s.max_concurrent_requests == 0 {
            return Err((
                "server.max_concurrent_requests",
                "must be at least 1".into(),
            ));
        }
        if s.worker_threads == Some(0) {
            return Err(("server.worker_threads", "must be at least 1".into()));
        }
        if self.bulk.threads == Some(0) {
            return Err(("bulk.threads", "must be at least 1".into()));
        }
        if self.bulk.max_streams == 0 {
            return Err(("bulk.max_streams", "must be at least 1".into()));
        }
        self.auth.check()?;
        self.tracing.check()?;
        if self.audit.path.is_some() && self.audit.hash_key.is_empty() {
            return Err((
                "audit.hash_key",
                "is required when audit.path is set (use BANKSCORE_AUDIT_HASH_KEY)".into(),
            ));
        }
        if self.outcomes.path.is_some() && self.audit.hash_key.is_empty() {
            return Err((
                "outcomes.path",
                "needs audit.hash_key: outcomes are stored under the audit log's keyed hash of \
                 the customer id (use BANKSCORE_AUDIT_HASH_KEY)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The settings as TOML, secrets masked: what `bankscore serve --print-config` shows.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        if !shown.audit.hash_key.is_empty() {
            shown.audit.hash_key = crate::audit::HashKey::new("********");
        }
        for t in &mut shown.auth.tokens {
            t.mask();
        }
        toml::to_string_pretty(&shown).expect("settings serialize")
    }
}

mod flags;
mod sections;
pub use crate::telemetry::TracingSettings;
pub use flags::ServeFlags;
pub use sections::{BulkSettings, LogSettings, ModelsSettings, ServerSettings};

#[cfg(test)]
mod tests;
