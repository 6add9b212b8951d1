//! The model steps of `bankscore train`: the linfa fit (checked against the other class's
//! coefficients), the evaluation, the tier cut-offs and the golden examples.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};

use super::newton;
use super::{on_every_core, scaling, weighted_rows, ConstantColumn};
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
///
/// Two things keep the fit near scikit-learn's pace (profile in BENCHMARKS.md, "Training"):
/// the matrix is column-major, so the gradient's `Xᵀ·r` reads each column contiguously instead
/// of striding across every row once per feature; and a large fit starts from the fit of an
/// evenly spaced sample of its rows, so L-BFGS on all rows needs a few iterations, not a hundred.
/// The optimum, and the stopping rule, are linfa's either way.
pub(crate) fn fit_rows(
    data: &Dataset,
    rows: &[usize],
    features: &[Feature],
    scaling: &[(f64, f64)],
    l2: f64,
    horizon_months: u32,
) -> Result<ChurnModel, TrainError> {
    // Rows in file order, so that each column is read forward (the objective sums over rows:
    // their order does not change the optimum).
    let mut sorted = rows.to_vec();
    sorted.sort_unstable();
    let rows = &sorted[..];
    let x = standardized_matrix(data, rows, features, scaling);
    // Integer labels, 1 = churned. linfa-logistic's "positive" class is the *more frequent*
    // one, not the larger label, so the sign is read from the fitted labels, not assumed.
    let y: Array1<usize> = rows.iter().map(|&r| usize::from(data.labels[r])).collect();
    // linfa's fit has no progress hook: a heartbeat says how long it has been running.
    let (n_rows, n_features) = (rows.len(), features.len());
    let report = |elapsed: std::time::Duration| {
        tracing::info!(rows = n_rows, features = n_features, elapsed = ?elapsed, "fitting");
    };
    let warm = n_rows >= WARM_START_MIN_ROWS;
    let (coefficients, intercept) = heartbeat(EVERY, report, || fit_matrix(x, y, l2, warm))
        .map_err(|source| TrainError::Fit {
            model: "the logistic regression".into(),
            source: Box::new(source),
        })?;
    let weights = features
        .iter()
        .zip(scaling)
        .zip(coefficients)
        .map(|((f, &(mean, scale)), coefficient)| FeatureWeight {
            name: f.name.clone(),
            label: None,
            transform: f.transform,
            mean,
            scale,
            coefficient,
        })
        .collect();
    Ok(ChurnModel::new(intercept, weights, horizon_months)?)
}

/// linfa's fit of labels `y` (1 = churned) on the standardized column-major `x`, from the warm
/// start when `warm`; the coefficients and intercept of churn (whichever class linfa took as
/// positive).
fn fit_matrix(
    x: Array2<f64>,
    y: Array1<usize>,
    l2: f64,
    warm: bool,
) -> Result<(Vec<f64>, f64), linfa_logistic::error::Error> {
    let n_rows = x.nrows();
    let start = if warm { warm_start(&x, &y, l2)? } else { None };
    let dataset = linfa::Dataset::new(x, y);
    let mut fit = linfa_fit(l2, n_rows);
    if let Some(start) = start {
        fit = fit.initial_params(start);
    }
    let fitted = fit.fit(&dataset)?;
    let sign = churn_sign(fitted.labels().pos.class == 1);
    Ok((
        fitted.params().iter().map(|w| sign * w).collect(),
        sign * fitted.intercept(),
    ))
}

/// The column-major matrix of `features` over `rows`, each standardized with its `scaling`,
/// built a share of the columns per core.
fn standardized_matrix(
    data: &Dataset,
    rows: &[usize],
    features: &[Feature],
    scaling: &[(f64, f64)],
) -> Array2<f64> {
    let mut x = Array2::<f64>::zeros((rows.len(), features.len()).f());
    let columns: Vec<_> = x
        .columns_mut()
        .into_iter()
        .zip(features.iter().zip(scaling))
        .collect();
    on_every_core(columns, |(mut slot, (f, &(mean, scale)))| {
        let column = data.column(&f.column).expect("loaded");
        for (v, &r) in slot.iter_mut().zip(rows) {
            *v = (f.transform.apply(column[r]) - mean) / scale;
        }
    });
    x
}

/// Fits below this many rows start from zero: they are fast already.
const WARM_START_MIN_ROWS: usize = 200_000;
/// The warm start fits every this-many-th row.
const WARM_START_STRIDE: usize = 16;

/// linfa's L2 logistic regression as `bankscore train` configures it, for `rows` rows.
fn linfa_fit(l2: f64, rows: usize) -> linfa_logistic::LogisticRegression<f64> {
    LogisticRegression::default()
        .alpha(l2)
        .max_iterations(1_000)
        // linfa's objective is a sum over rows: a tolerance per row keeps the stopping point
        // (mean-loss gradient norm below GRADIENT_TOLERANCE_PER_ROW) independent of the data size.
        .gradient_tolerance(GRADIENT_TOLERANCE_PER_ROW * rows as f64)
}

/// +1 when linfa's positive class is "churned", else -1: what turns linfa's coefficients into
/// the churn model's.
fn churn_sign(positive_is_churned: bool) -> f64 {
    if positive_is_churned {
        1.0
    } else {
        -1.0
    }
}

/// Whether linfa will take "churned" (1) as its positive class for these labels: the more
/// frequent class, or on a tie the class of the first row (linfa-logistic's `label_classes`).
fn linfa_positive_is_churned(y: &Array1<usize>) -> bool {
    let churned = y.iter().filter(|&&c| c == 1).count();
    let stayed = y.len() - churned;
    churned > stayed || (churned == stayed && y.first() == Some(&1))
}

/// The starting point of a large fit: linfa's fit of every `WARM_START_STRIDE`-th row, with the
/// penalty scaled to the sample's size (the objective sums over rows), carried towards the
/// optimum of all rows by Newton steps ([`newton::refine`]); in the full fit's sign convention,
/// intercept last. `None` for a sample with one class only.
fn warm_start(
    x: &Array2<f64>,
    y: &Array1<usize>,
    l2: f64,
) -> Result<Option<Array1<f64>>, linfa_logistic::error::Error> {
    let sampled = x.slice(ndarray::s![..;WARM_START_STRIDE, ..]);
    let mut xs = Array2::<f64>::zeros(sampled.raw_dim().f());
    xs.assign(&sampled);
    let ys = y.slice(ndarray::s![..;WARM_START_STRIDE]);
    if ys.iter().all(|&c| c == ys[0]) {
        return Ok(None);
    }
    let sample = linfa::DatasetBase::new(xs.view(), ys);
    let fitted = linfa_fit(l2 / WARM_START_STRIDE as f64, xs.nrows()).fit(&sample)?;
    let to_churn = churn_sign(fitted.labels().pos.class == 1);
    let mut w: Vec<f64> = fitted.params().iter().map(|v| to_churn * v).collect();
    w.push(to_churn * fitted.intercept());
    let w = newton::refine(x, y, &xs, w, l2, GRADIENT_TOLERANCE_PER_ROW);
    let to_linfa = churn_sign(linfa_positive_is_churned(y));
    Ok(Some(w.into_iter().map(|v| to_linfa * v).collect()))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded logistic data set: `rows` × 3 standardized-looking columns, churn where
    /// `intercept + x·(1.2, -0.8, 0.3)` wins a seeded coin toss.
    fn data(rows: usize, intercept: f64) -> (Array2<f64>, Array1<usize>) {
        let mut uniform = newton::uniform(0x2545_f491_4f6c_dd1d);
        let mut x = Array2::<f64>::zeros((rows, 3).f());
        let mut y = Array1::<usize>::zeros(rows);
        for i in 0..rows {
            let mut z = intercept;
            for (j, w) in [1.2, -0.8, 0.3].into_iter().enumerate() {
                let v = (uniform() + uniform() + uniform() - 1.5) * 2.0;
                x[[i, j]] = v;
                z += w * v;
            }
            y[i] = usize::from(uniform() < 1.0 / (1.0 + (-z).exp()));
        }
        (x, y)
    }

    #[test]
    fn the_warm_start_reaches_the_cold_fits_optimum_whichever_class_is_larger() {
        // -2: churn is the minority (linfa's positive class is "stayed"); +2: the majority.
        for intercept in [-2.0, 2.0] {
            let (x, y) = data(40_000, intercept);
            let cold = fit_matrix(x.clone(), y.clone(), 1.0, false).unwrap();
            let warm = fit_matrix(x, y, 1.0, true).unwrap();
            for (c, w) in cold.0.iter().zip(&warm.0) {
                assert!(
                    (c - w).abs() < 1e-3,
                    "intercept {intercept}: {cold:?} vs {warm:?}"
                );
            }
            assert!((cold.1 - warm.1).abs() < 1e-3, "{cold:?} vs {warm:?}");
            // The churn convention: the first coefficient raises churn.
            assert!(warm.0[0] > 0.9 && warm.0[1] < -0.5, "{warm:?}");
            assert!((warm.1 - intercept).abs() < 0.2, "{warm:?}");
        }
    }
}
