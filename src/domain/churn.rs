//! The churn model: standardize → linear → logistic, with per-feature contributions as reasons.
//!
//! Why one file of this length: the one-customer path and the block path (offline files,
//! ScoreStream) must stay bit-identical, so they live side by side with the test that checks it.

use super::profile::{with_getter, CustomerProfile, FeatureSource, Transform};

/// Largest number of reasons a caller may ask for.
pub const MAX_REASONS: usize = 32;

/// Why a churn model could not be built from its parameters.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ChurnModelError {
    #[error("the model has no features")]
    NoFeatures,
    #[error("feature `{name}` is neither a CustomerProfile field nor `extra.<key>`")]
    UnknownFeature { name: String },
    #[error("feature `{name}` appears more than once")]
    DuplicateFeature { name: String },
    #[error("feature `{name}`: {field} is {value}, expected a finite number")]
    NotFinite {
        name: String,
        field: &'static str,
        value: f64,
    },
    #[error("feature `{name}`: scale is {value}, expected > 0")]
    NonPositiveScale { name: String, value: f64 },
    #[error("intercept is {0}, expected a finite number")]
    InterceptNotFinite(f64),
    #[error("horizon_months is {0}, expected 1..=120")]
    HorizonOutOfRange(u32),
}

/// One feature of a fitted model: where its value comes from and how it is scaled and weighted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureWeight {
    /// Feature name: a `CustomerProfile` field or `extra.<key>`.
    pub name: String,
    /// Human-readable label; defaults to the typed field's label or the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Transform applied to the raw value before standardization.
    pub transform: Transform,
    /// Mean of the transformed value on the training data.
    pub mean: f64,
    /// Standard deviation of the transformed value on the training data.
    pub scale: f64,
    /// Coefficient on the standardized value (log-odds of churn per standard deviation).
    pub coefficient: f64,
}

#[derive(Debug, Clone)]
struct CompiledFeature {
    source: FeatureSource,
    label: String,
    transform: Transform,
    mean: f64,
    // Precomputed coefficient / scale, so scoring is one multiply-add per feature.
    weight_per_unit: f64,
}

/// A fitted logistic churn model, validated.
#[derive(Debug, Clone)]
pub struct ChurnModel {
    weights: Vec<FeatureWeight>,
    compiled: Vec<CompiledFeature>,
    intercept: f64,
    horizon_months: u32,
}

/// One feature's share of a customer's churn log-odds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnReason {
    /// Index into [`ChurnModel::features`].
    pub feature: usize,
    /// The customer's raw value.
    pub value: f64,
    /// `coefficient * standardized value`, in log-odds.
    pub contribution: f64,
}

/// A churn probability with the reasons behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnPrediction {
    /// Probability of churn within the model's horizon.
    pub probability: f64,
    /// Log-odds of churn.
    pub log_odds: f64,
    /// Largest absolute contributions first.
    pub reasons: Vec<ChurnReason>,
}

/// A feature the model needs is missing from the profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("extra_features[\"{key}\"] is required by the model")]
pub struct MissingExtraFeature {
    /// The missing key of `extra_features`.
    pub key: String,
}

impl ChurnModel {
    /// Builds a model from fitted parameters.
    ///
    /// # Errors
    /// Any non-finite number, non-positive scale, unknown or duplicate feature, or a horizon
    /// outside 1..=120 months.
    pub fn new(
        intercept: f64,
        weights: Vec<FeatureWeight>,
        horizon_months: u32,
    ) -> Result<Self, ChurnModelError> {
        if weights.is_empty() {
            return Err(ChurnModelError::NoFeatures);
        }
        if !intercept.is_finite() {
            return Err(ChurnModelError::InterceptNotFinite(intercept));
        }
        if !(1..=120).contains(&horizon_months) {
            return Err(ChurnModelError::HorizonOutOfRange(horizon_months));
        }
        let mut compiled = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            if weights[..i].iter().any(|o| o.name == w.name) {
                return Err(ChurnModelError::DuplicateFeature {
                    name: w.name.clone(),
                });
            }
            let source =
                FeatureSource::parse(&w.name).ok_or_else(|| ChurnModelError::UnknownFeature {
                    name: w.name.clone(),
                })?;
            for (field, value) in [
                ("mean", w.mean),
                ("scale", w.scale),
                ("coefficient", w.coefficient),
            ] {
                if !value.is_finite() {
                    return Err(ChurnModelError::NotFinite {
                        name: w.name.clone(),
                        field,
                        value,
                    });
                }
            }
            if w.scale <= 0.0 {
                return Err(ChurnModelError::NonPositiveScale {
                    name: w.name.clone(),
                    value: w.scale,
                });
            }
            let label = match (&w.label, &source) {
                (Some(l), _) => l.clone(),
                (None, FeatureSource::Builtin(b)) => b.label().to_owned(),
                (None, FeatureSource::Extra(_)) => w.name.clone(),
            };
            compiled.push(CompiledFeature {
                source,
                label,
                transform: w.transform,
                mean: w.mean,
                weight_per_unit: w.coefficient / w.scale,
            });
        }
        Ok(Self {
            weights,
            compiled,
            intercept,
            horizon_months,
        })
    }

    /// The fitted features, in model order.
    pub fn features(&self) -> &[FeatureWeight] {
        &self.weights
    }

    /// The human-readable label of feature `index`.
    pub fn label(&self, index: usize) -> &str {
        &self.compiled[index].label
    }

    /// The intercept (log-odds of an average customer).
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Horizon of the churn label, in months.
    pub fn horizon_months(&self) -> u32 {
        self.horizon_months
    }

    /// Raw value of feature `i` for `p`.
    #[inline(always)]
    fn raw_value(&self, i: usize, p: &CustomerProfile) -> Result<f64, MissingExtraFeature> {
        match &self.compiled[i].source {
            FeatureSource::Builtin(b) => Ok(b.value(p)),
            FeatureSource::Extra(key) => p
                .extra_features
                .get(key)
                .copied()
                .ok_or_else(|| MissingExtraFeature { key: key.clone() }),
        }
    }

    #[inline]
    fn contribution(&self, i: usize, raw: f64) -> f64 {
        let f = &self.compiled[i];
        (f.transform.apply(raw) - f.mean) * f.weight_per_unit
    }

    /// Probability of churn from raw feature values in model order (golden examples, training).
    /// The same arithmetic, in the same order, as [`ChurnModel::probability`], so both give
    /// bit-identical results for the same values.
    ///
    /// # Panics
    /// `raw` does not have one value per feature.
    pub fn probability_from_raw(&self, raw: &[f64]) -> f64 {
        assert_eq!(raw.len(), self.compiled.len(), "one raw value per feature");
        let mut z = self.intercept;
        for (i, &v) in raw.iter().enumerate() {
            z += self.contribution(i, v);
        }
        sigmoid(z)
    }

    /// Each feature's transformed value for `p`, in model order, into `out` (one slot per
    /// feature). Learned uplift models share a bundle's features and transforms, so they are
    /// computed once per customer and shared.
    ///
    /// # Errors
    /// A feature read from `extra_features` is missing.
    ///
    /// # Panics
    /// `out` does not have one slot per feature.
    pub fn transformed_values(
        &self,
        p: &CustomerProfile,
        out: &mut [f64],
    ) -> Result<(), MissingExtraFeature> {
        assert_eq!(out.len(), self.compiled.len(), "one slot per feature");
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = self.compiled[i].transform.apply(self.raw_value(i, p)?);
        }
        Ok(())
    }

    /// Probability of churn from values [`ChurnModel::transformed_values`] computed with a model
    /// of the same features: the same arithmetic, in the same order, as
    /// [`ChurnModel::probability_from_raw`], so the result is bit-identical.
    ///
    /// # Panics
    /// `transformed` does not have one value per feature.
    #[inline]
    pub fn probability_from_transformed(&self, transformed: &[f64]) -> f64 {
        assert_eq!(
            transformed.len(),
            self.compiled.len(),
            "one value per feature"
        );
        let mut z = self.intercept;
        for (f, &t) in self.compiled.iter().zip(transformed) {
            z += (t - f.mean) * f.weight_per_unit;
        }
        sigmoid(z)
    }

    /// Adds feature `feature`'s terms over a block to `log_odds` (which starts at
    /// [`ChurnModel::intercept`]), from the feature's `transformed` values: added feature after
    /// feature, the same arithmetic in the same order as
    /// [`ChurnModel::probability_from_transformed`], so the results are bit-identical.
    #[inline]
    pub fn add_block_terms(&self, feature: usize, transformed: &[f64], log_odds: &mut [f64]) {
        let f = &self.compiled[feature];
        for (z, &t) in log_odds.iter_mut().zip(transformed) {
            *z += (t - f.mean) * f.weight_per_unit;
        }
    }

    /// Feature `feature`'s mean and coefficient per unit of the transformed value
    /// (`coefficient / scale`): its term of the log-odds is `(t − mean) × per_unit`.
    #[inline]
    pub fn standardization(&self, feature: usize) -> (f64, f64) {
        let f = &self.compiled[feature];
        (f.mean, f.weight_per_unit)
    }

    /// The transform of feature `feature`.
    pub fn transform(&self, feature: usize) -> Transform {
        self.compiled[feature].transform
    }

    /// Probability of churn without reasons (the batch and arbitration path).
    ///
    /// # Errors
    /// A feature read from `extra_features` is missing.
    pub fn probability(&self, p: &CustomerProfile) -> Result<f64, MissingExtraFeature> {
        let mut z = self.intercept;
        for i in 0..self.compiled.len() {
            z += self.contribution(i, self.raw_value(i, p)?);
        }
        Ok(sigmoid(z))
    }

    /// Probability of churn with the `max_reasons` largest contributions (clamped to [`MAX_REASONS`]).
    ///
    /// # Errors
    /// A feature read from `extra_features` is missing.
    pub fn predict(
        &self,
        p: &CustomerProfile,
        max_reasons: usize,
    ) -> Result<ChurnPrediction, MissingExtraFeature> {
        self.predict_keeping::<false>(p, max_reasons, &mut [])
    }

    /// [`ChurnModel::predict`], also writing each feature's transformed value into
    /// `transformed` (one slot per feature), as [`ChurnModel::transformed_values`] would: the
    /// learned uplift models of a bundle share them.
    ///
    /// # Errors
    /// A feature read from `extra_features` is missing.
    ///
    /// # Panics
    /// `transformed` does not have one slot per feature.
    pub fn predict_with_transformed(
        &self,
        p: &CustomerProfile,
        max_reasons: usize,
        transformed: &mut [f64],
    ) -> Result<ChurnPrediction, MissingExtraFeature> {
        assert_eq!(
            transformed.len(),
            self.compiled.len(),
            "one slot per feature"
        );
        self.predict_keeping::<true>(p, max_reasons, transformed)
    }

    #[inline(always)]
    fn predict_keeping<const KEEP: bool>(
        &self,
        p: &CustomerProfile,
        max_reasons: usize,
        transformed: &mut [f64],
    ) -> Result<ChurnPrediction, MissingExtraFeature> {
        let k = max_reasons.min(MAX_REASONS);
        let mut reasons: Vec<ChurnReason> = Vec::with_capacity(k);
        let mut z = self.intercept;
        // A chunk of features at a time: their values and contributions first (independent of
        // one another, so the CPU overlaps them), then the sum in model order, so the
        // probability is bit-identical to [`ChurnModel::probability_from_raw`].
        let mut values = [0.0; PREDICT_CHUNK];
        let mut contributions = [0.0; PREDICT_CHUNK];
        let n = self.compiled.len();
        for start in (0..n).step_by(PREDICT_CHUNK) {
            let m = PREDICT_CHUNK.min(n - start);
            for (j, (value, contribution)) in values[..m]
                .iter_mut()
                .zip(&mut contributions[..m])
                .enumerate()
            {
                let i = start + j;
                *value = self.raw_value(i, p)?;
                let f = &self.compiled[i];
                let t = f.transform.apply(*value);
                if KEEP {
                    transformed[i] = t;
                }
                *contribution = (t - f.mean) * f.weight_per_unit;
            }
            for &c in &contributions[..m] {
                z += c;
            }
            for (j, (&value, &contribution)) in
                values[..m].iter().zip(&contributions[..m]).enumerate()
            {
                insert_top_k(
                    &mut reasons,
                    k,
                    ChurnReason {
                        feature: start + j,
                        value,
                        contribution,
                    },
                );
            }
        }
        Ok(ChurnPrediction {
            probability: sigmoid(z),
            log_odds: z,
            reasons,
        })
    }
}

impl ChurnModel {
    /// Log-odds and per-feature contributions of a block of profiles at once (offline scoring):
    /// one feature at a time over all the profiles, with the feature's field, transform and
    /// weight fixed for the whole loop. Every profile gets the same arithmetic in the same
    /// order as [`ChurnModel::predict`], so the probabilities and reasons are bit-identical.
    /// Profiles lacking an extra feature the model reads are marked in `block`. Each profile's
    /// `max_reasons` largest contributions (clamped to [`MAX_REASONS`]) are kept as the features
    /// go, without a branch per value.
    pub fn predict_block(
        &self,
        profiles: &[CustomerProfile],
        max_reasons: usize,
        block: &mut ChurnBlock,
    ) {
        let n = profiles.len();
        let k = max_reasons.min(MAX_REASONS);
        block.rows = n;
        block.k = k.min(self.compiled.len());
        block.top_magnitude.clear();
        block.top_magnitude.resize(k * n, f64::NEG_INFINITY);
        block.top_feature.clear();
        block.top_feature.resize(k * n, 0);
        block.log_odds.clear();
        block.log_odds.resize(n, self.intercept);
        block.values.resize(self.compiled.len() * n, 0.0);
        block.contributions.resize(self.compiled.len() * n, 0.0);
        block.has_transformed.clear();
        block.has_transformed.resize(self.compiled.len(), false);
        if block.keep_transformed {
            block.transformed.resize(self.compiled.len() * n, 0.0);
        }
        block.missing.clear();
        block.missing.resize(n, None);
        for (i, f) in self.compiled.iter().enumerate() {
            let values = &mut block.values[i * n..(i + 1) * n];
            match &f.source {
                FeatureSource::Builtin(b) => with_getter!(*b, |get| {
                    for (v, p) in values.iter_mut().zip(profiles) {
                        *v = get(p);
                    }
                }),
                FeatureSource::Extra(key) => {
                    for ((v, p), missing) in values.iter_mut().zip(profiles).zip(&mut block.missing)
                    {
                        match p.extra_features.get(key) {
                            Some(&x) => *v = x,
                            None => {
                                *v = 0.0;
                                if missing.is_none() {
                                    *missing = Some(i);
                                }
                            }
                        }
                    }
                }
            }
            let contributions = &mut block.contributions[i * n..(i + 1) * n];
            match f.transform {
                Transform::Identity => {
                    fill_contributions(f, Transform::Identity, values, contributions)
                }
                Transform::Log1p if block.keep_transformed => {
                    // Kept for the uplift models; the contributions come from the same values.
                    let kept = &mut block.transformed[i * n..(i + 1) * n];
                    for (t, &v) in kept.iter_mut().zip(values.iter()) {
                        *t = Transform::Log1p.apply(v);
                    }
                    for (c, &t) in contributions.iter_mut().zip(kept.iter()) {
                        *c = (t - f.mean) * f.weight_per_unit;
                    }
                    block.has_transformed[i] = true;
                }
                Transform::Log1p => fill_contributions(f, Transform::Log1p, values, contributions),
            }
            for (z, c) in block.log_odds.iter_mut().zip(contributions.iter()) {
                *z += *c;
            }
            keep_top_k(
                contributions,
                i as u64,
                &mut block.top_magnitude,
                &mut block.top_feature,
            );
        }
    }

    /// The extra feature profile `row` of the last [`ChurnModel::predict_block`] lacks.
    pub fn missing_in_block(&self, block: &ChurnBlock, row: usize) -> Option<MissingExtraFeature> {
        block.missing[row].map(|i| match &self.compiled[i].source {
            FeatureSource::Extra(key) => MissingExtraFeature { key: key.clone() },
            FeatureSource::Builtin(b) => unreachable!("typed field {} is never missing", b.name()),
        })
    }
}

/// Contributions of one feature over a block, the transform fixed for the loop.
#[inline(always)]
fn fill_contributions(f: &CompiledFeature, transform: Transform, values: &[f64], out: &mut [f64]) {
    for (c, &v) in out.iter_mut().zip(values) {
        *c = (transform.apply(v) - f.mean) * f.weight_per_unit;
    }
}

/// Offers feature `feature`'s `contributions` to each row's top list, slot-major (`slot * rows +
/// row`, slot 0 the largest |contribution|). The same ranking as [`insert_top_k`]: a value
/// enters a slot only when strictly larger, so ties keep the earlier feature first.
fn keep_top_k(contributions: &[f64], feature: u64, magnitude: &mut [f64], index: &mut [u64]) {
    let n = contributions.len();
    if n == 0 {
        return;
    }
    let k = magnitude.len() / n;
    // From the last slot up, so the slot above still holds its old value when it is read.
    for slot in (0..k).rev() {
        let (above, rest) = magnitude.split_at_mut(slot * n);
        let (above_i, rest_i) = index.split_at_mut(slot * n);
        let (mag, idx) = (&mut rest[..n], &mut rest_i[..n]);
        if slot == 0 {
            for ((m, i), c) in mag.iter_mut().zip(idx.iter_mut()).zip(contributions) {
                let x = c.abs();
                let enter = mask(x > *m);
                *m = if x > *m { x } else { *m };
                *i = (feature & enter) | (*i & !enter);
            }
        } else {
            let (up, up_i) = (&above[(slot - 1) * n..], &above_i[(slot - 1) * n..]);
            for ((((m, i), c), &u), &ui) in mag
                .iter_mut()
                .zip(idx.iter_mut())
                .zip(contributions)
                .zip(up)
                .zip(up_i)
            {
                // Shifted down from the slot above, replaced, or kept; as selects and bit masks
                // of 64-bit lanes like the magnitudes', so the loop has no data-dependent
                // branch and vectorizes (slots are sorted: u >= m).
                let x = c.abs();
                let (shift, enter) = (mask(x > u), mask(x > *m));
                let kept = if x > *m { x } else { *m };
                *m = if x > u { u } else { kept };
                *i = (ui & shift) | (!shift & ((feature & enter) | (*i & !enter)));
            }
        }
    }
}

/// All ones for `true`, all zeros for `false`.
#[inline(always)]
fn mask(b: bool) -> u64 {
    u64::from(b).wrapping_neg()
}

/// Scratch space and results of [`ChurnModel::predict_block`], reused from block to block.
#[derive(Debug, Default)]
pub struct ChurnBlock {
    rows: usize,
    /// Keep the transformed values of `log1p` features (for a bundle's uplift models).
    keep_transformed: bool,
    /// Transformed values, laid out as `values`, of the features marked in `has_transformed`.
    transformed: Vec<f64>,
    has_transformed: Vec<bool>,
    log_odds: Vec<f64>,
    /// Raw values, feature-major: feature `i` of row `r` at `i * rows + r`.
    values: Vec<f64>,
    /// Contributions, laid out as `values`.
    contributions: Vec<f64>,
    /// The first missing extra feature of each row (its index in the model).
    missing: Vec<Option<usize>>,
    /// Reasons kept per row.
    k: usize,
    /// Each row's largest |contributions|, slot-major: slot `j` of row `r` at `j * rows + r`.
    top_magnitude: Vec<f64>,
    /// The features of `top_magnitude`.
    top_feature: Vec<u64>,
}

impl ChurnBlock {
    /// From the next block on, keep each `log1p` feature's transformed values
    /// ([`ChurnBlock::transformed_values`]) instead of computing them inside the contributions.
    pub fn keep_transformed(&mut self, keep: bool) {
        self.keep_transformed = keep;
    }

    /// Feature `feature`'s transformed values over the block's rows, when they were kept.
    pub fn transformed_values(&self, feature: usize) -> Option<&[f64]> {
        self.has_transformed
            .get(feature)
            .copied()
            .unwrap_or(false)
            .then(|| &self.transformed[feature * self.rows..(feature + 1) * self.rows])
    }

    /// Rows in the last block.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Feature `feature`'s raw values over the block's rows (0 where an extra feature is missing).
    pub fn raw_values(&self, feature: usize) -> &[f64] {
        &self.values[feature * self.rows..(feature + 1) * self.rows]
    }

    /// Row `row`'s churn probability.
    #[inline]
    pub fn probability(&self, row: usize) -> f64 {
        sigmoid(self.log_odds[row])
    }

    /// Row `row`'s log-odds of churn.
    #[inline]
    pub fn log_odds(&self, row: usize) -> f64 {
        self.log_odds[row]
    }

    /// Row `row`'s largest contributions (as many as asked of [`ChurnModel::predict_block`]) into
    /// `reasons`, ranked as [`ChurnModel::predict`] ranks them.
    pub fn reasons(&self, row: usize, reasons: &mut Vec<ChurnReason>) {
        reasons.clear();
        let n = self.rows;
        let reason = |feature: usize| ChurnReason {
            feature,
            value: self.values[feature * n + row],
            contribution: self.contributions[feature * n + row],
        };
        if self.log_odds[row].is_nan() {
            // A NaN contribution ranks below every number in `predict`'s list but still fills
            // an empty place; the branch-free ranking leaves it out, so rank such a row as
            // `predict` does.
            let features = self.contributions.len() / n.max(1);
            for feature in 0..features {
                insert_top_k(reasons, self.k, reason(feature));
            }
            return;
        }
        reasons.extend((0..self.k).map(|slot| reason(self.top_feature[slot * n + row] as usize)));
    }
}

/// Features whose contributions [`ChurnModel::predict`] computes before summing them.
const PREDICT_CHUNK: usize = 32;

/// Keeps `top` sorted by |contribution| descending and at most `k` long, without allocating.
#[inline]
fn insert_top_k(top: &mut Vec<ChurnReason>, k: usize, r: ChurnReason) {
    let mag = r.contribution.abs();
    // Most features do not make the list once it is full: one comparison settles them.
    if top.len() == k && top.last().is_none_or(|t| mag <= t.contribution.abs()) {
        return;
    }
    let pos = top
        .iter()
        .position(|t| mag > t.contribution.abs())
        .unwrap_or(top.len());
    if pos >= k {
        return;
    }
    if top.len() == k {
        top.pop();
    }
    top.insert(pos, r);
}

/// The logistic function, stable for large |z|.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::tests::sample_profile;

    fn weight(name: &str, transform: Transform, mean: f64, scale: f64, coef: f64) -> FeatureWeight {
        FeatureWeight {
            name: name.into(),
            label: None,
            transform,
            mean,
            scale,
            coefficient: coef,
        }
    }

    fn two_feature_model() -> ChurnModel {
        ChurnModel::new(
            -1.0,
            vec![
                weight("tenure_months", Transform::Identity, 50.0, 20.0, -0.5),
                weight("complaints_12m", Transform::Identity, 0.5, 1.0, 0.8),
            ],
            12,
        )
        .unwrap()
    }

    #[test]
    fn probability_is_the_logistic_of_the_standardized_linear_score() {
        // tenure 60 → (60-50)/20 = 0.5 → -0.25; complaints 0 → (0-0.5)/1 = -0.5 → -0.4.
        // z = -1 - 0.25 - 0.4 = -1.65; p = 1/(1+e^1.65) = 0.161_108_95
        let p = two_feature_model().probability(&sample_profile()).unwrap();
        assert!((p - 0.161_108_95).abs() < 1e-8, "p = {p}");
    }

    #[test]
    fn reasons_are_sorted_by_absolute_contribution_and_sum_to_the_log_odds() {
        let m = two_feature_model();
        let pred = m.predict(&sample_profile(), 5).unwrap();
        assert_eq!(pred.reasons.len(), 2);
        assert_eq!(m.features()[pred.reasons[0].feature].name, "complaints_12m");
        assert!((pred.reasons[0].contribution + 0.4).abs() < 1e-12);
        assert!((pred.reasons[1].contribution + 0.25).abs() < 1e-12);
        let sum: f64 = pred.reasons.iter().map(|r| r.contribution).sum();
        assert!((m.intercept() + sum - pred.log_odds).abs() < 1e-12);
        assert_eq!(m.label(pred.reasons[0].feature), "complaints (12 months)");
    }

    #[test]
    fn predict_keeps_only_the_requested_number_of_reasons() {
        let pred = two_feature_model().predict(&sample_profile(), 1).unwrap();
        assert_eq!(pred.reasons.len(), 1);
        assert_eq!(pred.reasons[0].feature, 1);
        let none = two_feature_model().predict(&sample_profile(), 0).unwrap();
        assert!(none.reasons.is_empty());
        assert_eq!(none.probability, pred.probability);
    }

    #[test]
    fn an_extra_feature_is_read_from_the_map_and_required() {
        let m = ChurnModel::new(
            0.0,
            vec![weight(
                "extra.app_rating",
                Transform::Identity,
                3.0,
                1.0,
                -1.0,
            )],
            12,
        )
        .unwrap();
        let mut p = sample_profile();
        assert_eq!(
            m.probability(&p),
            Err(MissingExtraFeature {
                key: "app_rating".into()
            })
        );
        p.extra_features.insert("app_rating".into(), 3.0);
        assert_eq!(m.probability(&p), Ok(0.5));
    }

    #[test]
    fn invalid_parameters_are_refused_with_the_feature_named() {
        let bad = |w: FeatureWeight| ChurnModel::new(0.0, vec![w], 12).unwrap_err();
        assert_eq!(
            bad(weight(
                "tenure_months",
                Transform::Identity,
                f64::NAN,
                1.0,
                1.0
            ))
            .to_string(),
            "feature `tenure_months`: mean is NaN, expected a finite number"
        );
        assert!(matches!(
            bad(weight("tenure_months", Transform::Identity, 0.0, 0.0, 1.0)),
            ChurnModelError::NonPositiveScale { .. }
        ));
        assert!(matches!(
            bad(weight("shoe_size", Transform::Identity, 0.0, 1.0, 1.0)),
            ChurnModelError::UnknownFeature { .. }
        ));
        let w = weight("age_years", Transform::Identity, 0.0, 1.0, 1.0);
        assert!(matches!(
            ChurnModel::new(0.0, vec![w.clone(), w], 12),
            Err(ChurnModelError::DuplicateFeature { .. })
        ));
        assert_eq!(
            ChurnModel::new(0.0, vec![], 12).unwrap_err(),
            ChurnModelError::NoFeatures
        );
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
