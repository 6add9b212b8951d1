//! Loading a model bundle directory, with every check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::checksum::{parse_manifest, sha256_hex};
use super::consistency::{check_evaluation, golden_values};
use super::format::{
    files, Evaluation, GoldenFile, ModelFile, ModelMetadata, PolicyFile, UpliftFile, UpliftKind,
    FORMAT_VERSION,
};
use crate::domain::{ActionCatalog, ChurnModel, ScoringModel, UpliftModels};

/// Which bundle answered: shown in every response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// A bundle that cannot be used, with the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("model bundle {}: {file}: {problem}", dir.display())]
pub struct BundleError {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The file at fault (or the directory itself).
    pub file: String,
    /// What is wrong.
    pub problem: String,
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
    let fail = |file: &str, problem: String| BundleError {
        dir: dir.to_owned(),
        file: file.to_owned(),
        problem,
    };
    let (name, version) = name_and_version(dir)
        .ok_or_else(|| fail(".", "expected a directory models/<name>/<version>/".into()))?;

    let manifest_bytes = std::fs::read(dir.join(files::CHECKSUMS))
        .map_err(|e| fail(files::CHECKSUMS, format!("cannot read: {e}")))?;
    let manifest_text = std::str::from_utf8(&manifest_bytes)
        .map_err(|_| fail(files::CHECKSUMS, "not UTF-8 text".into()))?;
    let manifest = parse_manifest(manifest_text).map_err(|e| fail(files::CHECKSUMS, e))?;

    for required in files::REQUIRED {
        if !manifest.iter().any(|(f, _)| f == required) {
            return Err(fail(files::CHECKSUMS, format!("does not list {required}")));
        }
    }
    let mut contents: BTreeMap<String, String> = BTreeMap::new();
    for (file, expected) in &manifest {
        let bytes =
            std::fs::read(dir.join(file)).map_err(|e| fail(file, format!("cannot read: {e}")))?;
        let actual = sha256_hex(&bytes);
        if &actual != expected {
            return Err(fail(
                file,
                format!("checksum mismatch: manifest says {expected}, file has {actual}"),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail(file, "not UTF-8 text".into()))?;
        contents.insert(file.clone(), text);
    }

    let model: ModelFile = serde_json::from_str(&contents[files::MODEL])
        .map_err(|e| fail(files::MODEL, e.to_string()))?;
    if model.format_version != FORMAT_VERSION {
        return Err(fail(
            files::MODEL,
            format!(
                "format_version {} is not supported (this build reads {FORMAT_VERSION})",
                model.format_version
            ),
        ));
    }
    if model.kind != "logistic_regression" {
        return Err(fail(
            files::MODEL,
            format!("kind `{}` is not supported", model.kind),
        ));
    }
    let churn = ChurnModel::new(model.intercept, model.features, model.horizon_months)
        .map_err(|e| fail(files::MODEL, e.to_string()))?;

    let policy: PolicyFile =
        toml::from_str(&contents[files::POLICY]).map_err(|e| fail(files::POLICY, e.to_string()))?;
    policy
        .value
        .validate()
        .map_err(|e| fail(files::POLICY, e.to_string()))?;
    policy
        .tiers
        .validate()
        .map_err(|e| fail(files::POLICY, e.to_string()))?;
    if let Some(exploration) = &policy.exploration {
        exploration
            .validate()
            .map_err(|e| fail(files::POLICY, e.to_string()))?;
    }
    if let Some(group) = &policy.control_group {
        group
            .validate()
            .map_err(|e| fail(files::POLICY, e.to_string()))?;
    }

    let actions: ActionCatalog = toml::from_str(&contents[files::ACTIONS])
        .map_err(|e| fail(files::ACTIONS, e.to_string()))?;
    actions
        .validate()
        .map_err(|e| fail(files::ACTIONS, e.to_string()))?;

    let uplift = load_uplift(&contents, &churn, &actions, &fail)?;

    let metadata: ModelMetadata = serde_json::from_str(&contents[files::METADATA])
        .map_err(|e| fail(files::METADATA, e.to_string()))?;
    let evaluation: Evaluation = serde_json::from_str(&contents[files::EVALUATION])
        .map_err(|e| fail(files::EVALUATION, e.to_string()))?;
    check_evaluation(churn.features(), &evaluation).map_err(|e| fail(files::EVALUATION, e))?;
    let golden: GoldenFile = serde_json::from_str(&contents[files::GOLDEN])
        .map_err(|e| fail(files::GOLDEN, e.to_string()))?;
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
    fail: &dyn Fn(&str, String) -> BundleError,
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
                "missing: uplift models need the control group's model".into(),
            )
        })?;
        let m: ModelFile = serde_json::from_str(text).map_err(|e| fail(file, e.to_string()))?;
        if m.kind != "logistic_regression" {
            return Err(fail(file, format!("kind `{}` is not supported", m.kind)));
        }
        ChurnModel::new(m.intercept, m.features, m.horizon_months)
            .map_err(|e| fail(file, e.to_string()))
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
            return Err(fail(file, "expected uplift/<action_id>.json".into()));
        };
        let arm = model(file)?;
        // Each file is checked on its own first, so the error names the file at fault.
        UpliftModels::new(
            base,
            catalog,
            control.clone(),
            vec![(action.to_owned(), arm.clone())],
        )
        .map_err(|e| fail(file, e.to_string()))?;
        arms.push((action.to_owned(), arm));
    }
    let models = UpliftModels::new(base, catalog, control, arms)
        .map_err(|e| fail(files::UPLIFT_CONTROL, e.to_string()))?;
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
) -> Result<(), String> {
    let text = contents
        .get(files::UPLIFT_EVALUATION)
        .ok_or("missing: the bundle has uplift models")?;
    let report: UpliftFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let listed: Vec<&str> = report.actions.iter().map(|a| a.action.as_str()).collect();
    let catalog_ids: Vec<&str> = catalog.actions.iter().map(|a| a.id.as_str()).collect();
    if listed != catalog_ids {
        return Err(format!(
            "lists actions {listed:?}, actions.toml has {catalog_ids:?}"
        ));
    }
    for (i, a) in report.actions.iter().enumerate() {
        let has_model = models.arm(i).is_some();
        if has_model != (a.uplift == UpliftKind::Learned) {
            return Err(format!(
                "`{}` is marked {:?} but uplift/{}.json {}",
                a.action,
                a.uplift,
                a.action,
                if has_model {
                    "exists"
                } else {
                    "does not exist"
                }
            ));
        }
    }
    Ok(())
}

/// Every golden example must reproduce its probability within the file's tolerance.
fn check_golden(churn: &ChurnModel, golden: &GoldenFile) -> Result<(), String> {
    if golden.examples.is_empty() {
        return Err("no golden examples".into());
    }
    if !(golden.tolerance.is_finite() && (0.0..=1e-6).contains(&golden.tolerance)) {
        return Err(format!(
            "tolerance {} is outside 0..=1e-6",
            golden.tolerance
        ));
    }
    for (i, example) in golden.examples.iter().enumerate() {
        // One value per model feature, checked here: probability_from_raw panics otherwise.
        let raw = golden_values(churn.features(), i + 1, example)?;
        let p = churn.probability_from_raw(&raw);
        let deviation = (p - example.churn_probability).abs();
        if deviation.is_nan() || deviation > golden.tolerance {
            return Err(format!(
                "example {}: the model gives churn probability {p}, the bundle recorded {}; it does not reproduce",
                i + 1,
                example.churn_probability
            ));
        }
    }
    Ok(())
}

fn name_and_version(dir: &Path) -> Option<(String, String)> {
    let version = dir.file_name()?.to_str()?.to_owned();
    let name = dir.parent()?.file_name()?.to_str()?.to_owned();
    Some((name, version))
}
