//! The model steps of `bankscore train`: the linfa fit (checked against the other class's
//! coefficients), the evaluation, the tier cut-offs and the golden examples.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::Array2;

use super::{scaling, weighted_rows, ConstantColumn};
use super::{Feature, TrainSettings, GRADIENT_TOLERANCE_PER_ROW};
use crate::domain::churn::{ChurnModel, FeatureWeight};
use crate::domain::profile::BuiltinFeature;
use crate::domain::{value, TierPolicy, ValueParams};
use crate::model_store::format::{CoefficientRow, Evaluation, GoldenExample, GoldenFile};
use crate::training::dataset::Dataset;
use crate::training::evaluate;
use crate::training::heartbeat::{heartbeat, EVERY};
use crate::training::TrainError;

pub(crate) fn fit(
    settings: &TrainSettings,
    data: &Dataset,
    train_rows: &[usize],
    features: &[Feature],
) -> Result<ChurnModel, TrainError> {
    let scaling = scaling(data, train_rows, features, ConstantColumn::Refuse)?;
    let rows = weighted_rows(settings, data, train_rows);
    fit_rows(
        data,
        &rows,
        features,
        &scaling,
        settings.l2,
        settings.horizon_months,
    )
}

/// Fits linfa's L2 logistic regression of `data.labels` on `features` over `rows` (a row may
/// repeat), standardized with `scaling`.
pub(crate) fn fit_rows(
    data: &Dataset,
    rows: &[usize],
    features: &[Feature],
    scaling: &[(f64, f64)],
    l2: f64,
    horizon_months: u32,
) -> Result<ChurnModel, TrainError> {
    let mut x = Array2::<f64>::zeros((rows.len(), features.len()));
    for (j, (f, &(mean, scale))) in features.iter().zip(scaling).enumerate() {
        let column = data.column(&f.column).expect("loaded");
        for (i, &r) in rows.iter().enumerate() {
            x[[i, j]] = (f.transform.apply(column[r]) - mean) / scale;
        }
    }
    // Integer labels, 1 = churned. linfa-logistic's "positive" class is the *more frequent*
    // one, not the larger label, so the sign is read from the fitted labels, not assumed.
    let y: ndarray::Array1<usize> = rows.iter().map(|&r| usize::from(data.labels[r])).collect();
    let dataset = linfa::Dataset::new(x, y);
    // linfa's fit has no progress hook: a heartbeat says how long it has been running.
    let (n_rows, n_features) = (rows.len(), features.len());
    let report = |elapsed: std::time::Duration| {
        tracing::info!(rows = n_rows, features = n_features, elapsed = ?elapsed, "fitting");
    };
    let fitted = heartbeat(EVERY, report, || {
        LogisticRegression::default()
            .alpha(l2)
            .max_iterations(1_000)
            // linfa's objective is a sum over rows: a tolerance per row keeps the stopping point
            // (mean-loss gradient norm below GRADIENT_TOLERANCE_PER_ROW) independent of the data size.
            .gradient_tolerance(GRADIENT_TOLERANCE_PER_ROW * rows.len() as f64)
            .fit(&dataset)
    })
    .map_err(|source| TrainError::Fit {
        model: "the logistic regression".into(),
        source: Box::new(source),
    })?;
    let sign = if fitted.labels().pos.class == 1 {
        1.0
    } else {
        -1.0
    };
    let weights = features
        .iter()
        .zip(scaling)
        .enumerate()
        .map(|(j, (f, &(mean, scale)))| FeatureWeight {
            name: f.name.clone(),
            label: None,
            transform: f.transform,
            mean,
            scale,
            coefficient: sign * fitted.params()[j],
        })
        .collect();
    Ok(ChurnModel::new(
        sign * fitted.intercept(),
        weights,
        horizon_months,
    )?)
}

/// Every row's churn probability, computed exactly as the server computes it.
pub(crate) fn probabilities(model: &ChurnModel, data: &Dataset, features: &[Feature]) -> Vec<f64> {
    let columns: Vec<&[f64]> = features
        .iter()
        .map(|f| data.column(&f.column).expect("loaded"))
        .collect();
    let mut raw = vec![0.0; columns.len()];
    (0..data.rows())
        .map(|r| {
            for (slot, column) in raw.iter_mut().zip(&columns) {
                *slot = column[r];
            }
            model.probability_from_raw(&raw)
        })
        .collect()
}

pub(crate) fn evaluate_model(
    churn: &ChurnModel,
    data: &Dataset,
    train_rows: &[usize],
    train_probs: &[f64],
    v_probs: &[f64],
    v_labels: &[bool],
    features: &[Feature],
) -> Evaluation {
    let mut coefficients: Vec<CoefficientRow> = churn
        .features()
        .iter()
        .map(|f| CoefficientRow {
            feature: f.name.clone(),
            transform: f.transform,
            standardized: f.coefficient,
            raw: f.coefficient / f.scale,
            odds_ratio_per_sd: f.coefficient.exp(),
        })
        .collect();
    coefficients.sort_by(|a, b| b.standardized.abs().total_cmp(&a.standardized.abs()));
    let feature_deciles = features
        .iter()
        .map(|f| {
            let column = data.column(&f.column).expect("loaded");
            let values: Vec<f64> = train_rows.iter().map(|&r| column[r]).collect();
            (f.name.clone(), evaluate::decile_edges(&values))
        })
        .collect();
    Evaluation {
        metrics: evaluate::metrics(v_probs, v_labels),
        validation_rows: v_labels.len() as u64,
        validation_churners: v_labels.iter().filter(|&&y| y).count() as u64,
        calibration: evaluate::calibration(v_probs, v_labels, 10),
        lift: evaluate::lift(v_probs, v_labels, &[0.1, 0.2]),
        coefficients,
        feature_deciles,
        score_deciles: evaluate::decile_edges(train_probs),
    }
}

/// ABC cut-offs on the whole population of the training file (sleeping customers excluded):
/// A holds the customers making the first 80% of positive total value, B the next 15%; key
/// accounts are the top 1% of customers.
pub(crate) fn tier_cut_offs(
    settings: &TrainSettings,
    v: &ValueParams,
    data: &Dataset,
    probabilities: &[f64],
) -> Result<TierPolicy, TrainError> {
    let column = |f: BuiltinFeature| data.column(f.name()).expect("loaded");
    let (margin, referrals, inactive) = (
        column(BuiltinFeature::AnnualMargin),
        column(BuiltinFeature::Referrals12m),
        column(BuiltinFeature::DaysSinceLastActivity),
    );
    let mut totals: Vec<f64> = (0..data.rows())
        .filter(|&r| inactive[r] < f64::from(settings.sleeping_after_days))
        .map(|r| {
            let p = probabilities[r];
            let potential =
                value::lifetime_value(margin[r], 1.0 - p, v.discount_rate, v.horizon_years);
            margin[r] + potential + referrals[r] * v.value_per_referral
        })
        .collect();
    if totals.len() < 100 {
        return Err(TrainError::TooFewActive(totals.len()));
    }
    totals.sort_by(|a, b| b.total_cmp(a));
    let positive_total: f64 = totals.iter().filter(|&&t| t > 0.0).sum();
    if positive_total <= 0.0 {
        return Err(TrainError::NoPositiveValue);
    }
    let at_share = |share: f64| {
        let mut acc = 0.0;
        for &t in &totals {
            acc += t.max(0.0);
            if acc >= share * positive_total {
                return t;
            }
        }
        *totals.last().expect("non-empty")
    };
    let a_min_value = at_share(0.80);
    let mut b_min_value = at_share(0.95);
    if b_min_value >= a_min_value {
        b_min_value = a_min_value - 1e-6 * a_min_value.abs().max(1.0);
    }
    let policy = TierPolicy {
        a_min_value,
        b_min_value,
        key_account_min_value: totals[totals.len() / 100].max(a_min_value),
        sleeping_after_days: settings.sleeping_after_days,
    };
    policy.validate()?;
    Ok(policy)
}

/// The first validation rows with the probabilities the bundle must reproduce.
pub(crate) fn golden_examples(
    settings: &TrainSettings,
    data: &Dataset,
    rows: &[usize],
    probabilities: &[f64],
    features: &[Feature],
) -> GoldenFile {
    GoldenFile {
        tolerance: 1e-12,
        examples: rows
            .iter()
            .zip(probabilities)
            .take(settings.golden_examples)
            .map(|(&r, &p)| GoldenExample {
                features: features
                    .iter()
                    .map(|f| (f.name.clone(), data.column(&f.column).expect("loaded")[r]))
                    .collect(),
                churn_probability: p,
            })
            .collect(),
    }
}
