//! Checks across a bundle's files: `evaluation.json` and `golden.json` must name exactly the
//! features of `model.json`, each once.
//!
//! Each file parses on its own, so a bundle assembled from two trainings (or hand-edited) would
//! otherwise load: drift monitoring would watch features the model does not use, and a golden
//! example with a value too many would pass unnoticed.

use std::collections::BTreeSet;

use super::error::FeatureMismatch;
use super::format::{Evaluation, GoldenExample};
use crate::domain::churn::FeatureWeight;

/// The coefficient table and the feature deciles of `evaluation` each cover every model
/// feature once and no other.
///
/// # Errors
/// The first list that differs, with the counts and the feature that is missing or unknown.
pub(super) fn check_evaluation(
    features: &[FeatureWeight],
    evaluation: &Evaluation,
) -> Result<(), FeatureMismatch> {
    same_features(
        "the coefficient table lists",
        evaluation.coefficients.iter().map(|c| c.feature.as_str()),
        features,
    )?;
    same_features(
        "feature_deciles lists",
        evaluation.feature_deciles.keys().map(String::as_str),
        features,
    )
}

/// The raw values of golden example `number` (1-based) in model order: exactly one per model
/// feature, so [`crate::domain::ChurnModel::probability_from_raw`] always gets the count it
/// requires.
///
/// # Errors
/// The example names a feature the model does not have, lacks one, or a value is not finite.
pub(super) fn golden_values(
    features: &[FeatureWeight],
    number: usize,
    example: &GoldenExample,
) -> Result<Vec<f64>, FeatureMismatch> {
    same_features(
        &format!("example {number} has values for"),
        example.features.keys().map(String::as_str),
        features,
    )?;
    features
        .iter()
        .map(|f| {
            // Present: same_features has checked every model feature is named.
            let value = example.features[&f.name];
            if value.is_finite() {
                Ok(value)
            } else {
                Err(FeatureMismatch::NotFinite {
                    number,
                    feature: f.name.clone(),
                })
            }
        })
        .collect()
}

/// `listed` names each of `features` once and nothing else. `subject` starts the message, e.g.
/// "the coefficient table lists" → "the coefficient table lists 21 features, model.json has 22:
/// `age_years` is missing".
fn same_features<'a>(
    subject: &str,
    listed: impl Iterator<Item = &'a str>,
    features: &[FeatureWeight],
) -> Result<(), FeatureMismatch> {
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for name in listed {
        count += 1;
        if !seen.insert(name) {
            return Err(FeatureMismatch::Twice {
                subject: subject.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    let model: BTreeSet<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let unknown = seen.difference(&model).next().map(|u| (*u).to_owned());
    // The first missing feature in model order, as model.json lists them.
    let missing = features
        .iter()
        .map(|f| f.name.as_str())
        .find(|n| !seen.contains(n))
        .map(str::to_owned);
    if unknown.is_none() && missing.is_none() {
        return Ok(());
    }
    Err(FeatureMismatch::Differs {
        subject: subject.to_owned(),
        listed: count,
        expected: features.len(),
        unknown,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::profile::Transform;
    use crate::model_store::format::{CoefficientRow, Metrics};

    fn feature(name: &str) -> FeatureWeight {
        FeatureWeight {
            name: name.into(),
            label: None,
            transform: Transform::Identity,
            mean: 0.0,
            scale: 1.0,
            coefficient: 0.5,
        }
    }

    fn model() -> Vec<FeatureWeight> {
        ["tenure_months", "age_years", "complaints_12m"]
            .map(feature)
            .to_vec()
    }

    fn evaluation(coefficients: &[&str], deciles: &[&str]) -> Evaluation {
        Evaluation {
            metrics: Metrics {
                roc_auc: 0.8,
                log_loss: 0.4,
                brier: 0.1,
            },
            validation_rows: 10,
            validation_churners: 2,
            calibration: vec![],
            lift: vec![],
            coefficients: coefficients
                .iter()
                .map(|&f| CoefficientRow {
                    feature: f.into(),
                    transform: Transform::Identity,
                    standardized: 0.5,
                    raw: 0.5,
                    odds_ratio_per_sd: 0.5f64.exp(),
                })
                .collect(),
            feature_deciles: deciles.iter().map(|&f| (f.to_owned(), vec![1.0])).collect(),
            score_deciles: vec![0.5],
        }
    }

    fn example(values: &[(&str, f64)]) -> GoldenExample {
        GoldenExample {
            features: values
                .iter()
                .map(|&(n, v)| (n.to_owned(), v))
                .collect::<BTreeMap<_, _>>(),
            churn_probability: 0.5,
        }
    }

    const ALL: [&str; 3] = ["tenure_months", "age_years", "complaints_12m"];

    #[test]
    fn an_evaluation_of_the_same_features_in_another_order_passes() {
        let order = ["complaints_12m", "tenure_months", "age_years"];
        assert_eq!(
            check_evaluation(&model(), &evaluation(&order, &ALL)),
            Ok(())
        );
    }

    #[test]
    fn an_evaluation_of_other_features_is_refused_with_counts_and_names() {
        let cases: [(&[&str], &[&str], &str); 5] = [
            (
                &ALL[..2],
                &ALL,
                "the coefficient table lists 2 features, model.json has 3: `complaints_12m` is missing",
            ),
            (
                &["tenure_months", "age_years", "complaints_12m", "shoe_size"],
                &ALL,
                "the coefficient table lists 4 features, model.json has 3: `shoe_size` is not a model.json feature",
            ),
            (
                &["tenure_months", "age_years", "shoe_size"],
                &ALL,
                "the coefficient table lists 3 features, as model.json, but `shoe_size` is not a \
                 model.json feature and `complaints_12m` is missing",
            ),
            (
                &["tenure_months", "age_years", "age_years"],
                &ALL,
                "the coefficient table lists `age_years` twice",
            ),
            (
                &ALL,
                &ALL[1..],
                "feature_deciles lists 2 features, model.json has 3: `tenure_months` is missing",
            ),
        ];
        for (coefficients, deciles, want) in cases {
            let refused = check_evaluation(&model(), &evaluation(coefficients, deciles));
            assert_eq!(refused.unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn golden_values_come_in_model_order() {
        let e = example(&[
            ("age_years", 40.0),
            ("complaints_12m", 1.0),
            ("tenure_months", 12.0),
        ]);
        assert_eq!(golden_values(&model(), 1, &e), Ok(vec![12.0, 40.0, 1.0]));
    }

    #[test]
    fn a_golden_example_with_a_value_too_many_or_too_few_is_refused() {
        let extra = example(&[
            ("age_years", 40.0),
            ("complaints_12m", 1.0),
            ("tenure_months", 12.0),
            ("extra.shoe_size", 42.0),
        ]);
        assert_eq!(
            golden_values(&model(), 2, &extra).unwrap_err().to_string(),
            "example 2 has values for 4 features, model.json has 3: `extra.shoe_size` is not a \
             model.json feature"
        );
        let short = example(&[("age_years", 40.0), ("complaints_12m", 1.0)]);
        assert_eq!(
            golden_values(&model(), 3, &short).unwrap_err().to_string(),
            "example 3 has values for 2 features, model.json has 3: `tenure_months` is missing"
        );
        let nan = example(&[
            ("age_years", f64::NAN),
            ("complaints_12m", 1.0),
            ("tenure_months", 12.0),
        ]);
        assert_eq!(
            golden_values(&model(), 4, &nan).unwrap_err().to_string(),
            "example 4: no finite value for feature `age_years`"
        );
    }
}
