//! What the models answered, per model version: the churn probability distribution, the tiers
//! and the chosen actions, and (for a challenger) how far its probabilities were from the
//! champion's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::histogram::{Histogram, DIFF_BUCKETS, PROBABILITY_BUCKETS};
use crate::domain::ValueTier;
use crate::model_store::{LoadedModel, ModelId};

use crate::domain::actions::NO_ACTION;

/// Counters of one model version.
#[derive(Debug)]
pub struct VersionCounters {
    /// The version counted.
    pub id: ModelId,
    /// Churn probabilities returned.
    pub churn: Histogram,
    /// Tiers returned, by [`ValueTier::index`].
    pub tiers: [AtomicU64; 4],
    /// Action ids of the version's catalog, then [`NO_ACTION`].
    pub actions: Vec<String>,
    /// Chosen actions, by catalog index; the last one counts [`NO_ACTION`].
    pub chosen: Box<[AtomicU64]>,
    /// |p_challenger − p_champion| while this version was the challenger.
    pub shadow_diff: Histogram,
}

impl VersionCounters {
    fn new(model: &LoadedModel) -> Self {
        let actions: Vec<String> = model
            .scoring
            .actions
            .actions
            .iter()
            .map(|a| a.id.clone())
            .chain(std::iter::once(NO_ACTION.to_owned()))
            .collect();
        Self {
            id: model.id.clone(),
            churn: Histogram::probability(PROBABILITY_BUCKETS),
            tiers: Default::default(),
            chosen: actions.iter().map(|_| AtomicU64::new(0)).collect(),
            actions,
            shadow_diff: Histogram::probability(DIFF_BUCKETS),
        }
    }

    /// Counts a tier.
    #[inline]
    pub fn tier(&self, tier: ValueTier, n: u64) {
        self.tiers[tier.index()].fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a chosen action by catalog index (`None`: no action).
    #[inline]
    pub fn action(&self, action: Option<usize>, n: u64) {
        let i = action.unwrap_or(self.chosen.len() - 1);
        if let Some(c) = self.chosen.get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Counters of every version that answered since start, found without a lock.
#[derive(Debug, Default)]
pub struct ScoreCounters {
    // Copy-on-write: a version is added once, at its first answer; readers only load.
    versions: ArcSwap<Vec<Arc<VersionCounters>>>,
}

impl ScoreCounters {
    /// Runs `f` on the counters of `model`, creating them at its first answer.
    #[inline]
    pub fn with<R>(&self, model: &LoadedModel, f: impl FnOnce(&VersionCounters) -> R) -> R {
        let versions = self.versions.load();
        if let Some(v) = versions.iter().find(|v| v.id == model.id) {
            return f(v);
        }
        drop(versions);
        let mut created = None;
        self.versions.rcu(|vs| {
            let mut vs = Vec::clone(vs);
            if !vs.iter().any(|v| v.id == model.id) {
                vs.push(
                    created
                        .get_or_insert_with(|| Arc::new(VersionCounters::new(model)))
                        .clone(),
                );
            }
            vs
        });
        let versions = self.versions.load();
        let v = versions
            .iter()
            .find(|v| v.id == model.id)
            .expect("added above");
        f(v)
    }

    /// Every version counted so far, in order of first answer.
    pub fn all(&self) -> Arc<Vec<Arc<VersionCounters>>> {
        self.versions.load_full()
    }
}
