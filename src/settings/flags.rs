//! The `bankscore serve` flags as typed settings: each flag given overrides one field of
//! [`Settings`] after the file and the environment. The key an error names is the field's own
//! path, written once, so a misspelt field fails to compile instead of being ignored.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{Settings, SettingsBuilder};
use crate::telemetry::LogFormat;

/// What `bankscore serve`'s flags set; `None` (or `false`) leaves the setting as the file and the
/// environment made it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServeFlags {
    /// `--listen`: `server.listen`.
    pub listen: Option<SocketAddr>,
    /// `--models-dir`: `models.dir`.
    pub models_dir: Option<PathBuf>,
    /// `--model`: `models.name`.
    pub model: Option<String>,
    /// `--worker-threads`: `server.worker_threads`.
    pub worker_threads: Option<usize>,
    /// `--bulk-threads`: `bulk.threads`.
    pub bulk_threads: Option<usize>,
    /// `--max-bulk-streams`: `bulk.max_streams`.
    pub max_bulk_streams: Option<usize>,
    /// `--watch-poll`: `models.watch_poll`.
    pub watch_poll: Option<Duration>,
    /// `--watch-debounce`: `models.watch_debounce`.
    pub watch_debounce: Option<Duration>,
    /// `--audit-log`: `audit.path`.
    pub audit_log: Option<PathBuf>,
    /// `--audit-max-bytes`: `audit.max_file_bytes`.
    pub audit_max_bytes: Option<u64>,
    /// `--audit-fsync`: `audit.fsync = true`.
    pub audit_fsync: bool,
    /// `--outcomes-log`: `outcomes.path`.
    pub outcomes_log: Option<PathBuf>,
    /// `--metrics-listen`: `metrics.listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `--no-auth`: `auth.enabled = false`.
    pub no_auth: bool,
    /// `--log-format`: `log.format`.
    pub log_format: Option<LogFormat>,
}

/// One typed override: the setting's dotted key, the flag that set it, and the assignment.
pub(super) struct Override {
    pub key: &'static str,
    pub origin: &'static str,
    pub apply: Box<dyn FnOnce(&mut Settings) + Send>,
}

impl std::fmt::Debug for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.key, self.origin)
    }
}

/// `set!(overrides, value, "--flag", section.field)`: when `value` is `Some`, assigns it to
/// `settings.section.field`, recorded under the key `"section.field"`.
macro_rules! set {
    ($overrides:expr, $value:expr, $flag:literal, $section:ident . $field:ident) => {
        if let Some(v) = $value {
            $overrides.push(Override {
                key: concat!(stringify!($section), ".", stringify!($field)),
                origin: concat!("flag ", $flag),
                apply: Box::new(move |s: &mut Settings| s.$section.$field = v),
            });
        }
    };
}

impl SettingsBuilder {
    /// Lays the `serve` flags over the settings so far (the last layer).
    pub fn flags(mut self, f: ServeFlags) -> Self {
        let o = &mut self.overrides;
        set!(o, f.listen, "--listen", server.listen);
        set!(o, f.models_dir, "--models-dir", models.dir);
        set!(o, f.model.map(Some), "--model", models.name);
        set!(
            o,
            f.worker_threads.map(Some),
            "--worker-threads",
            server.worker_threads
        );
        set!(o, f.bulk_threads.map(Some), "--bulk-threads", bulk.threads);
        set!(
            o,
            f.max_bulk_streams,
            "--max-bulk-streams",
            bulk.max_streams
        );
        set!(o, f.watch_poll, "--watch-poll", models.watch_poll);
        set!(
            o,
            f.watch_debounce,
            "--watch-debounce",
            models.watch_debounce
        );
        set!(o, f.audit_log.map(Some), "--audit-log", audit.path);
        set!(
            o,
            f.audit_max_bytes,
            "--audit-max-bytes",
            audit.max_file_bytes
        );
        set!(
            o,
            f.audit_fsync.then_some(true),
            "--audit-fsync",
            audit.fsync
        );
        set!(o, f.outcomes_log.map(Some), "--outcomes-log", outcomes.path);
        set!(
            o,
            f.metrics_listen.map(Some),
            "--metrics-listen",
            metrics.listen
        );
        set!(o, f.no_auth.then_some(false), "--no-auth", auth.enabled);
        set!(o, f.log_format, "--log-format", log.format);
        self
    }
}
