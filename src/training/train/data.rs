//! The data steps of `bankscore train`: which columns are features, loading the file, the
//! train/validation split and class weighting.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{ClassWeight, Feature, TrainSettings, VALUE_COLUMNS};
use crate::domain::profile::{FeatureSource, Transform, EXTRA_PREFIX};
use crate::model_store::checksum::sha256_hex;
use crate::training::dataset::{csv_headers, Dataset, NonNumeric};
use crate::training::TrainError;

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// The features, named as the bundle will name them, and whether the value columns exist.
pub(crate) fn select_features(
    settings: &TrainSettings,
) -> Result<(Vec<Feature>, bool), TrainError> {
    let headers = csv_headers(&settings.data)?;
    if !headers.contains(&settings.label) {
        return Err(TrainError::NoLabelColumn {
            label: settings.label.clone(),
            columns: headers.join(", "),
        });
    }
    let columns: Vec<String> = match &settings.features {
        Some(list) => {
            for c in list {
                if !headers.contains(c) {
                    return Err(TrainError::NoFeatureColumn(c.clone()));
                }
            }
            list.clone()
        }
        None => headers
            .iter()
            .filter(|h| {
                **h != settings.label && !settings.id_columns.contains(h) && !looks_like_an_id(h)
            })
            .cloned()
            .collect(),
    };
    if columns.is_empty() {
        return Err(TrainError::NoFeatureColumns(settings.data.clone()));
    }
    let features = columns
        .into_iter()
        .map(|column| {
            let (name, source) = match FeatureSource::parse(&column) {
                Some(source) => (column.clone(), source),
                None if column.starts_with(EXTRA_PREFIX) => {
                    return Err(TrainError::EmptyExtraName(column));
                }
                None => {
                    let name = format!("{EXTRA_PREFIX}{column}");
                    let source = FeatureSource::parse(&name).expect("non-empty extra name");
                    (name, source)
                }
            };
            let transform = match source {
                FeatureSource::Builtin(b) => b.default_transform(),
                FeatureSource::Extra(_) => Transform::Identity,
            };
            Ok(Feature {
                name,
                column,
                transform,
            })
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let has_value_columns = VALUE_COLUMNS
        .iter()
        .all(|c| headers.iter().any(|h| h == c.name()));
    if !has_value_columns && settings.tier_policy.is_none() {
        return Err(TrainError::NoValueColumns);
    }
    Ok((features, has_value_columns))
}

/// Whether a column name reads as an identifier: a word `id`, `ids`, `uuid` or `guid` (words
/// split at `_`, `-`, spaces and camelCase), or a row counter (`RowNumber`, `index`, `Unnamed: 0`).
/// Such columns are never taken as features automatically.
pub fn looks_like_an_id(name: &str) -> bool {
    if [
        "rownumber",
        "row_number",
        "index",
        "unnamed: 0",
        "clientnum",
    ]
    .contains(&name.to_ascii_lowercase().as_str())
    {
        return true;
    }
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == ' ' || c == '.' {
            words.push(std::mem::take(&mut current));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    words.push(current);
    words
        .iter()
        .any(|w| matches!(w.as_str(), "id" | "ids" | "uuid" | "guid"))
}

/// Reads `path`; features detected automatically drop non-numeric columns, chosen ones fail.
pub(crate) fn load_dataset(
    settings: &TrainSettings,
    path: &Path,
    features: &mut Vec<Feature>,
    with_value_columns: bool,
) -> Result<(Dataset, String), TrainError> {
    let mut columns: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
    if with_value_columns {
        for c in VALUE_COLUMNS {
            if !columns.iter().any(|n| n == c.name()) {
                columns.push(c.name().to_owned());
            }
        }
    }
    let bytes = std::fs::read(path).map_err(|source| TrainError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = if settings.features.is_some() {
        NonNumeric::Fail
    } else {
        NonNumeric::DropColumn
    };
    let data = Dataset::read_csv(path, &columns, &settings.label, mode).map_err(|source| {
        TrainError::Data {
            role: "training data",
            path: path.to_owned(),
            source,
        }
    })?;
    for ignored in &data.ignored {
        // The value itself may identify a customer: only at debug level, never in info logs.
        tracing::warn!(column = %ignored.column, row = ignored.row,
            "column left out: not numeric (choose features with --features)");
        tracing::debug!(column = %ignored.column, row = ignored.row, value = %ignored.value, "the non-numeric value");
    }
    features.retain(|f| data.column(&f.column).is_some());
    if features.is_empty() {
        return Err(TrainError::NoNumericFeatures(path.to_owned()));
    }
    let churners = data.labels.iter().filter(|&&y| y).count();
    if churners == 0 || churners == data.rows() {
        return Err(TrainError::SingleClass {
            label: settings.label.clone(),
            churners,
            rows: data.rows(),
        });
    }
    Ok((data, sha256_hex(&bytes)))
}

pub(crate) enum Validation {
    /// Held-out rows of the training file.
    Rows(Vec<usize>),
    /// A separate file.
    File(Dataset),
}

/// Training rows, and the validation rows or file.
pub(crate) fn split(
    settings: &TrainSettings,
    data: &Dataset,
    features: &[Feature],
) -> Result<(Vec<usize>, Validation), TrainError> {
    if let Some(path) = &settings.validation_data {
        let columns: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
        let v = Dataset::read_csv(path, &columns, &settings.label, NonNumeric::Fail).map_err(
            |source| TrainError::Data {
                role: "validation data",
                path: path.clone(),
                source,
            },
        )?;
        return Ok(((0..data.rows()).collect(), Validation::File(v)));
    }
    let mut order: Vec<usize> = (0..data.rows()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(settings.seed));
    let n_validation = ((data.rows() as f64) * settings.validation_share).round() as usize;
    let validation = order.split_off(data.rows() - n_validation);
    if validation.is_empty() {
        return Err(TrainError::EmptyValidation);
    }
    Ok((order, Validation::Rows(validation)))
}

/// What to do with a feature that is constant on the rows a model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstantColumn {
    /// Refuse, naming the column (the churn model: the user should leave it out).
    Refuse,
    /// Scale 1: its standardized value is 0 on every row and its coefficient 0 (an uplift
    /// model fitted on an action given only to, say, customers with an open complaint).
    Neutral,
}

/// Mean and population standard deviation of each transformed feature on the training rows.
pub(crate) fn scaling(
    data: &Dataset,
    train_rows: &[usize],
    features: &[Feature],
    constant: ConstantColumn,
) -> Result<Vec<(f64, f64)>, TrainError> {
    // In file order, each column is read forward.
    let mut rows = train_rows.to_vec();
    rows.sort_unstable();
    let rows = &rows[..];
    let n = rows.len() as f64;
    on_every_core(features.iter().collect(), |f: &Feature| {
        let column = data.column(&f.column).expect("loaded");
        let mean = rows
            .iter()
            .map(|&r| f.transform.apply(column[r]))
            .sum::<f64>()
            / n;
        let var = rows
            .iter()
            .map(|&r| (f.transform.apply(column[r]) - mean).powi(2))
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    })
    .into_iter()
    .zip(features)
    .map(|((mean, scale), f)| {
        if scale > 1e-12 * mean.abs().max(1.0) {
            return Ok((mean, scale));
        }
        match constant {
            ConstantColumn::Neutral => Ok((mean, 1.0)),
            ConstantColumn::Refuse => Err(TrainError::ConstantColumn {
                column: f.column.clone(),
                value: mean,
            }),
        }
    })
    .collect()
}

/// `work` applied to every item, the items shared out in order over the machine's cores;
/// the results in the items' order.
pub(crate) fn on_every_core<T: Send, R: Send>(
    items: Vec<T>,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = items.len().div_ceil(threads).max(1);
    let mut items = items;
    let work = &work;
    std::thread::scope(|scope| {
        let mut shares = Vec::new();
        while !items.is_empty() {
            let share: Vec<T> = items.drain(..per_thread.min(items.len())).collect();
            shares.push(scope.spawn(move || share.into_iter().map(work).collect::<Vec<R>>()));
        }
        shares
            .into_iter()
            .flat_map(|h| h.join().expect("a training thread panicked"))
            .collect()
    })
}

/// The training rows to fit on: each once, or with the minority class replicated.
pub(crate) fn weighted_rows(
    settings: &TrainSettings,
    data: &Dataset,
    train_rows: &[usize],
) -> Vec<usize> {
    if settings.class_weight == ClassWeight::None {
        return train_rows.to_vec();
    }
    let positives = train_rows.iter().filter(|&&r| data.labels[r]).count() as f64;
    let negatives = train_rows.len() as f64 - positives;
    let (minority, weight) = if positives <= negatives {
        (true, negatives / positives)
    } else {
        (false, positives / negatives)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x5eed);
    let mut rows = Vec::with_capacity((train_rows.len() as f64 * 2.0) as usize);
    for &r in train_rows {
        if data.labels[r] != minority {
            rows.push(r);
            continue;
        }
        let copies = weight.floor() as usize + usize::from(rng.gen::<f64>() < weight.fract());
        rows.extend(std::iter::repeat_n(r, copies));
    }
    rows
}
