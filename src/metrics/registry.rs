//! [`Metrics`]: every counter the server keeps, recorded on the hot path with relaxed atomics
//! (no lock per request), and read at scrape time together with the model store's state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use super::drift::{Drift, DriftTally};
use super::histogram::LocalHistogram;
use super::requests::RequestCounters;
use super::scores::ScoreCounters;
use crate::domain::{Assessment, CustomerProfile, ValueAssessment, ValueTier};
use crate::model_store::{LoadedModel, ModelStore};

/// The server's metrics: requests, answers, shadow differences and drift of the champion.
#[derive(Debug)]
pub struct Metrics {
    pub(super) store: Arc<ModelStore>,
    pub(super) requests: Arc<RequestCounters>,
    pub(super) scores: ScoreCounters,
    // Live bins of the current champion; replaced when another champion answers.
    pub(super) drift: ArcSwapOption<Drift>,
    pub(super) bulk_scored: AtomicU64,
    pub(super) bulk_rejected: AtomicU64,
}

impl Metrics {
    /// Metrics of a server answering from `store`.
    pub fn new(store: Arc<ModelStore>) -> Self {
        let drift = Drift::new(store.current().champion());
        Self {
            store,
            requests: Arc::default(),
            scores: ScoreCounters::default(),
            drift: ArcSwapOption::from_pointee(drift),
            bulk_scored: AtomicU64::new(0),
            bulk_rejected: AtomicU64::new(0),
        }
    }

    /// The per-RPC counters the tower layer records into.
    pub fn requests(&self) -> Arc<RequestCounters> {
        self.requests.clone()
    }

    /// The drift counts of the store's current champion, replacing counts kept for an earlier
    /// one (so the index restarts when the champion changes).
    pub(super) fn champion_drift(&self) -> Option<Arc<Drift>> {
        let registry = self.store.current();
        let champion = registry.champion();
        let now = self.drift.load_full();
        if now.as_ref().is_some_and(|d| *d.model() == champion.id) {
            return now;
        }
        let fresh = Some(Arc::new(Drift::new(champion)));
        let previous = self.drift.compare_and_swap(&now, fresh.clone());
        let swapped = match (&*previous, &now) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if swapped {
            fresh
        } else {
            self.drift.load_full()
        }
    }

    /// Counts `model`'s answer into the drift bins if `model` is the live champion.
    #[inline]
    fn drift(&self, model: &LoadedModel, f: impl FnOnce(&Drift)) {
        {
            let d = self.drift.load();
            if let Some(d) = d.as_ref().filter(|d| *d.model() == model.id) {
                f(d);
                return;
            }
        }
        // Rare: the champion changed (or `model` is an earlier champion finishing a request).
        if let Some(d) = self.champion_drift().filter(|d| *d.model() == model.id) {
            f(&d);
        }
    }

    fn answered(
        &self,
        model: &LoadedModel,
        champion: bool,
        profile: &CustomerProfile,
        probability: f64,
        tier: Option<ValueTier>,
        action: Option<Option<usize>>,
    ) {
        self.scores.with(model, |v| {
            v.churn.observe(probability);
            if let Some(t) = tier {
                v.tier(t, 1);
            }
            if let Some(a) = action {
                v.action(a, 1);
            }
        });
        if champion {
            self.drift(model, |d| d.observe(profile, probability));
        }
    }

    /// Records a full assessment by `model` (`champion`: the request did not pin a version).
    #[inline]
    pub fn assessed(
        &self,
        model: &LoadedModel,
        champion: bool,
        profile: &CustomerProfile,
        a: &Assessment,
    ) {
        let action = a.decision.best().map(|o| o.action);
        self.answered(
            model,
            champion,
            profile,
            a.churn.probability,
            Some(a.tier.tier),
            Some(action),
        );
    }

    /// Records a value and tier answer.
    #[inline]
    pub fn valued(
        &self,
        model: &LoadedModel,
        champion: bool,
        profile: &CustomerProfile,
        v: &ValueAssessment,
    ) {
        self.answered(
            model,
            champion,
            profile,
            v.churn_probability,
            Some(v.tier.tier),
            None,
        );
    }

    /// Records a churn probability answer.
    #[inline]
    pub fn churn_predicted(
        &self,
        model: &LoadedModel,
        champion: bool,
        profile: &CustomerProfile,
        probability: f64,
    ) {
        self.answered(model, champion, profile, probability, None, None);
    }

    /// Records a challenger's difference from the champion's probability.
    #[inline]
    pub fn shadowed(&self, challenger: &LoadedModel, probability_diff: f64) {
        self.scores.with(challenger, |v| {
            v.shadow_diff.observe(probability_diff.abs())
        });
    }

    /// Local counts for one bulk chunk scored by `model`.
    pub fn chunk(&self, model: &LoadedModel, champion: bool) -> ChunkTally {
        let drift = champion
            .then(|| self.champion_drift())
            .flatten()
            .filter(|d| *d.model() == model.id);
        ChunkTally {
            churn: LocalHistogram::default(),
            tiers: [0; 4],
            chosen: Vec::new(),
            drift: drift.map(|d| {
                let t = d.tally();
                (d, t)
            }),
        }
    }

    /// Adds a chunk's counts: its assessments and the records it refused.
    pub fn merge_chunk(&self, model: &LoadedModel, tally: ChunkTally, rejected: u64) {
        let scored: u64 = tally.tiers.iter().sum();
        self.scores.with(model, |v| {
            v.churn.merge(&tally.churn);
            for t in ValueTier::ALL {
                v.tier(t, tally.tiers[t.index()]);
            }
            for (i, &n) in tally.chosen.iter().enumerate() {
                if n > 0 {
                    v.chosen[i.min(v.chosen.len() - 1)].fetch_add(n, Ordering::Relaxed);
                }
            }
        });
        if let Some((d, t)) = &tally.drift {
            d.merge(t);
        }
        self.bulk_scored.fetch_add(scored, Ordering::Relaxed);
        self.bulk_rejected.fetch_add(rejected, Ordering::Relaxed);
    }
}

/// Counts of one bulk chunk, kept locally while it is scored and merged once at its end.
#[derive(Debug)]
pub struct ChunkTally {
    churn: LocalHistogram,
    tiers: [u64; 4],
    // By catalog index; the last slot (however long) is no action.
    chosen: Vec<u64>,
    drift: Option<(Arc<Drift>, DriftTally)>,
}

impl ChunkTally {
    /// Counts one assessment.
    #[inline]
    pub fn add(&mut self, model: &LoadedModel, profile: &CustomerProfile, a: &Assessment) {
        let p = a.churn.probability;
        self.churn.observe(p);
        self.tiers[a.tier.tier.index()] += 1;
        let slots = model.scoring.actions.actions.len() + 1;
        if self.chosen.len() != slots {
            self.chosen = vec![0; slots];
        }
        let i = a.decision.best().map_or(slots - 1, |o| o.action);
        self.chosen[i] += 1;
        if let Some((d, t)) = &mut self.drift {
            d.observe_into(t, profile, p);
        }
    }
}
