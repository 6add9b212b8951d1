//! Live distributions of the champion's scores and key features over the training deciles
//! stored in its bundle, for the population stability index.
//!
//! The variables are the churn probability and every model feature whose training decile edges
//! are strictly increasing: for those the ten bins each held 10% of the training rows. A feature
//! with tied edges (a flag, or a count that is mostly zero) has bins of unknown training share,
//! so it is left out rather than given a misleading index.

use std::sync::atomic::{AtomicU64, Ordering};

use super::psi::{self, Band};
use crate::domain::profile::FeatureSource;
use crate::domain::CustomerProfile;
use crate::model_store::{LoadedModel, ModelId};

/// Name of the score variable.
pub const SCORE_VARIABLE: &str = "churn_probability";

/// Where a monitored variable's live value comes from.
#[derive(Debug, Clone)]
enum Source {
    Score,
    Feature(FeatureSource),
}

/// One monitored variable and its training bins.
#[derive(Debug, Clone)]
struct Variable {
    name: String,
    source: Source,
    edges: Vec<f64>,
    /// Index of its first bin in the flat count table.
    offset: usize,
}

/// Live bin counts of one champion; replaced (so reset) when the champion changes.
#[derive(Debug)]
pub struct Drift {
    model: ModelId,
    variables: Vec<Variable>,
    counts: Box<[AtomicU64]>,
}

/// The PSI of one variable now.
#[derive(Debug, Clone, PartialEq)]
pub struct VariablePsi {
    /// Variable name: [`SCORE_VARIABLE`] or a model feature.
    pub variable: String,
    /// Live observations.
    pub samples: u64,
    /// The index; `None` before the first observation.
    pub psi: Option<f64>,
}

/// Bin counts of one bulk chunk, added to the shared counts once per chunk.
#[derive(Debug)]
pub struct DriftTally {
    counts: Vec<u64>,
}

fn strictly_increasing(edges: &[f64]) -> bool {
    !edges.is_empty() && edges.windows(2).all(|w| w[0] < w[1])
}

impl Drift {
    /// Empty counts over the bins of `model`'s evaluation: the score first, then features in
    /// order of |standardized coefficient| (the evaluation's order).
    pub fn new(model: &LoadedModel) -> Self {
        let eval = &model.evaluation;
        let mut candidates = vec![(
            SCORE_VARIABLE.to_owned(),
            Source::Score,
            &eval.score_deciles,
        )];
        for row in &eval.coefficients {
            let (Some(edges), Some(source)) = (
                eval.feature_deciles.get(&row.feature),
                FeatureSource::parse(&row.feature),
            ) else {
                continue;
            };
            candidates.push((row.feature.clone(), Source::Feature(source), edges));
        }
        let mut variables = Vec::new();
        let mut offset = 0;
        for (name, source, edges) in candidates {
            if strictly_increasing(edges) {
                variables.push(Variable {
                    name,
                    source,
                    edges: edges.clone(),
                    offset,
                });
                offset += edges.len() + 1;
            }
        }
        Self {
            model: model.id.clone(),
            variables,
            counts: (0..offset).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The champion these counts belong to.
    pub fn model(&self) -> &ModelId {
        &self.model
    }

    /// The monitored variables, in exposition order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.name.as_str())
    }

    /// The flat bin index of every variable's live value (a missing extra feature is skipped).
    #[inline]
    fn bins<'a>(
        &'a self,
        profile: &'a CustomerProfile,
        probability: f64,
    ) -> impl Iterator<Item = usize> + 'a {
        self.variables.iter().filter_map(move |v| {
            let value = match &v.source {
                Source::Score => probability,
                Source::Feature(FeatureSource::Builtin(b)) => b.value(profile),
                Source::Feature(FeatureSource::Extra(k)) => *profile.extra_features.get(k)?,
            };
            Some(v.offset + psi::bin(&v.edges, value))
        })
    }

    /// Counts one live customer and its churn probability.
    #[inline]
    pub fn observe(&self, profile: &CustomerProfile, probability: f64) {
        for i in self.bins(profile, probability) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Empty local counts for one chunk.
    pub fn tally(&self) -> DriftTally {
        DriftTally {
            counts: vec![0; self.counts.len()],
        }
    }

    /// Counts one customer into a chunk's local counts.
    #[inline]
    pub fn observe_into(
        &self,
        tally: &mut DriftTally,
        profile: &CustomerProfile,
        probability: f64,
    ) {
        for i in self.bins(profile, probability) {
            tally.counts[i] += 1;
        }
    }

    /// Adds a chunk's counts to the shared ones.
    pub fn merge(&self, tally: &DriftTally) {
        for (shared, &c) in self.counts.iter().zip(&tally.counts) {
            if c > 0 {
                shared.fetch_add(c, Ordering::Relaxed);
            }
        }
    }

    /// The PSI of every variable against equal training shares per bin.
    pub fn psi(&self) -> Vec<VariablePsi> {
        self.variables
            .iter()
            .map(|v| {
                let bins = v.edges.len() + 1;
                let counts: Vec<u64> = self.counts[v.offset..v.offset + bins]
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .collect();
                let expected = vec![1.0 / bins as f64; bins];
                VariablePsi {
                    variable: v.name.clone(),
                    samples: counts.iter().sum(),
                    psi: psi::psi(&counts, &expected),
                }
            })
            .collect()
    }
}

impl VariablePsi {
    /// The band of the index, once there is one.
    pub fn band(&self) -> Option<Band> {
        self.psi.map(Band::of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AssessOptions;
    use crate::training::synthetic::Generator;

    fn shipped() -> LoadedModel {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1");
        crate::model_store::load_bundle(&dir).expect("the shipped bundle loads")
    }

    fn observe_customers(d: &Drift, model: &LoadedModel, seed: u64, n: usize, balance_factor: f64) {
        let mut g = Generator::new(seed);
        let mut tally = d.tally();
        for _ in 0..n {
            let mut p = g.next_customer().profile;
            p.total_balance *= balance_factor;
            let a = model.scoring.assess(&p, AssessOptions::default()).unwrap();
            d.observe_into(&mut tally, &p, a.churn.probability);
        }
        d.merge(&tally);
    }

    fn psi_of<'a>(all: &'a [VariablePsi], name: &str) -> &'a VariablePsi {
        all.iter().find(|v| v.variable == name).unwrap()
    }

    #[test]
    fn the_score_and_features_with_distinct_deciles_are_monitored_and_tied_ones_are_not() {
        let d = Drift::new(&shipped());
        let names: Vec<&str> = d.variables().collect();
        assert_eq!(names[0], SCORE_VARIABLE);
        for monitored in ["tenure_months", "total_balance", "balance_trend_3m"] {
            assert!(names.contains(&monitored), "{monitored} in {names:?}");
        }
        // Flags and mostly-zero counts have tied decile edges: their bins are not deciles.
        for left_out in ["salary_credited", "complaints_12m", "products_held"] {
            assert!(!names.contains(&left_out), "{left_out} in {names:?}");
        }
    }

    #[test]
    fn customers_drawn_like_the_training_data_are_stable_and_richer_ones_have_shifted() {
        let model = shipped();
        let like_training = Drift::new(&model);
        observe_customers(&like_training, &model, 4_242, 20_000, 1.0);
        let all = like_training.psi();
        for v in &all {
            assert_eq!(v.samples, 20_000);
            assert_eq!(v.band(), Some(Band::Stable), "{v:?}");
        }
        let richer = Drift::new(&model);
        observe_customers(&richer, &model, 4_242, 20_000, 10.0);
        let all = richer.psi();
        let balance = psi_of(&all, "total_balance");
        assert_eq!(balance.band(), Some(Band::Shifted), "{balance:?}");
        assert!(balance.psi.unwrap() > 1.0, "{balance:?}");
        // The churn model barely weighs the balance: its scores stay put.
        let tenure = psi_of(&all, "tenure_months");
        assert_eq!(tenure.band(), Some(Band::Stable), "{tenure:?}");
    }

    #[test]
    fn a_drift_without_observations_has_no_index() {
        let d = Drift::new(&shipped());
        assert!(d.psi().iter().all(|v| v.psi.is_none() && v.samples == 0));
    }
}
