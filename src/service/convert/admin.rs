//! `ModelAdminService` replies: the store's versions and their state, and a reload's summary.

use crate::model_store::{ModelStore, ReloadOutcome};
use crate::service::pb;
use crate::service::Bulk;

impl From<ReloadOutcome> for pb::ReloadSummary {
    fn from(o: ReloadOutcome) -> Self {
        Self {
            at: o.at,
            trigger: o.trigger.to_string(),
            applied: o.applied,
            changed: o.changed,
            problems: o.problems.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The store's state as the admin API reports it.
pub fn models_listing(store: &ModelStore, bulk: &Bulk) -> pb::ListModelsResponse {
    let registry = store.current();
    let challenger = registry.challenger();
    let mut versions: Vec<pb::ModelVersionStatus> = registry
        .versions()
        .iter()
        .map(|m| {
            let state = if m.id == registry.champion().id {
                pb::VersionState::Champion
            } else if challenger.is_some_and(|(c, _)| c.id == m.id) {
                pb::VersionState::Challenger
            } else {
                pb::VersionState::Available
            };
            let rejected = registry
                .rejected()
                .iter()
                .find(|r| r.version == m.id.version);
            pb::ModelVersionStatus {
                version: m.id.version.clone(),
                state: if rejected.is_some() && state == pb::VersionState::Available {
                    pb::VersionState::Rejected
                } else {
                    state
                }
                .into(),
                checksum: m.id.checksum.clone(),
                trained_at: m.metadata.trained_at.clone(),
                roc_auc: m.metadata.metrics.roc_auc,
                load_error: rejected.map(|r| r.reason.clone()).unwrap_or_default(),
                previous_kept: rejected.is_some(),
            }
        })
        .collect();
    for r in registry.rejected().iter().filter(|r| !r.previous_kept) {
        versions.push(pb::ModelVersionStatus {
            version: r.version.clone(),
            state: pb::VersionState::Rejected.into(),
            load_error: r.reason.clone(),
            ..Default::default()
        });
    }
    for v in registry.incomplete() {
        versions.push(pb::ModelVersionStatus {
            version: v.clone(),
            state: pb::VersionState::Incomplete.into(),
            ..Default::default()
        });
    }
    pb::ListModelsResponse {
        model_name: registry.name().to_owned(),
        versions,
        shadow: challenger.map(|(c, stats)| {
            let s = stats.summary();
            pb::ShadowComparison {
                challenger_version: c.id.version.clone(),
                requests: s.requests,
                mean_abs_probability_diff: s.mean_abs_probability_diff,
                max_abs_probability_diff: s.max_abs_probability_diff,
                tier_disagreements: s.tier_disagreements,
                action_disagreements: s.action_disagreements,
            }
        }),
        last_reload: store.last_reload().map(Into::into),
        reloads_total: store.reloads(),
        rejected_bundles_total: store.rejected_bundles(),
        bulk_streams_active: bulk.active_streams(),
    }
}
