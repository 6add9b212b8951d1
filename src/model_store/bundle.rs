//! Loading a model bundle directory, with every check.

use std::collections::BTreeMap;
use std::path::Path;

use super::checksum::{parse_manifest, sha256_hex};
use super::consistency::{check_evaluation, golden_values};
use super::error::{BundleError, BundleProblem};
use super::format::{
    files, Evaluation, GoldenFile, ModelFile, ModelMetadata, PolicyFile, UpliftFile, UpliftKind,
    FORMAT_VERSION,
};
use crate::domain::{ActionCatalog, ChurnModel, ScoringModel, UpliftModels};

/// Which bundle answered: shown in every response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ModelId {
    /// Model name (directory under `models/`).
    pub name: String,
    /// Version (directory under `models/<name>/`).
    pub version: String,
    /// SHA-256 of `checksums.sha256`: identifies every file of the bundle.
    pub checksum: String,
}

/// A validated bundle, ready to score.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// Identity.
    pub id: ModelId,
    /// The scoring core's model.
    pub scoring: ScoringModel,
    /// Training metadata.
    pub metadata: ModelMetadata,
    /// Evaluation report (calibration, lift, distributions).
    pub evaluation: Evaluation,
    /// Golden examples checked at load.
    pub golden: GoldenFile,
}

/// Reads and checks the bundle in `dir` (`.../<name>/<version>/`).
///
/// Checks, in order: the manifest covers every required file and every listed file's checksum
/// matches; each file parses; every number is finite and in range; every feature is known;
/// `evaluation.json` and every golden example name exactly the features of `model.json`; every
/// golden example reproduces its recorded probability.
///
/// # Errors
/// The first problem found, naming the file.
pub fn load_bundle(dir: &Path) -> Result<LoadedModel, BundleError> {
    let fail = |file: &str, problem: BundleProblem| BundleError {
        dir: dir.to_owned(),
        file: file.to_owned(),
        problem,
    };
    let (name, version) =
        name_and_version(dir).ok_or_else(|| fail(".", BundleProblem::NotAVersionDirectory))?;

    let manifest_bytes = std::fs::read(dir.join(files::CHECKSUMS))
        .map_err(|e| fail(files::CHECKSUMS, BundleProblem::Unreadable(e)))?;
    let manifest_text = std::str::from_utf8(&manifest_bytes)
        .map_err(|_| fail(files::CHECKSUMS, BundleProblem::NotText))?;
    let manifest = parse_manifest(manifest_text).map_err(|e| fail(files::CHECKSUMS, e))?;

    for required in files::REQUIRED {
        if !manifest.iter().any(|(f, _)| f == required) {
            return Err(fail(files::CHECKSUMS, BundleProblem::NotListed(required)));
        }
    }
    let mut contents: BTreeMap<String, String> = BTreeMap::new();
    for (file, expected) in &manifest {
        let bytes =
            std::fs::read(dir.join(file)).map_err(|e| fail(file, BundleProblem::Unreadable(e)))?;
        let actual = sha256_hex(&bytes);
        if &actual != expected {
            return Err(fail(
                file,
                BundleProblem::ChecksumMismatch {
                    expected: expected.clone(),
                    actual,
                },
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail(file, BundleProblem::NotText))?;
        contents.insert(file.clone(), text);
    }

    let model: ModelFile =
        serde_json::from_str(&contents[files::MODEL]).map_err(|e| fail(files::MODEL, syntax(e)))?;
    if model.format_version != FORMAT_VERSION {
        let found = model.format_version;
        return Err(fail(files::MODEL, BundleProblem::FormatVersion { found }));
    }
    if model.kind != "logistic_regression" {
        return Err(fail(files::MODEL, BundleProblem::Kind(model.kind)));
    }
    let churn = ChurnModel::new(model.intercept, model.features, model.horizon_months)
        .map_err(|e| fail(files::MODEL, BundleProblem::refused(e)))?;

    let policy: PolicyFile =
        toml::from_str(&contents[files::POLICY]).map_err(|e| fail(files::POLICY, syntax(e)))?;
    policy
        .value
        .validate()
        .map_err(|e| fail(files::POLICY, BundleProblem::refused(e)))?;
    policy
        .tiers
        .validate()
        .map_err(|e| fail(files::POLICY, BundleProblem::refused(e)))?;
    if let Some(exploration) = &policy.exploration {
        exploration
            .validate()
            .map_err(|e| fail(files::POLICY, BundleProblem::refused(e)))?;
    }
    if let Some(group) = &policy.control_group {
        group
            .validate()
            .map_err(|e| fail(files::POLICY, BundleProblem::refused(e)))?;
    }

    let actions: ActionCatalog =
        toml::from_str(&contents[files::ACTIONS]).map_err(|e| fail(files::ACTIONS, syntax(e)))?;
    actions
        .validate()
        .map_err(|e| fail(files::ACTIONS, BundleProblem::refused(e)))?;

    let uplift = load_uplift(&contents, &churn, &actions, &fail)?;

    let metadata: ModelMetadata = serde_json::from_str(&contents[files::METADATA])
        .map_err(|e| fail(files::METADATA, syntax(e)))?;
    let evaluation: Evaluation = serde_json::from_str(&contents[files::EVALUATION])
        .map_err(|e| fail(files::EVALUATION, syntax(e)))?;
    check_evaluation(churn.features(), &evaluation)
        .map_err(|e| fail(files::EVALUATION, e.into()))?;
    let golden: GoldenFile = serde_json::from_str(&contents[files::GOLDEN])
        .map_err(|e| fail(files::GOLDEN, syntax(e)))?;
    check_golden(&churn, &golden).map_err(|e| fail(files::GOLDEN, e))?;

    Ok(LoadedModel {
        id: ModelId {
            name,
            version,
            checksum: sha256_hex(&manifest_bytes),
        },
        scoring: ScoringModel {
            churn,
            value: policy.value,
            tiers: policy.tiers,
            actions,
            uplift,
            exploration: policy.exploration,
            control_group: policy.control_group,
        },
        metadata,
        evaluation,
        golden,
    })
}

/// The learned uplift models the manifest lists (`uplift/*.json`), checked against `model.json`
/// and the catalog; `None` when it lists none.
fn load_uplift(
    contents: &BTreeMap<String, String>,
    base: &ChurnModel,
    catalog: &ActionCatalog,
    fail: &dyn Fn(&str, BundleProblem) -> BundleError,
) -> Result<Option<UpliftModels>, BundleError> {
    let prefix = format!("{}/", files::UPLIFT_DIR);
    let listed: Vec<&String> = contents
        .keys()
        .filter(|f| f.starts_with(&prefix) && f.as_str() != files::UPLIFT_EVALUATION)
        .collect();
    if listed.is_empty() {
        return Ok(None);
    }
    let model = |file: &str| -> Result<ChurnModel, BundleError> {
        let text = contents.get(file).ok_or_else(|| {
            fail(
                file,
                BundleProblem::Missing("uplift models need the control group's model"),
            )
        })?;
        let m: ModelFile = serde_json::from_str(text).map_err(|e| fail(file, syntax(e)))?;
        if m.kind != "logistic_regression" {
            return Err(fail(file, BundleProblem::Kind(m.kind)));
        }
        ChurnModel::new(m.intercept, m.features, m.horizon_months)
            .map_err(|e| fail(file, BundleProblem::refused(e)))
    };
    let control = model(files::UPLIFT_CONTROL)?;
    let mut arms = Vec::new();
    for file in listed {
        if file == files::UPLIFT_CONTROL {
            continue;
        }
        let Some(action) = file
            .strip_prefix(&prefix)
            .and_then(|f| f.strip_suffix(".json"))
        else {
            return Err(fail(file, BundleProblem::UpliftFileName));
        };
        let arm = model(file)?;
        // Each file is checked on its own first, so the error names the file at fault.
        UpliftModels::new(
            base,
            catalog,
            control.clone(),
            vec![(action.to_owned(), arm.clone())],
        )
        .map_err(|e| fail(file, BundleProblem::refused(e)))?;
        arms.push((action.to_owned(), arm));
    }
    let models = UpliftModels::new(base, catalog, control, arms)
        .map_err(|e| fail(files::UPLIFT_CONTROL, BundleProblem::refused(e)))?;
    check_uplift_evaluation(contents, catalog, &models)
        .map_err(|e| fail(files::UPLIFT_EVALUATION, e))?;
    Ok(Some(models))
}

/// `uplift/evaluation.json` must parse and say, for every catalog action, what the bundle holds:
/// `learned` exactly for the actions with a model file.
fn check_uplift_evaluation(
    contents: &BTreeMap<String, String>,
    catalog: &ActionCatalog,
    models: &UpliftModels,
) -> Result<(), BundleProblem> {
    let text = contents
        .get(files::UPLIFT_EVALUATION)
        .ok_or(BundleProblem::Missing("the bundle has uplift models"))?;
    let report: UpliftFile = serde_json::from_str(text).map_err(syntax)?;
    let listed: Vec<&str> = report.actions.iter().map(|a| a.action.as_str()).collect();
    let catalog_ids: Vec<&str> = catalog.actions.iter().map(|a| a.id.as_str()).collect();
    if listed != catalog_ids {
        let owned = |ids: Vec<&str>| ids.into_iter().map(str::to_owned).collect();
        return Err(BundleProblem::UpliftActions {
            listed: owned(listed),
            catalog: owned(catalog_ids),
        });
    }
    for (i, a) in report.actions.iter().enumerate() {
        let has_model = models.arm(i).is_some();
        if has_model != (a.uplift == UpliftKind::Learned) {
            return Err(BundleProblem::UpliftMarking {
                action: a.action.clone(),
                marked: a.uplift,
                has_model,
            });
        }
    }
    Ok(())
}

/// Every golden example must reproduce its probability within the file's tolerance.
fn check_golden(churn: &ChurnModel, golden: &GoldenFile) -> Result<(), BundleProblem> {
    if golden.examples.is_empty() {
        return Err(BundleProblem::NoGoldenExamples);
    }
    if !(golden.tolerance.is_finite() && (0.0..=1e-6).contains(&golden.tolerance)) {
        return Err(BundleProblem::GoldenTolerance(golden.tolerance));
    }
    for (i, example) in golden.examples.iter().enumerate() {
        // One value per model feature, checked here: probability_from_raw panics otherwise.
        let raw = golden_values(churn.features(), i + 1, example)?;
        let p = churn.probability_from_raw(&raw);
        let deviation = (p - example.churn_probability).abs();
        if deviation.is_nan() || deviation > golden.tolerance {
            return Err(BundleProblem::GoldenMismatch {
                number: i + 1,
                got: p,
                recorded: example.churn_probability,
            });
        }
    }
    Ok(())
}

/// A file that does not parse, with the parser's message.
fn syntax(e: impl std::fmt::Display) -> BundleProblem {
    BundleProblem::Syntax(e.to_string())
}

fn name_and_version(dir: &Path) -> Option<(String, String)> {
    let version = dir.file_name()?.to_str()?.to_owned();
    let name = dir.parent()?.file_name()?.to_str()?.to_owned();
    Some((name, version))
}
