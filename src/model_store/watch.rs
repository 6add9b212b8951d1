//! Watching the models directory: a debounced poll of every file's size and modification time.
//!
//! Polling works the same on every filesystem (including network and container mounts, where
//! change notifications are unreliable). A reload starts only when the directory has changed and
//! then stayed unchanged for the debounce period, so a bundle being copied is not read halfway.

use std::sync::Arc;
use std::time::Duration;

use super::fingerprint::{fingerprint, Fingerprint};
use super::store::{ModelStore, ReloadTrigger};

/// Polls the models directory every `poll` and reloads once a change (against the state the
/// live models were loaded from) has been stable for `debounce`. Runs until the task is dropped.
pub async fn watch(store: Arc<ModelStore>, poll: Duration, debounce: Duration) {
    let dir = store.root().to_owned();
    let mut pending: Option<(Fingerprint, tokio::time::Instant)> = None;
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let dir2 = dir.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&dir2)).await else {
            continue;
        };
        if now == store.loaded_from() {
            pending = None;
            continue;
        }
        match &pending {
            Some((seen, since)) if *seen == now => {
                if since.elapsed() >= debounce {
                    let s = store.clone();
                    let _ =
                        tokio::task::spawn_blocking(move || s.reload(ReloadTrigger::Watcher)).await;
                    pending = None;
                }
            }
            _ => pending = Some((now, tokio::time::Instant::now())),
        }
    }
}
