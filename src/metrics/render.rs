//! The scrape: every metric family in the text exposition format.

use std::sync::atomic::Ordering;

use super::exposition::{Exposition, Kind};
use super::registry::Metrics;
use super::requests::CODE_NAMES;
use crate::domain::ValueTier;

fn tier_label(t: ValueTier) -> &'static str {
    match t {
        ValueTier::A => "A",
        ValueTier::B => "B",
        ValueTier::C => "C",
        ValueTier::Sleeping => "sleeping",
    }
}

impl Metrics {
    /// The text exposition of every metric now.
    pub fn render(&self) -> String {
        let mut e = Exposition::default();
        self.render_requests(&mut e);
        self.render_answers(&mut e);
        self.render_models(&mut e);
        self.render_shadow(&mut e);
        self.render_psi(&mut e);
        e.finish()
    }

    fn render_requests(&self, e: &mut Exposition) {
        const REQUESTS: &str = "bankscore_grpc_requests_total";
        e.family(
            REQUESTS,
            Kind::Counter,
            "Finished gRPC calls by RPC and status code.",
        );
        for (rpc, c) in self.requests.each() {
            for (code, n) in CODE_NAMES.iter().zip(&c.codes) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    e.sample(REQUESTS, &[("rpc", rpc), ("code", code)], n as f64);
                }
            }
        }
        const IN_FLIGHT: &str = "bankscore_grpc_requests_in_flight";
        e.family(
            IN_FLIGHT,
            Kind::Gauge,
            "gRPC calls started and not finished, by RPC (streams count while open).",
        );
        for (rpc, c) in self.requests.each() {
            let n = c.in_flight.load(Ordering::Relaxed);
            let called = c.codes.iter().any(|n| n.load(Ordering::Relaxed) > 0);
            if n != 0 || called {
                e.sample(IN_FLIGHT, &[("rpc", rpc)], n as f64);
            }
        }
        const LATENCY: &str = "bankscore_grpc_request_duration_seconds";
        e.family(
            LATENCY,
            Kind::Histogram,
            "Time from a call's arrival to the end of its response, by RPC.",
        );
        for (rpc, c) in self.requests.each() {
            if c.latency.count() > 0 {
                c.latency.write(e, LATENCY, &[("rpc", rpc)]);
            }
        }
        const BULK: &str = "bankscore_bulk_records_total";
        e.family(
            BULK,
            Kind::Counter,
            "ScoreStream records, scored or refused with a record error.",
        );
        let scored = self.bulk_scored.load(Ordering::Relaxed);
        let rejected = self.bulk_rejected.load(Ordering::Relaxed);
        e.sample(BULK, &[("outcome", "scored")], scored as f64);
        e.sample(BULK, &[("outcome", "rejected")], rejected as f64);
    }

    fn render_answers(&self, e: &mut Exposition) {
        let versions = self.scores.all();
        const CHURN: &str = "bankscore_churn_probability";
        e.family(
            CHURN,
            Kind::Histogram,
            "Churn probabilities returned, by model version.",
        );
        for v in versions.iter().filter(|v| v.churn.count() > 0) {
            v.churn.write(e, CHURN, &[("model_version", &v.id.version)]);
        }
        const TIERS: &str = "bankscore_tiers_total";
        e.family(
            TIERS,
            Kind::Counter,
            "Value tiers returned, by model version and tier.",
        );
        for v in versions.iter() {
            for t in ValueTier::ALL {
                let n = v.tiers[t.index()].load(Ordering::Relaxed);
                if n > 0 {
                    let labels = [
                        ("model_version", v.id.version.as_str()),
                        ("tier", tier_label(t)),
                    ];
                    e.sample(TIERS, &labels, n as f64);
                }
            }
        }
        const ACTIONS: &str = "bankscore_actions_total";
        e.family(
            ACTIONS,
            Kind::Counter,
            "Next best actions chosen (no_action when none pays), by model version and action.",
        );
        for v in versions.iter() {
            for (action, n) in v.actions.iter().zip(v.chosen.iter()) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let labels = [("model_version", v.id.version.as_str()), ("action", action)];
                    e.sample(ACTIONS, &labels, n as f64);
                }
            }
        }
    }

    fn render_models(&self, e: &mut Exposition) {
        let registry = self.store.current();
        const INFO: &str = "bankscore_model_info";
        e.family(
            INFO,
            Kind::Gauge,
            "1 for every loaded model version, with its checksum and role (champion, challenger, available).",
        );
        let challenger = registry.challenger().map(|(c, _)| &c.id);
        for m in registry.versions() {
            let role = if m.id == registry.champion().id {
                "champion"
            } else if challenger == Some(&m.id) {
                "challenger"
            } else {
                "available"
            };
            let labels = [
                ("model", m.id.name.as_str()),
                ("version", m.id.version.as_str()),
                ("checksum", m.id.checksum.as_str()),
                ("role", role),
            ];
            e.sample(INFO, &labels, 1.0);
        }
        const RELOADS: &str = "bankscore_model_reloads_total";
        e.family(
            RELOADS,
            Kind::Counter,
            "Reloads of the models directory since start.",
        );
        e.sample(RELOADS, &[], self.store.reloads() as f64);
        const FAILURES: &str = "bankscore_model_load_failures_total";
        e.family(
            FAILURES,
            Kind::Counter,
            "Model bundles refused (checksum, format or golden-example failure), counted at every load that refused them.",
        );
        e.sample(FAILURES, &[], self.store.rejected_bundles() as f64);
    }

    fn render_shadow(&self, e: &mut Exposition) {
        const DIFF: &str = "bankscore_shadow_probability_diff";
        e.family(
            DIFF,
            Kind::Histogram,
            "|challenger − champion| churn probability on the same requests, by challenger version.",
        );
        for v in self
            .scores
            .all()
            .iter()
            .filter(|v| v.shadow_diff.count() > 0)
        {
            v.shadow_diff
                .write(e, DIFF, &[("challenger_version", &v.id.version)]);
        }
        let registry = self.store.current();
        let shadow = registry
            .challenger()
            .map(|(c, s)| (c.id.version.clone(), s.summary()));
        let families = [
            (
                "bankscore_shadow_comparisons_total",
                "Requests scored by both champion and challenger.",
            ),
            (
                "bankscore_shadow_tier_disagreements_total",
                "Shadow comparisons where the tiers differ.",
            ),
            (
                "bankscore_shadow_action_disagreements_total",
                "Shadow comparisons where the chosen actions differ.",
            ),
        ];
        for (i, (name, help)) in families.into_iter().enumerate() {
            e.family(name, Kind::Counter, help);
            if let Some((version, s)) = &shadow {
                let n = [s.requests, s.tier_disagreements, s.action_disagreements][i];
                e.sample(name, &[("challenger_version", version)], n as f64);
            }
        }
    }

    fn render_psi(&self, e: &mut Exposition) {
        let Some(drift) = self.champion_drift() else {
            return;
        };
        let version = drift.model().version.as_str();
        let all = drift.psi();
        const SAMPLES: &str = "bankscore_psi_samples";
        e.family(
            SAMPLES,
            Kind::Gauge,
            "Live observations behind the champion's PSI since it became champion (or since start).",
        );
        for v in &all {
            e.sample(
                SAMPLES,
                &[("model_version", version), ("variable", &v.variable)],
                v.samples as f64,
            );
        }
        const PSI: &str = "bankscore_psi";
        e.family(
            PSI,
            Kind::Gauge,
            "Population stability index of live champion scores and features against the training deciles (< 0.10 stable, 0.10-0.25 watch, > 0.25 shifted).",
        );
        for v in &all {
            if let Some(psi) = v.psi {
                e.sample(
                    PSI,
                    &[("model_version", version), ("variable", &v.variable)],
                    psi,
                );
            }
        }
        const BAND: &str = "bankscore_psi_band";
        e.family(
            BAND,
            Kind::Gauge,
            "Band of bankscore_psi: 0 stable, 1 watch, 2 shifted.",
        );
        for v in &all {
            if let Some(band) = v.band() {
                let labels = [
                    ("model_version", version),
                    ("variable", v.variable.as_str()),
                ];
                e.sample(BAND, &labels, f64::from(band.level()));
            }
        }
    }
}
