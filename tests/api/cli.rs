//! The `bankscore` binary itself: `serve` on the shipped model, its refusal of a bad models
//! directory, and a clean exit on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

use crate::helpers::{copy_shipped, shipped_models};
use crate::serve_process::ServeProcess;

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");

#[test]
fn serve_refuses_to_start_without_a_valid_model_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
            "--models-dir",
        ])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no model"), "{stderr}");
}

/// Starts `bankscore serve` on `models` and port 0; returns it and its address.
fn start_server(models: &std::path::Path) -> (ServeProcess, String) {
    let mut server = ServeProcess::local(models, &[], &[]);
    let address = server.address();
    (server, address)
}

async fn connect(address: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn serve_runs_the_shipped_model_and_exits_cleanly_on_sigterm() {
    let (server, address) = start_server(&shipped_models());
    let mut health = HealthClient::new(connect(&address).await);
    let status = health
        .check(HealthCheckRequest {
            service: "bankscore.v1.ScoringService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);
    server.signal("-TERM");
    let (exit, log) = server.exit().await;
    assert!(
        exit.success(),
        "exit status {exit:?}; log:\n{}",
        log.join("\n")
    );
}

/// Runs `bankscore health` with `args`; returns its exit code, stdout and stderr.
async fn health_command(args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = Command::new(BIN);
    command.arg("health").args(args).env("RUST_BACKTRACE", "1");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn health_command_succeeds_only_while_serving_and_says_why_not_in_one_line() {
    let (server, address) = start_server(&shipped_models());
    let target = format!("http://{address}");
    for service in ["", "bankscore.v1.ScoringService"] {
        let (code, stdout, stderr) =
            health_command(&["--target", &target, "--service", service]).await;
        assert_eq!((code, stdout.as_str()), (Some(0), "SERVING"), "{stderr}");
    }
    let (code, _, stderr) = health_command(&["--target", &target, "--service", "no.Such"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("NotFound"),
        "{stderr}"
    );
    server.signal("-TERM");
    assert!(server.exit().await.0.success());

    // Nobody listens there any more: a failure within the timeout, in one line.
    let started = Instant::now();
    let (code, _, stderr) = health_command(&["--target", &target, "--timeout", "2s"]).await;
    assert_eq!(code, Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&address), "{stderr}");
}

#[tokio::test]
async fn sighup_reloads_the_models_directory() {
    use bankscore::service::pb::{
        model_admin_service_client::ModelAdminServiceClient, ListModelsRequest,
    };
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    let (server, address) = start_server(tmp.path());
    let mut admin = ModelAdminServiceClient::new(connect(&address).await);
    assert_eq!(
        admin
            .list_models(ListModelsRequest {})
            .await
            .unwrap()
            .into_inner()
            .reloads_total,
        0
    );
    server.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        let list = admin
            .list_models(ListModelsRequest {})
            .await
            .unwrap()
            .into_inner();
        if let Some(last) = list.last_reload {
            break last;
        }
        assert!(Instant::now() < deadline, "no reload after SIGHUP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(last.trigger, "sighup");
    assert!(last.applied && last.problems.is_empty(), "{last:?}");
    server.signal("-TERM");
    assert!(server.exit().await.0.success());
}

#[test]
fn validate_exits_non_zero_with_the_reason_for_a_bad_bundle_and_zero_for_a_good_one() {
    let ok = Command::new(BIN)
        .arg("validate")
        .arg(shipped_models().join("churn/v1"))
        .output()
        .unwrap();
    assert!(ok.status.success());
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("20 golden examples reproduce"), "{stdout}");

    let tmp = tempfile::tempdir().unwrap();
    let bad = copy_shipped(tmp.path(), "v2");
    std::fs::write(bad.join("golden.json"), "{}").unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("golden.json: checksum mismatch"),
        "{stderr}"
    );
}

#[test]
fn reseal_makes_an_edited_catalog_pass_its_checksums_and_validate_then_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let v2 = copy_shipped(tmp.path(), "v2");
    let run = |cmd: &str| Command::new(BIN).arg(cmd).arg(&v2).output().unwrap();
    let actions = v2.join("actions.toml");
    let catalog = std::fs::read_to_string(&actions).unwrap();
    std::fs::write(&actions, catalog.replacen("cost = 80.0", "cost = 95.0", 1)).unwrap();
    let refused = run("validate");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("actions.toml: checksum mismatch"));

    let resealed = run("reseal");
    let stdout = String::from_utf8_lossy(&resealed.stdout);
    assert!(resealed.status.success(), "{stdout}");
    assert!(
        stdout.contains("checksums.sha256 now lists model.json, policy.toml, actions.toml"),
        "{stdout}"
    );
    let ok = run("validate");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // Resealing does not make a bad edit acceptable: validate still names the problem.
    std::fs::write(
        &actions,
        catalog.replacen("uplift = 0.45", "uplift = 4.5", 1),
    )
    .unwrap();
    assert!(run("reseal").status.success());
    let bad = run("validate");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("uplift is 4.5"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn deploy_declares_champion_and_challenger_after_checking_them() {
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    let deploy = |args: &[&str]| {
        Command::new(BIN)
            .args(["deploy", "--model", "churn", "--models-dir"])
            .arg(tmp.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(deploy(&["--champion", "v1"]).status.success());
    let file = std::fs::read_to_string(tmp.path().join("churn/deployment.toml")).unwrap();
    assert!(file.contains("champion = \"v1\""), "{file}");
    let missing = deploy(&["--challenger", "v9"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("version v9 cannot be deployed"));
    let unchanged = std::fs::read_to_string(tmp.path().join("churn/deployment.toml")).unwrap();
    assert_eq!(
        unchanged, file,
        "a refused deploy leaves the file as it was"
    );
}

#[test]
fn generate_campaign_history_writes_its_columns_with_catalog_actions_and_refuses_a_bad_share() {
    use bankscore::domain::profile::BuiltinFeature;
    use bankscore::training::campaign_history::{CAMPAIGN_ACTIONS, CONTROL};

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("campaign.csv");
    let out = Command::new(BIN)
        .args(["generate", "--campaign-history", "--control-share", "0.3"])
        .args(["--rows", "500", "--seed", "4", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut expected = vec!["customer_id".to_owned()];
    expected.extend(BuiltinFeature::ALL.iter().map(|f| f.name().to_owned()));
    expected.extend(["action", "propensity", "churned"].map(str::to_owned));
    expected.extend(CAMPAIGN_ACTIONS.iter().map(|a| format!("true_uplift.{a}")));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, expected);
    let action = header.iter().position(|h| h == "action").unwrap();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let a = &record[action];
        assert!(
            a == CONTROL || CAMPAIGN_ACTIONS.contains(&a),
            "`{a}` is neither a catalog action nor control"
        );
        rows += 1;
    }
    assert_eq!(rows, 500);

    for bad in ["0", "1", "1.5", "a quarter"] {
        let out = Command::new(BIN)
            .args(["generate", "--campaign-history", "--control-share", bad])
            .args(["--rows", "5", "--out"])
            .arg(tmp.path().join("bad.csv"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "--control-share {bad} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.contains("--control-share"), "{bad}: {stderr}");
    }
}

#[test]
fn a_command_error_is_one_clear_line_even_with_rust_backtrace_set() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.csv");
    std::fs::write(&history, "customer_id,action,churned\nC1,control,1\n").unwrap();
    let out = Command::new(BIN)
        .env("RUST_BACKTRACE", "1")
        .args(["train-uplift", "--bundle"])
        .arg(shipped_models().join("churn/v1"))
        .arg("--history")
        .arg(&history)
        .arg("--out")
        .arg(tmp.path().join("churn/v2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("the file has no column `age_years`"),
        "{stderr}"
    );
    assert!(!tmp.path().join("churn/v2").exists());
}

#[test]
fn train_uplift_refuses_an_out_that_is_not_a_bundle_directory_before_fitting() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.csv");
    let out = Command::new(BIN)
        .args(["generate", "--campaign-history", "--rows", "500", "--out"])
        .arg(&history)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args([
            "train-uplift",
            "--history",
            "history.csv",
            "--out",
            "v2",
            "--bundle",
        ])
        .arg(shipped_models().join("churn/v1"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --out v2: a bundle is a directory <models dir>/<name>/<version>, e.g. models/churn/v2"
    );
    assert!(!tmp.path().join("v2").exists(), "nothing is written");
}

/// The reports of `train`, `score` and `plan` as one JSON document each with `--json`, with the
/// same figures the files hold.
#[test]
fn reports_are_machine_readable_with_json() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    let run = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let generate = Command::new(BIN)
        .args([
            "generate",
            "--rows",
            "3000",
            "--seed",
            "5",
            "--out",
            &p("c.csv"),
        ])
        .output()
        .unwrap();
    assert!(generate.status.success());
    let models = shipped_models().display().to_string();
    let score = run(&[
        "score",
        "--input",
        &p("c.csv"),
        "--out",
        &p("s.csv"),
        "--models-dir",
        &models,
        "--json",
    ]);
    assert_eq!(score["summary"]["scored"], 3000);
    assert_eq!(score["model"]["version"], "v1");
    let scored_rows = std::fs::read_to_string(p("s.csv")).unwrap().lines().count() - 1;
    assert_eq!(scored_rows, 3000);

    let plan = run(&[
        "plan",
        "--scored",
        &p("s.csv"),
        "--out",
        &p("plan.csv"),
        "--budget",
        "5000",
        "--json",
    ]);
    assert_eq!(plan["customers"], 3000);
    let targeted = std::fs::read_to_string(p("plan.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("target"))
        .count();
    assert_eq!(plan["plan"]["targeted"], targeted as u64);
    assert!(plan["plan"]["cost"].as_f64().unwrap() <= 5000.0);

    let bundle = tmp.path().join("m/churn/v1").display().to_string();
    let train = run(&["train", "--data", &p("c.csv"), "--out", &bundle, "--json"]);
    let auc = train["evaluation"]["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.6 && auc < 1.0, "{auc}");
    assert_eq!(
        train["training"]["train_rows"].as_u64().unwrap()
            + train["training"]["validation_rows"].as_u64().unwrap(),
        3000
    );
}
