//! Reading a campaign history for `train-uplift`: its feature columns, outcome and arm per row,
//! with errors that name the file, row and column.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::dataset::{Dataset, NonNumeric};
use super::super::train::Feature;
use crate::batch::file_format::CsvView;
use crate::domain::profile::EXTRA_PREFIX;
use crate::model_store::checksum::sha256_hex;
use crate::model_store::LoadedModel;
use crate::training::TrainError;

/// The value of `action` for the control group.
pub const CONTROL: &str = "control";
/// The column naming each customer's arm.
pub const ACTION_COLUMN: &str = "action";
/// The outcome column.
pub const OUTCOME_COLUMN: &str = "churned";

/// The history's arm and outcome columns. Defaults: `action` (a catalog action id, or
/// `control`) and `churned` (1 = left within the horizon). Another experiment's file (a public
/// randomized trial, say) is read as it is by naming its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryColumns {
    /// The column naming each customer's arm.
    pub action: String,
    /// The value of `action` for the control group.
    pub control: String,
    /// The outcome column (0/1 or true/false).
    pub outcome: String,
    /// The outcome's 1 means the customer stayed (a visit, a conversion), not that they left:
    /// it is inverted, so uplift is still the reduction in leaving.
    pub outcome_means_stayed: bool,
}

impl Default for HistoryColumns {
    fn default() -> Self {
        Self {
            action: ACTION_COLUMN.into(),
            control: CONTROL.into(),
            outcome: OUTCOME_COLUMN.into(),
            outcome_means_stayed: false,
        }
    }
}

/// The bundle's features, each read from the column training read it from.
pub(super) fn bundle_features(base: &LoadedModel) -> Vec<Feature> {
    base.scoring
        .churn
        .features()
        .iter()
        .map(|f| Feature {
            name: f.name.clone(),
            column: f
                .name
                .strip_prefix(EXTRA_PREFIX)
                .unwrap_or(&f.name)
                .to_owned(),
            transform: f.transform,
        })
        .collect()
}

/// A history's feature columns and outcomes, each row's arm (0 = control, i + 1 = catalog
/// action i), and the file's SHA-256.
pub(super) fn load_history(
    path: &Path,
    names: &HistoryColumns,
    base: &LoadedModel,
    features: &[Feature],
) -> Result<(Dataset, Vec<usize>, String), TrainError> {
    // Parquet is read through a CSV copy, so both get the same checks; messages name `path`.
    let view = CsvView::of(path)?;
    let csv_path = view.path();
    let columns: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
    let mut data = Dataset::read_csv(csv_path, &columns, &names.outcome, NonNumeric::Fail)
        .map_err(|source| TrainError::Data {
            role: "campaign history",
            path: path.to_owned(),
            source,
        })?;
    if names.outcome_means_stayed {
        for y in &mut data.labels {
            *y = !*y;
        }
    }
    let catalog: BTreeMap<&str, usize> = base
        .scoring
        .actions
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i + 1))
        .collect();
    let csv_error = |source| TrainError::Csv {
        path: path.to_owned(),
        source,
    };
    let mut reader = csv::Reader::from_path(csv_path).map_err(csv_error)?;
    let headers = reader.headers().map_err(csv_error)?.clone();
    let (action, control) = (&names.action, &names.control);
    let Some(column) = headers.iter().position(|h| h == action) else {
        return Err(TrainError::NoActionColumn {
            path: path.to_owned(),
            action: action.clone(),
            control: control.clone(),
        });
    };
    let mut arms = Vec::with_capacity(data.rows());
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    while reader.read_record(&mut record).map_err(csv_error)? {
        row += 1;
        let line = record.position().map_or(row + 1, csv::Position::line);
        let value = record.get(column).unwrap_or("").trim();
        let arm = if value == control {
            0
        } else if let Some(&i) = catalog.get(value) {
            i
        } else {
            return Err(TrainError::UnknownAction {
                path: path.to_owned(),
                row,
                line,
                column: action.as_str().into(),
                value: value.into(),
                catalog: catalog
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into(),
                control: control.as_str().into(),
            });
        };
        arms.push(arm);
    }
    let bytes = std::fs::read(path).map_err(|source| TrainError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok((data, arms, sha256_hex(&bytes)))
}

/// Each arm's rows (index 0 the control group), in file order.
pub(super) fn rows_by_arm(arm_of_row: &[usize], actions: usize) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); actions + 1];
    for (r, &arm) in arm_of_row.iter().enumerate() {
        rows[arm].push(r);
    }
    rows
}
