//! Learned uplift end to end: `train-uplift` on a campaign history writes a bundle whose `uplift/`
//! models the server uses (τ = p_control − p_action, recomputable from the files); bad history
//! is refused naming the column and row, with nothing written; a bundle whose uplift files are
//! broken is refused with its reason while the old version keeps serving.

use std::path::{Path, PathBuf};

use bankscore::domain::churn::ChurnModel;
use bankscore::model_store::format::{ModelFile, UpliftFile, UpliftKind};
use bankscore::model_store::{load_bundle, BundleProblem};
use bankscore::service::pb::{self, model_admin_service_client::ModelAdminServiceClient};
use bankscore::training::campaign_history::write_campaign_history_csv;
use bankscore::training::uplift::{train_uplift, UpliftSettings};

use crate::helpers::{context, copy_shipped, customer, reseal, spawn_app_on};

/// A seeded campaign history of `rows` customers (a quarter in the control group).
fn history(dir: &Path, rows: u64) -> PathBuf {
    let path = dir.join("history.csv");
    let file = std::fs::File::create(&path).unwrap();
    write_campaign_history_csv(file, rows, 5, 0.25).unwrap();
    path
}

/// Rewrites `path` with `edit` applied to each data row's fields (header names given).
fn edit_rows(path: &Path, mut edit: impl FnMut(usize, &[String], &mut Vec<String>)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let mut out = header.join(",") + "\n";
    for (i, line) in lines.enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        edit(i + 1, &header, &mut fields);
        if !fields.is_empty() {
            out += &(fields.join(",") + "\n");
        }
    }
    std::fs::write(path, out).unwrap();
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

fn model(dir: &Path, file: &str) -> ChurnModel {
    let m: ModelFile =
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    ChurnModel::new(m.intercept, m.features, m.horizon_months).unwrap()
}

#[tokio::test]
async fn the_server_decides_on_learned_uplift_that_a_validator_can_recompute_from_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let v1 = copy_shipped(&models, "v1");
    let v2 = models.join("churn/v2");
    let history = history(tmp.path(), 24_000);
    let mut settings = UpliftSettings::new(v1, history, v2.clone());
    settings.min_churners = 30;
    let report = train_uplift(&settings).expect("uplift trains");
    assert!(report
        .actions
        .iter()
        .filter(|a| a.uplift == UpliftKind::Learned)
        .all(|a| a.evaluation.as_ref().is_some_and(|e| e.deciles.len() == 10)));
    let written: UpliftFile =
        serde_json::from_str(&std::fs::read_to_string(v2.join("uplift/evaluation.json")).unwrap())
            .unwrap();
    assert_eq!(written, report);
    let card = std::fs::read_to_string(v2.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Learned uplift"), "{card}");
    // The card carries each learned action's evaluation: the top shares against random
    // targeting and the uplift-by-decile table, as in uplift/evaluation.json.
    for a in &report.actions {
        let Some(e) = &a.evaluation else { continue };
        let saved = e
            .top
            .iter()
            .map(|t| {
                format!(
                    " {:.1} | {:.1} |",
                    t.churners_saved_per_1000, t.random_saved_per_1000
                )
            })
            .collect::<String>();
        assert_eq!(e.top.len(), 3, "top 10%, 20% and 30%");
        assert!(
            card.contains(&format!("| `{}` |{saved}\n", a.action)),
            "{saved}\n{card}"
        );
        let deciles = e
            .deciles
            .iter()
            .map(|d| format!(" {:+.4} |", d.observed_uplift))
            .collect::<String>();
        assert!(
            card.contains(&format!("| `{}` |{deciles}\n", a.action)),
            "{card}"
        );
    }

    let mut app = spawn_app_on(&models).await;
    let control = model(&v2, "uplift/control.json");
    let mut learned_seen = 0;
    for seed in 0..40 {
        let profile = customer(seed);
        let reply = app
            .client
            .score(pb::ScoreRequest {
                context: context("uplift"),
                profile: Some((&profile).into()),
                max_reasons: 3,
                include_ineligible: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.model.unwrap().version, "v2");
        let decision = reply.decision.unwrap();
        for o in &decision.ranked {
            // EV = τ × value at risk − cost, whatever τ's source.
            let ev = o.uplift * decision.value_at_risk - o.cost;
            assert!((o.expected_value - ev).abs() < 1e-9, "{o:?}");
            if o.uplift_source() == pb::UpliftSource::Learned {
                learned_seen += 1;
                let arm = model(&v2, &format!("uplift/{}.json", o.action_id));
                assert_eq!(o.p_without_action, control.probability(&profile).unwrap());
                assert_eq!(o.p_with_action, arm.probability(&profile).unwrap());
                assert_eq!(o.uplift, o.p_without_action - o.p_with_action);
                assert!(
                    o.reason.contains("learned: p_churn without contact"),
                    "{}",
                    o.reason
                );
            }
            if o.uplift <= 0.0 {
                assert!(
                    o.reason.contains("contact would make leaving likelier"),
                    "{}",
                    o.reason
                );
            }
        }
        if let Some(best) = &decision.best {
            assert!(best.uplift > 0.0 && best.expected_value > 0.0, "{best:?}");
        }
    }
    assert!(learned_seen > 40, "learned options seen: {learned_seen}");

    // v3: an uplift model whose features are not model.json's is refused, v2 keeps serving.
    let v3 = models.join("churn/v3");
    std::fs::create_dir_all(v3.join("uplift")).unwrap();
    for entry in walk(&v2) {
        let rel = entry.strip_prefix(&v2).unwrap();
        std::fs::copy(&entry, v3.join(rel)).unwrap();
    }
    let arm_file = v3.join("uplift/rm_call.json");
    let mut arm: ModelFile =
        serde_json::from_str(&std::fs::read_to_string(&arm_file).unwrap()).unwrap();
    arm.features.swap(0, 1);
    std::fs::write(&arm_file, serde_json::to_string_pretty(&arm).unwrap()).unwrap();
    reseal(&v3);
    let err = load_bundle(&v3).unwrap_err();
    assert_eq!(err.file, "uplift/rm_call.json");
    assert!(
        err.problem.to_string().contains("rm_call: feature 1 is"),
        "{err}"
    );
    // A learned action's model file missing: uplift/evaluation.json no longer matches.
    let v4 = models.join("churn/.v4");
    std::fs::create_dir_all(v4.join("uplift")).unwrap();
    for entry in walk(&v2) {
        std::fs::copy(&entry, v4.join(entry.strip_prefix(&v2).unwrap())).unwrap();
    }
    std::fs::remove_file(v4.join("uplift/fee_waiver.json")).unwrap();
    reseal(&v4);
    let err = load_bundle(&v4).unwrap_err();
    assert_eq!(err.file, "uplift/evaluation.json", "{err}");
    assert!(
        matches!(
            &err.problem,
            BundleProblem::UpliftMarking { action, marked: UpliftKind::Learned, has_model: false }
                if action == "fee_waiver"
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("`fee_waiver` is marked Learned but uplift/fee_waiver.json does not exist"),
        "{err}"
    );
    std::fs::remove_dir_all(&v4).unwrap();

    let mut admin = ModelAdminServiceClient::new(app.channel.clone());
    let list = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .unwrap();
    let v3_state = list.versions.iter().find(|v| v.version == "v3").unwrap();
    assert_eq!(v3_state.state(), pb::VersionState::Rejected);
    assert!(
        v3_state.load_error.contains("uplift/rm_call.json"),
        "{v3_state:?}"
    );
    let reply = app
        .client
        .score(pb::ScoreRequest {
            context: context("after"),
            profile: Some((&customer(1)).into()),
            max_reasons: 3,
            include_ineligible: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().version, "v2");
    app.stop().await.unwrap();
}

/// The decisions `Score` gives `n` customers, each with its own id.
async fn decisions(app: &mut crate::helpers::TestApp, n: u64) -> Vec<pb::RetentionDecision> {
    let mut out = Vec::new();
    for seed in 0..n {
        let reply = app
            .client
            .score(pb::ScoreRequest {
                context: context("decisions"),
                profile: Some((&with_id(customer(seed), seed)).into()),
                max_reasons: 0,
                include_ineligible: false,
            })
            .await
            .unwrap()
            .into_inner();
        out.push(reply.decision.unwrap());
    }
    out
}

/// `p` with its own customer id (the helper's customers all share the generator's first id, and
/// exploration and the control group draw by id).
fn with_id(
    mut p: bankscore::domain::CustomerProfile,
    seed: u64,
) -> bankscore::domain::CustomerProfile {
    p.customer_id = format!("C-{seed}");
    p
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn an_action_with_too_little_data_keeps_its_prior_and_is_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let v1 = copy_shipped(&models, "v1");
    let history = history(tmp.path(), 16_000);
    // Keep only 60 of rm_call's customers.
    let mut kept = 0;
    edit_rows(&history, |_, header, fields| {
        if fields[column(header, "action")] == "rm_call" {
            kept += 1;
            if kept > 60 {
                fields.clear();
            }
        }
    });
    let out = models.join("churn/v2");
    let mut settings = UpliftSettings::new(v1, history, out.clone());
    settings.min_churners = 20;
    let report = train_uplift(&settings).unwrap();
    let rm_call = report
        .actions
        .iter()
        .find(|a| a.action == "rm_call")
        .unwrap();
    assert_eq!(rm_call.uplift, UpliftKind::Prior);
    assert_eq!(rm_call.treated_rows, 60);
    assert!(
        rm_call
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("at least 20 of each needed")),
        "{rm_call:?}"
    );
    assert!(!out.join("uplift/rm_call.json").exists());
    assert!(out.join("uplift/fee_waiver.json").exists());
    let loaded = load_bundle(&out).unwrap();
    let uplift = loaded.scoring.uplift.expect("learned uplift loads");
    let rm = loaded
        .scoring
        .actions
        .actions
        .iter()
        .position(|a| a.id == "rm_call")
        .unwrap();
    assert!(uplift.arm(rm).is_none());
}

#[test]
fn bad_campaign_history_is_refused_naming_the_column_and_row_and_nothing_is_written() {
    type Edit = Box<dyn FnMut(usize, &[String], &mut Vec<String>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "an unknown action id",
            Box::new(|row, h, f| {
                if row == 7 {
                    f[column(h, "action")] = "mass_mailing".into();
                }
            }),
            "row 7 (line 8), column `action`: `mass_mailing` is not an action of the bundle's catalog",
        ),
        (
            "no control rows",
            Box::new(|_, h, f| {
                let a = column(h, "action");
                if f[a] == "control" {
                    f[a] = "fee_waiver".into();
                }
            }),
            "no `control` rows",
        ),
        (
            "an outcome other than 0/1",
            Box::new(|row, h, f| {
                if row == 12 {
                    f[column(h, "churned")] = "2".into();
                }
            }),
            "row 12 (line 13), label `churned`: `2` is not 0/1 or true/false",
        ),
        (
            "a feature value that is not a number",
            Box::new(|row, h, f| {
                if row == 3 {
                    f[column(h, "tenure_months")] = "long".into();
                }
            }),
            "row 3 (line 4), column `tenure_months`: `long` is not a finite number",
        ),
        (
            "a control group below the minimum",
            Box::new(|_, h, f| {
                let a = column(h, "action");
                if f[a] == "control" && f[column(h, "customer_id")].ends_with("77") {
                    return;
                }
                if f[a] == "control" {
                    f.clear();
                }
            }),
            "the control group is too small",
        ),
    ];
    for (what, mut edit, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let models = tmp.path().join("models");
        let v1 = copy_shipped(&models, "v1");
        let history = history(tmp.path(), 4_000);
        edit_rows(&history, |row, h, f| edit(row, h, f));
        let out = models.join("churn/v2");
        let mut settings = UpliftSettings::new(v1, history, out.clone());
        settings.min_churners = 10;
        let err = bankscore::one_line(&train_uplift(&settings).unwrap_err());
        assert!(err.contains(expected), "{what}: {err}");
        assert!(!out.exists(), "{what}: {} was written", out.display());
    }
}

#[tokio::test]
async fn with_exploration_the_server_sometimes_takes_another_action_worth_taking_and_says_how_likely(
) {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = copy_shipped(tmp.path(), "v1");
    let policy = std::fs::read_to_string(v1.join("policy.toml")).unwrap();
    std::fs::write(
        v1.join("policy.toml"),
        policy.clone() + "\n[exploration]\nepsilon = 1.0\nsalt = \"2026-12\"\n",
    )
    .unwrap();
    reseal(&v1);
    let err = load_bundle(&v1).unwrap_err();
    assert_eq!(err.file, "policy.toml");
    assert!(
        err.problem
            .to_string()
            .contains("exploration.epsilon is 1, expected 0 <= ε < 1"),
        "{err}"
    );
    std::fs::write(
        v1.join("policy.toml"),
        policy + "\n[exploration]\nepsilon = 0.4\nsalt = \"2026-12\"\n",
    )
    .unwrap();
    reseal(&v1);

    let mut app = spawn_app_on(tmp.path()).await;
    let (mut explored, mut taken) = (0, 0);
    for d in decisions(&mut app, 300).await {
        let k = d.ranked.iter().filter(|o| o.expected_value > 0.0).count() as f64;
        match &d.best {
            None => assert_eq!(d.propensity, 1.0),
            Some(best) if d.explored => {
                explored += 1;
                assert_ne!(best.action_id, d.ranked[0].action_id);
                assert!((d.propensity - 0.4 / k).abs() < 1e-12, "{d:?}");
                assert!(d.reason.contains("chosen by exploration"), "{}", d.reason);
            }
            Some(best) => {
                taken += 1;
                assert_eq!(best.action_id, d.ranked[0].action_id);
                let want = if k > 1.0 { 0.6 + 0.4 / k } else { 1.0 };
                assert!((d.propensity - want).abs() < 1e-12, "{d:?}");
            }
        }
    }
    assert!(
        explored > 0 && taken > explored,
        "explored {explored}, taken {taken}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_control_group_customer_gets_no_action_and_the_reply_names_the_withheld_one() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = copy_shipped(tmp.path(), "v1");
    let policy = std::fs::read_to_string(v1.join("policy.toml")).unwrap();
    std::fs::write(
        v1.join("policy.toml"),
        policy + "\n[control_group]\nshare = 0.3\nsalt = \"2026-12\"\n",
    )
    .unwrap();
    reseal(&v1);
    let mut app = spawn_app_on(tmp.path()).await;
    let (mut held, mut acted) = (0, 0);
    for d in decisions(&mut app, 300).await {
        if d.control_group {
            held += 1;
            assert_eq!(d.kind(), pb::DecisionKind::NoAction);
            assert!(d.best.is_none());
            let withheld = d.withheld.as_ref().unwrap();
            assert_eq!(withheld.action_id, d.ranked[0].action_id);
            assert!(withheld.expected_value > 0.0);
            assert!(d.reason.contains("control group"), "{}", d.reason);
            assert_eq!(d.propensity, 0.3);
        } else if d.best.is_some() {
            acted += 1;
            assert!(d.withheld.is_none());
            assert!((d.propensity - 0.7).abs() < 1e-12, "{d:?}");
        } else {
            assert_eq!(d.propensity, 1.0);
        }
    }
    assert!(held > 0 && acted > held, "held {held}, acted {acted}");
    app.stop().await.unwrap();
}

#[test]
fn a_parquet_history_learns_the_same_models_as_its_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let v1 = copy_shipped(&models, "v1");
    let csv = history(tmp.path(), 8_000);
    let parquet = tmp.path().join("history.parquet");
    bankscore::batch::file_format::csv_to_parquet(&csv, &parquet).unwrap();
    let mut outs = Vec::new();
    for (file, version) in [(csv, "v2"), (parquet, "v3")] {
        let out = models.join("churn").join(version);
        let mut settings = UpliftSettings::new(v1.clone(), file, out.clone());
        settings.min_churners = 10;
        train_uplift(&settings).unwrap();
        outs.push(out);
    }
    let mut compared = 0;
    for entry in std::fs::read_dir(outs[0].join("uplift")).unwrap() {
        let name = entry.unwrap().file_name();
        if name == "evaluation.json" {
            continue;
        }
        let read = |dir: &Path| std::fs::read(dir.join("uplift").join(&name)).unwrap();
        assert_eq!(read(&outs[0]), read(&outs[1]), "{name:?}");
        compared += 1;
    }
    assert_eq!(compared, 8, "control and 7 actions");
}

#[test]
fn another_experiments_columns_are_read_by_naming_them_and_a_stayed_outcome_is_inverted() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let v1 = copy_shipped(&models, "v1");
    let ours = history(tmp.path(), 8_000);
    // The same campaign as another experiment would publish it: `segment` with `no_offer` for
    // the control group, and `visit` = 1 when the customer stayed.
    let theirs = tmp.path().join("experiment.csv");
    std::fs::copy(&ours, &theirs).unwrap();
    edit_rows(&theirs, |_, h, f| {
        let (a, y) = (column(h, "action"), column(h, "churned"));
        if f[a] == "control" {
            f[a] = "no_offer".into();
        }
        f[y] = if f[y] == "1" { "0".into() } else { "1".into() };
    });
    let text = std::fs::read_to_string(&theirs).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let header = header
        .replace(",action,", ",segment,")
        .replace(",churned,", ",visit,");
    std::fs::write(&theirs, format!("{header}\n{rest}")).unwrap();

    let mut ours_settings = UpliftSettings::new(v1.clone(), ours, models.join("churn/v2"));
    ours_settings.min_churners = 10;
    train_uplift(&ours_settings).unwrap();
    let mut settings = UpliftSettings::new(v1, theirs, models.join("churn/v3"));
    settings.min_churners = 10;
    settings.columns = bankscore::training::uplift::HistoryColumns {
        action: "segment".into(),
        control: "no_offer".into(),
        outcome: "visit".into(),
        outcome_means_stayed: true,
    };
    train_uplift(&settings).unwrap();
    for file in ["control.json", "rm_call.json", "fee_waiver.json"] {
        let read = |v: &str| {
            std::fs::read(models.join("churn").join(v).join("uplift").join(file)).unwrap()
        };
        assert_eq!(read("v2"), read("v3"), "{file}");
    }
    // Without naming them, the file is refused with the column it lacks.
    let mut unnamed = UpliftSettings::new(
        models.join("churn/v1"),
        tmp.path().join("experiment.csv"),
        models.join("churn/v4"),
    );
    unnamed.min_churners = 10;
    let err = bankscore::one_line(&train_uplift(&unnamed).unwrap_err());
    assert!(err.contains("`churned`"), "{err}");
    assert!(!models.join("churn/v4").exists());
}

/// `bankscore uplift` writes, per customer and learned action, the τ the server decides on; a
/// bad row is named and nothing is written; a bundle without learned uplift is refused.
#[tokio::test]
async fn the_uplift_command_writes_the_tau_the_server_decides_on_and_refuses_bad_rows() {
    use bankscore::training::synthetic::{write_csv, Generator};
    let bin = env!("CARGO_BIN_EXE_bankscore");
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let v1 = copy_shipped(&models, "v1");
    let v2 = models.join("churn/v2");
    let mut settings = UpliftSettings::new(v1.clone(), history(tmp.path(), 12_000), v2.clone());
    settings.min_churners = 30;
    let report = train_uplift(&settings).expect("uplift trains");
    let learned: Vec<&str> = report
        .actions
        .iter()
        .filter(|a| a.uplift == UpliftKind::Learned)
        .map(|a| a.action.as_str())
        .collect();
    assert!(learned.len() >= 5, "{learned:?}");

    let customers = tmp.path().join("customers.csv");
    write_csv(std::fs::File::create(&customers).unwrap(), 200, 9).unwrap();
    let out = tmp.path().join("tau.csv");
    let run = |bundle: &Path, input: &Path| {
        std::process::Command::new(bin)
            .arg("uplift")
            .arg("--bundle")
            .arg(bundle)
            .arg("--input")
            .arg(input)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let done = run(&v2, &customers);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let mut expected = vec!["customer_id".to_owned(), "p_control".to_owned()];
    for a in &learned {
        expected.extend([format!("p.{a}"), format!("tau.{a}")]);
    }
    assert_eq!(header, expected);
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 200);

    let mut app = spawn_app_on(&models).await;
    let mut generator = Generator::new(9);
    let mut compared = 0;
    for row in &rows {
        let profile = generator.next_customer().profile;
        let reply = app
            .client
            .score(pb::ScoreRequest {
                context: context("uplift-file"),
                profile: Some((&profile).into()),
                max_reasons: 0,
                include_ineligible: false,
            })
            .await
            .unwrap()
            .into_inner();
        for o in reply.decision.unwrap().ranked {
            if o.uplift_source() != pb::UpliftSource::Learned {
                continue;
            }
            let k = learned.iter().position(|a| *a == o.action_id).unwrap();
            assert_eq!(row[0], o.p_without_action, "{}", profile.customer_id);
            assert_eq!(row[1 + 2 * k], o.p_with_action, "{}", profile.customer_id);
            assert_eq!(row[2 + 2 * k], o.uplift, "{}", profile.customer_id);
            compared += 1;
        }
    }
    app.stop().await.unwrap();
    assert!(compared > 100, "only {compared} learned options compared");

    // A bad value is named by line and field, and the earlier file is left as it was.
    let bad = tmp.path().join("bad.csv");
    let mut text = std::fs::read_to_string(&customers).unwrap();
    let header_line = text.lines().next().unwrap().to_owned();
    let tenure = header_line
        .split(',')
        .position(|h| h == "tenure_months")
        .unwrap();
    let mut edited: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut fields: Vec<String> = edited[5].split(',').map(str::to_owned).collect();
    fields[tenure] = "-3".into();
    edited[5] = fields.join(",");
    text = edited.join("\n") + "\n";
    std::fs::write(&bad, text).unwrap();
    let before = std::fs::read(&out).unwrap();
    let refused = run(&v2, &bad);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("bad.csv line 6, field profile.tenure_months:")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the output is untouched"
    );

    let refused = run(&v1, &customers);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("has no learned uplift"), "{stderr}");
}
