//! Broken bundles are refused with a reason naming the file; the registry serves what is valid.

use std::path::Path;

use bankscore::model_store::{load_bundle, ModelRegistry, RegistryError};

use crate::helpers::{copy_shipped, reseal, shipped_models};

/// Replaces the JSON value at `pointer` in model.json with raw text (which may be invalid JSON,
/// such as `NaN`, as a broken writer would produce), then reseals.
fn set_json(dir: &Path, pointer: &str, raw: &str) {
    let path = dir.join("model.json");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    *model.pointer_mut(pointer).expect("pointer exists") = serde_json::json!("__RAW__");
    std::fs::write(&path, model.to_string().replace("\"__RAW__\"", raw)).unwrap();
    reseal(dir);
}

/// Applies `change` to the parsed JSON of `file`, writes it back and reseals.
fn edit_json(dir: &Path, file: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(file);
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut value);
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    reseal(dir);
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_shipped_bundle_loads() {
    let m = load_bundle(&shipped_models().join("churn/v1")).expect("shipped bundle is valid");
    assert_eq!((m.id.name.as_str(), m.id.version.as_str()), ("churn", "v1"));
    assert_eq!(m.id.checksum.len(), 64);
    assert!(m.metadata.metrics.roc_auc > 0.8);
}

type Breakage = fn(&Path);

#[test]
fn each_broken_bundle_is_refused_with_its_own_reason() {
    let cases: Vec<(&str, Breakage, &str, &str)> = vec![
        (
            "truncated model file",
            |d| {
                let text = std::fs::read_to_string(d.join("model.json")).unwrap();
                std::fs::write(d.join("model.json"), &text[..text.len() / 2]).unwrap();
                reseal(d);
            },
            "model.json",
            "EOF while parsing",
        ),
        (
            "edited without resealing",
            |d| edit(d, "actions.toml", "cost = 80.0", "cost = 8.0"),
            "actions.toml",
            "checksum mismatch",
        ),
        (
            "missing manifest",
            |d| std::fs::remove_file(d.join("checksums.sha256")).unwrap(),
            "checksums.sha256",
            "cannot read",
        ),
        (
            "missing tier policy",
            |d| {
                std::fs::remove_file(d.join("policy.toml")).unwrap();
            },
            "policy.toml",
            "cannot read",
        ),
        (
            "NaN coefficient",
            |d| set_json(d, "/features/0/coefficient", "NaN"),
            "model.json",
            "expected value",
        ),
        (
            "infinite mean",
            |d| set_json(d, "/features/2/mean", "1e999"),
            "model.json",
            "number out of range",
        ),
        (
            "unknown feature",
            |d| {
                edit(
                    d,
                    "model.json",
                    "\"name\": \"age_years\"",
                    "\"name\": \"shoe_size\"",
                );
                reseal(d);
            },
            "model.json",
            "feature `shoe_size` is neither a CustomerProfile field",
        ),
        (
            "zero scale",
            |d| set_json(d, "/features/1/scale", "0.0"),
            "model.json",
            "feature `tenure_months`: scale is 0, expected > 0",
        ),
        (
            "no features",
            |d| set_json(d, "/features", "[]"),
            "model.json",
            "the model has no features",
        ),
        (
            "unordered tier cut-offs",
            |d| {
                edit(d, "policy.toml", "b_min_value = ", "b_min_value = 99999");
                reseal(d);
            },
            "policy.toml",
            "expected key_account_min_value",
        ),
        (
            "discount rate out of range",
            |d| {
                edit(
                    d,
                    "policy.toml",
                    "discount_rate = 0.08",
                    "discount_rate = 1.5",
                );
                reseal(d);
            },
            "policy.toml",
            "value.discount_rate is 1.5",
        ),
        (
            "uplift above one",
            |d| {
                edit(d, "actions.toml", "uplift = 0.45", "uplift = 4.5");
                reseal(d);
            },
            "actions.toml",
            "action `resolve_complaint`: uplift is 4.5",
        ),
        (
            "unknown action level",
            |d| {
                edit(
                    d,
                    "actions.toml",
                    "level = \"social\"",
                    "level = \"telepathic\"",
                );
                reseal(d);
            },
            "actions.toml",
            "unknown variant `telepathic`",
        ),
        (
            "golden example that does not reproduce",
            |d| {
                let path = d.join("golden.json");
                let mut golden: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let p = golden["examples"][3]["churn_probability"].as_f64().unwrap();
                golden["examples"][3]["churn_probability"] = serde_json::json!(p + 1e-9);
                std::fs::write(&path, golden.to_string()).unwrap();
                reseal(d);
            },
            "golden.json",
            "example 4: the model gives churn probability",
        ),
        (
            "coefficient edited after training",
            |d| set_json(d, "/features/5/coefficient", "0.5"),
            "golden.json",
            "does not reproduce",
        ),
        (
            "golden example missing a feature",
            |d| {
                edit_json(d, "golden.json", |g| {
                    g["examples"][0]["features"]
                        .as_object_mut()
                        .unwrap()
                        .remove("tenure_months");
                })
            },
            "golden.json",
            "example 1 has values for 21 features, model.json has 22: `tenure_months` is missing",
        ),
        (
            "golden example with a value too many",
            |d| {
                edit_json(d, "golden.json", |g| {
                    g["examples"][2]["features"]["extra.shoe_size"] = serde_json::json!(42.0);
                })
            },
            "golden.json",
            "example 3 has values for 23 features, model.json has 22: `extra.shoe_size` is not a \
             model.json feature",
        ),
        (
            "golden example naming a feature twice",
            |d| {
                edit(
                    d,
                    "golden.json",
                    "\"age_years\": ",
                    "\"age_years\": 41.0,\n        \"age_years\": ",
                );
                reseal(d);
            },
            "golden.json",
            "feature `age_years` is given twice",
        ),
        (
            "wrong feature count in the evaluation",
            |d| {
                edit_json(d, "evaluation.json", |e| {
                    e["coefficients"].as_array_mut().unwrap().pop();
                })
            },
            "evaluation.json",
            "the coefficient table lists 21 features, model.json has 22",
        ),
        (
            "evaluation of another feature",
            |d| {
                edit_json(d, "evaluation.json", |e| {
                    let deciles = e["feature_deciles"].as_object_mut().unwrap();
                    let edges = deciles.remove("age_years").unwrap();
                    deciles.insert("extra.shoe_size".into(), edges);
                })
            },
            "evaluation.json",
            "feature_deciles lists 22 features, as model.json, but `extra.shoe_size` is not a \
             model.json feature and `age_years` is missing",
        ),
        (
            "model card edited without resealing",
            |d| {
                std::fs::write(d.join("MODEL_CARD.md"), "# edited\n").unwrap();
            },
            "MODEL_CARD.md",
            "checksum mismatch",
        ),
        (
            "manifest without golden examples",
            |d| {
                let manifest = std::fs::read_to_string(d.join("checksums.sha256")).unwrap();
                let kept: String = manifest
                    .lines()
                    .filter(|l| !l.ends_with("golden.json"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                std::fs::write(d.join("checksums.sha256"), kept).unwrap();
            },
            "checksums.sha256",
            "does not list golden.json",
        ),
        (
            "future format version",
            |d| {
                edit(
                    d,
                    "model.json",
                    "\"format_version\": 1",
                    "\"format_version\": 9",
                );
                reseal(d);
            },
            "model.json",
            "format_version 9 is not supported",
        ),
    ];
    for (case, breakage, file, reason) in cases {
        let tmp = tempfile::tempdir().unwrap();
        copy_shipped(tmp.path(), "v1");
        let dir = copy_shipped(tmp.path(), "v2");
        breakage(&dir);
        let err = load_bundle(&dir).expect_err(case);
        assert_eq!(err.file, file, "{case}: {err}");
        assert!(
            err.problem.to_string().contains(reason),
            "{case}: got `{}`, want `{reason}`",
            err.problem
        );
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{case}: error names the bundle"
        );
        // Beside the valid v1, the newer broken v2 is never activated: v1 stays live.
        let registry = ModelRegistry::load_dir(tmp.path(), None)
            .expect(case)
            .registry;
        assert_eq!(registry.champion().id.version, "v1", "{case}");
        assert!(registry.resolve("v2").is_err(), "{case}: v2 was loaded");
        let refused = registry
            .rejected()
            .iter()
            .any(|r| r.version == "v2" && r.reason.contains(reason))
            || registry.incomplete() == ["v2"];
        assert!(refused, "{case}: {:?}", registry.rejected());
    }
}

#[test]
fn a_broken_newer_version_is_reported_and_the_valid_one_stays_live() {
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    let v2 = copy_shipped(tmp.path(), "v2");
    edit(&v2, "model.json", "\"intercept\"", "\"intercept_\"");
    let report = ModelRegistry::load_dir(tmp.path(), None).unwrap();
    assert_eq!(report.registry.champion().id.version, "v1");
    let rejected = report.registry.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].version, "v2");
    assert!(
        rejected[0].reason.contains("model.json"),
        "{:?}",
        rejected[0]
    );
    assert_eq!(report.problems.len(), 1);
}

#[test]
fn the_newest_valid_version_is_live_and_older_ones_can_be_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v9");
    copy_shipped(tmp.path(), "v10");
    let registry = ModelRegistry::load_dir(tmp.path(), None).unwrap().registry;
    assert_eq!(registry.champion().id.version, "v10");
    assert_eq!(registry.resolve("v9").unwrap().id.version, "v9");
    assert_eq!(registry.resolve("").unwrap().id.version, "v10");
    assert!(registry.resolve("v11").is_err());
}

#[test]
fn a_models_directory_without_a_valid_model_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        ModelRegistry::load_dir(tmp.path(), None),
        Err(RegistryError::NoModel(_))
    ));
    let v1 = copy_shipped(tmp.path(), "v1");
    std::fs::remove_file(v1.join("actions.toml")).unwrap();
    let err = ModelRegistry::load_dir(tmp.path(), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("model `churn` has no valid version"),
        "{err}"
    );
    assert!(
        err.to_string().contains("actions.toml: cannot read"),
        "{err}"
    );
    let missing = ModelRegistry::load_dir(&tmp.path().join("nowhere"), None).unwrap_err();
    assert!(matches!(missing, RegistryError::Io { .. }));
    assert!(matches!(
        ModelRegistry::load_dir(tmp.path(), Some("mortgage")),
        Err(RegistryError::UnknownModel(_))
    ));
}
