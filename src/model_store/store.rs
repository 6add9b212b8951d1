//! The live registry behind an atomic pointer, and reloading it without a restart.
//!
//! A reload builds a complete new [`ModelRegistry`] (every bundle loaded and validated, golden
//! examples included) before one atomic swap. Requests hold an `Arc` to the registry they
//! started with, so in-flight calls finish on the version they began on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::fingerprint::{fingerprint, Fingerprint};
use super::registry::{LoadProblem, LoadReport, ModelRegistry, RegistryError};

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// The models directory changed.
    Watcher,
    /// The admin RPC.
    Admin,
    /// SIGHUP.
    Signal,
}

impl std::fmt::Display for ReloadTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Watcher => "watcher",
            Self::Admin => "admin",
            Self::Signal => "sighup",
        })
    }
}

/// The result of one reload.
#[derive(Debug, Clone)]
pub struct ReloadOutcome {
    /// RFC 3339 time.
    pub at: String,
    /// What started it.
    pub trigger: ReloadTrigger,
    /// The new registry was swapped in (possibly with some bundles refused).
    pub applied: bool,
    /// The champion or challenger changed.
    pub changed: bool,
    /// Problems: refused bundles, invalid declarations, or why nothing was applied.
    pub problems: Vec<LoadProblem>,
}

/// The served models of one name, hot-reloadable.
#[derive(Debug)]
pub struct ModelStore {
    root: PathBuf,
    current: ArcSwap<ModelRegistry>,
    // Serializes reloads; scoring never takes it.
    reloading: Mutex<()>,
    reloads: AtomicU64,
    rejected_bundles: AtomicU64,
    last_reload: Mutex<Option<ReloadOutcome>>,
    // The model directory as it was when the live registry started loading: the watcher's baseline.
    loaded_from: Mutex<Fingerprint>,
}

impl ModelStore {
    /// Loads `root` for the first time.
    ///
    /// # Errors
    /// See [`ModelRegistry::load_dir`].
    pub fn open(
        root: &Path,
        model: Option<&str>,
    ) -> Result<(Self, Vec<LoadProblem>), RegistryError> {
        let before = fingerprint(root);
        let LoadReport { registry, problems } = ModelRegistry::load_dir(root, model)?;
        let store = Self::with_registry(root, registry);
        *store.loaded_from.lock().unwrap_or_else(|e| e.into_inner()) = before;
        store
            .rejected_bundles
            .fetch_add(store.current().rejected().len() as u64, Ordering::Relaxed);
        Ok((store, problems))
    }

    /// A store serving `registry`, reloading from `root`.
    pub fn with_registry(root: &Path, registry: ModelRegistry) -> Self {
        Self {
            root: root.to_owned(),
            current: ArcSwap::from_pointee(registry),
            reloading: Mutex::new(()),
            reloads: AtomicU64::new(0),
            rejected_bundles: AtomicU64::new(0),
            last_reload: Mutex::new(None),
            loaded_from: Mutex::new(fingerprint(root)),
        }
    }

    /// The registry now; hold the `Arc` for the whole request.
    #[inline]
    pub fn current(&self) -> Arc<ModelRegistry> {
        self.current.load_full()
    }

    /// The models directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reloads, blocking while the bundles are read (call from a blocking context).
    pub fn reload(&self, trigger: ReloadTrigger) -> ReloadOutcome {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.current();
        let seen = fingerprint(&self.root);
        let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let (outcome, next) = match before.reload(&self.root) {
            Ok(LoadReport { registry, problems }) => {
                let changed = registry.champion().id != before.champion().id
                    || registry.challenger().map(|(c, _)| &c.id)
                        != before.challenger().map(|(c, _)| &c.id)
                    || registry.versions().len() != before.versions().len();
                self.rejected_bundles
                    .fetch_add(registry.rejected().len() as u64, Ordering::Relaxed);
                let outcome = ReloadOutcome {
                    at,
                    trigger,
                    applied: true,
                    changed,
                    problems,
                };
                (outcome, Some(registry))
            }
            Err(e) => {
                let outcome = ReloadOutcome {
                    at,
                    trigger,
                    applied: false,
                    changed: false,
                    problems: vec![LoadProblem::NotApplied(Arc::new(e))],
                };
                (outcome, None)
            }
        };
        // The reload is on record before its models answer: a caller that sees the new version
        // also sees the reload that brought it.
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome.clone());
        if let Some(registry) = next {
            self.current.store(Arc::new(registry));
        }
        // Even a refused reload moves the baseline: the watcher retries on the next change,
        // not in a loop on the same broken state.
        *self.loaded_from.lock().unwrap_or_else(|e| e.into_inner()) = seen;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let now = self.current();
        if outcome.problems.is_empty() {
            tracing::info!(%trigger, changed = outcome.changed, champion = %now.champion().id.version,
                challenger = now.challenger().map_or("", |(c, _)| c.id.version.as_str()), "models reloaded");
        } else {
            for p in &outcome.problems {
                tracing::error!(%trigger, cause = %p, champion = %now.champion().id.version, "model reload problem; the champion keeps serving");
            }
        }
        outcome
    }

    /// The models directory as it was when the live state started loading.
    pub fn loaded_from(&self) -> Fingerprint {
        self.loaded_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads done since start.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Bundles refused since start (counted at every load that refused them).
    pub fn rejected_bundles(&self) -> u64 {
        self.rejected_bundles.load(Ordering::Relaxed)
    }

    /// The last reload, if any.
    pub fn last_reload(&self) -> Option<ReloadOutcome> {
        self.last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
