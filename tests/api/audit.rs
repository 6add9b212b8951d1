//! The decision audit log: one record per decision with the customer hashed, written before the
//! reply, rotated by size, replayable; a decision that cannot be audited is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bankscore::audit::{
    file::log_files, replay_files, AuditEntry, AuditLog, AuditSettings, CustomerHasher, HashKey,
    Rpc,
};
use bankscore::service::pb::{self, batch_scoring_service_client::BatchScoringServiceClient};
use bankscore::service::ServerConfig;
use tokio_stream::StreamExt;

use crate::helpers::{
    context, copy_shipped, customer, pb_customer, reseal, shipped_models, spawn_app_with, TestApp,
};

const KEY: &str = "audit-test-key";

fn settings(max_file_bytes: u64) -> AuditSettings {
    AuditSettings {
        path: None,
        max_file_bytes,
        hash_key: HashKey::new(KEY),
        fsync: false,
        streams: true,
    }
}

/// A server on `models` auditing to `log` (rotated at `max_file_bytes`).
async fn audited_app(models: &Path, log: &Path, max_file_bytes: u64) -> TestApp {
    let audit = AuditLog::open(log, &settings(max_file_bytes)).expect("audit log opens");
    let config = ServerConfig {
        audit: Some(Arc::new(audit)),
        ..Default::default()
    };
    spawn_app_with(models, config).await
}

async fn score(app: &mut TestApp, seed: u64) -> Result<pb::ScoreResponse, tonic::Status> {
    app.client
        .score(pb::ScoreRequest {
            context: context(&format!("req-{seed}")),
            profile: Some(pb_customer(seed)),
            max_reasons: 2,
            include_ineligible: false,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every record of the log at `path`, rotated files first.
fn entries(path: &Path) -> Vec<AuditEntry> {
    log_files(path)
        .unwrap()
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<AuditEntry>(l).expect("a whole record"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn every_decision_is_in_the_audit_log_with_the_customer_hashed_before_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut app = audited_app(&shipped_models(), &log, 1 << 30).await;
    let hasher = CustomerHasher::new(&HashKey::new(KEY));

    for seed in 0..5 {
        let reply = score(&mut app, seed).await.expect("score succeeds");
        // Read right after the reply: the record is already there.
        let all = entries(&log);
        assert_eq!(all.len() as u64, seed + 1, "one record per decision");
        let e = all.last().unwrap();
        assert_eq!(e.rpc, Rpc::Score);
        assert_eq!(e.request_id, format!("req-{seed}"));
        assert_eq!(e.customer, hasher.hash(&customer(seed).customer_id));
        let m = reply.model.unwrap();
        assert_eq!(
            (&*e.model.name, &*e.model.version, &*e.model.checksum),
            (&*m.name, &*m.version, &*m.checksum)
        );
        assert_eq!(e.options.max_reasons, 2);
        assert_eq!(
            e.profile().unwrap(),
            bankscore::domain::CustomerProfile {
                customer_id: e.customer.clone(),
                ..customer(seed)
            },
            "the inputs are the profile as scored"
        );
        assert_eq!(
            e.outputs.churn_probability,
            reply.churn.unwrap().probability
        );
        assert_eq!(e.outputs.value.unwrap().total, reply.value.unwrap().total);
        let decision = e.outputs.decision.as_ref().unwrap();
        let best = reply.decision.unwrap().best;
        assert_eq!(
            decision.action,
            best.as_ref()
                .map_or("no_action".to_owned(), |b| b.action_id.clone())
        );
        assert_eq!(decision.expected_value, best.map(|b| b.expected_value));
    }

    let p = pb_customer(7);
    app.client
        .predict_churn(pb::PredictChurnRequest {
            context: context("churn"),
            profile: Some(p.clone()),
            max_reasons: 1,
        })
        .await
        .unwrap();
    app.client
        .classify_value_tier(pb::ClassifyValueTierRequest {
            context: context("tier"),
            profile: Some(p.clone()),
        })
        .await
        .unwrap();
    app.client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: context("action"),
            profile: Some(p),
            include_ineligible: true,
        })
        .await
        .unwrap();
    let rpcs: Vec<(Rpc, String)> = entries(&log)[5..]
        .iter()
        .map(|e| (e.rpc, e.request_id.clone()))
        .collect();
    assert_eq!(
        rpcs,
        [
            (Rpc::PredictChurn, "churn".to_owned()),
            (Rpc::ClassifyValueTier, "tier".to_owned()),
            (Rpc::RecommendRetentionAction, "action".to_owned()),
        ]
    );
    app.stop().await.unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    for seed in [0, 1, 2, 3, 4, 7] {
        assert!(
            !text.contains(&customer(seed).customer_id),
            "a clear customer id is in the audit log"
        );
    }
    assert!(!text.contains("customer_id"));

    let report = replay_files(&[log], &shipped_models()).unwrap();
    assert_eq!((report.records, report.matched), (8, 8), "{report}");
    assert!(report.is_clean(), "{report}");
}

#[tokio::test]
async fn a_tampered_record_fails_replay_and_the_report_names_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut app = audited_app(&shipped_models(), &log, 1 << 30).await;
    for seed in 0..3 {
        score(&mut app, seed).await.unwrap();
    }
    app.stop().await.unwrap();

    let mut lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let p = lines[0]["outputs"]["churn_probability"].as_f64().unwrap();
    lines[0]["outputs"]["churn_probability"] = serde_json::json!(p / 2.0);
    let tenure = lines[2]["inputs"]["tenure_months"].as_u64().unwrap();
    lines[2]["inputs"]["tenure_months"] = serde_json::json!(tenure + 120);
    let tampered = dir.path().join("tampered.jsonl");
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&tampered, text).unwrap();

    let report = replay_files(std::slice::from_ref(&tampered), &shipped_models()).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.matched, 1, "{report}");
    let at: Vec<usize> = report.differing.iter().map(|d| d.at.line).collect();
    assert_eq!(at, [1, 3], "{report}");
    assert!(
        report.differing[0].outputs[0].starts_with("churn_probability: recorded"),
        "{report}"
    );
    assert!(report.differing[1]
        .outputs
        .iter()
        .any(|d| d.starts_with("churn_probability")));

    // The command says so and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"))
        .arg("replay")
        .arg(&tampered)
        .arg("--models-dir")
        .arg(shipped_models())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("3 records: 1 matched, 2 differing, 0 unreplayable"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_record_whose_bundle_changed_on_disk_is_reported_as_a_checksum_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let bundle = copy_shipped(&models, "v1");
    let log = dir.path().join("audit.jsonl");
    let mut app = audited_app(&models, &log, 1 << 30).await;
    score(&mut app, 1).await.unwrap();
    app.stop().await.unwrap();

    let card = bundle.join("MODEL_CARD.md");
    let text = std::fs::read_to_string(&card).unwrap() + "\nEdited after the fact.\n";
    std::fs::write(&card, text).unwrap();
    reseal(&bundle);

    let report = replay_files(&[log], &models).unwrap();
    assert_eq!(report.unreplayable.len(), 1, "{report}");
    assert!(
        report.unreplayable[0].reason.contains("checksum mismatch"),
        "{report}"
    );
    assert!(!report.is_clean());
}

#[tokio::test]
async fn a_small_size_limit_rotates_the_log_without_losing_or_splitting_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut app = audited_app(&shipped_models(), &log, 4_000).await;
    for seed in 0..20 {
        score(&mut app, seed).await.unwrap();
    }
    app.stop().await.unwrap();

    let files: Vec<PathBuf> = log_files(&log).unwrap();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= 4_000, "{f:?} has {len} bytes");
    }
    let all = entries(&log);
    let ids: Vec<String> = all.iter().map(|e| e.request_id.clone()).collect();
    let expected: Vec<String> = (0..20).map(|s| format!("req-{s}")).collect();
    assert_eq!(
        ids, expected,
        "every record once, in order, across the files"
    );
    let report = replay_files(&files, &shipped_models()).unwrap();
    assert_eq!(report.matched, 20, "{report}");
}

#[tokio::test]
async fn a_decision_that_cannot_be_audited_is_refused_as_unavailable() {
    // A full disk: every write fails.
    let mut app = audited_app(&shipped_models(), Path::new("/dev/full"), 1 << 30).await;
    let status = score(&mut app, 1)
        .await
        .expect_err("the decision is refused");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        status.message().contains("audit log") && status.message().contains("not returned"),
        "{}",
        status.message()
    );
    app.stop().await.unwrap();

    // The directory disappears while serving.
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("audit");
    std::fs::create_dir(&sub).unwrap();
    let mut app = audited_app(&shipped_models(), &sub.join("audit.jsonl"), 1 << 30).await;
    score(&mut app, 1).await.expect("audited");
    std::fs::remove_dir_all(&sub).unwrap();
    let status = score(&mut app, 2).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("deleted"), "{}", status.message());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn score_stream_audits_each_scored_record_once_and_replays_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let app = audited_app(&shipped_models(), &log, 1 << 30).await;
    let chunks: Vec<pb::ScoreStreamRequest> = (0..3)
        .map(|c| pb::ScoreStreamRequest {
            model_version: String::new(),
            max_reasons: 0,
            records: (0..50)
                .map(|i| {
                    let mut profile = pb_customer(c * 50 + i);
                    if i == 10 {
                        profile.age_years = Some(7); // invalid: no decision, no record
                    }
                    pb::StreamRecord {
                        record_id: format!("r{}", c * 50 + i),
                        profile: Some(profile),
                    }
                })
                .collect(),
        })
        .collect();
    let mut results = BatchScoringServiceClient::new(app.channel.clone())
        .score_stream(tokio_stream::iter(chunks))
        .await
        .unwrap()
        .into_inner();
    let mut scored = 0;
    while let Some(msg) = results.next().await {
        scored += msg
            .unwrap()
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Some(pb::stream_result::Outcome::Assessment(_))))
            .count();
    }
    app.stop().await.unwrap();

    let all = entries(&log);
    assert_eq!(scored, 147);
    assert_eq!(all.len(), 147);
    assert!(all.iter().all(|e| e.rpc == Rpc::ScoreStream));
    let positions: Vec<u64> = all.iter().map(|e| e.record.unwrap()).collect();
    let expected: Vec<u64> = (0..150).filter(|i| i % 50 != 10).collect();
    assert_eq!(positions, expected);
    let report = replay_files(&[log], &shipped_models()).unwrap();
    assert_eq!(report.matched, 147, "{report}");
}

#[tokio::test]
async fn with_streams_off_score_stream_is_not_audited_but_unary_calls_still_are() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut s = settings(1 << 30);
    s.streams = false;
    let config = ServerConfig {
        audit: Some(Arc::new(AuditLog::open(&log, &s).unwrap())),
        ..Default::default()
    };
    let mut app = spawn_app_with(&shipped_models(), config).await;
    let chunk = pb::ScoreStreamRequest {
        model_version: String::new(),
        max_reasons: 0,
        records: (0..20)
            .map(|i| pb::StreamRecord {
                record_id: format!("r{i}"),
                profile: Some(pb_customer(i)),
            })
            .collect(),
    };
    let mut results = BatchScoringServiceClient::new(app.channel.clone())
        .score_stream(tokio_stream::iter([chunk]))
        .await
        .unwrap()
        .into_inner();
    let mut scored = 0;
    while let Some(msg) = results.next().await {
        scored += msg.unwrap().results.len();
    }
    assert_eq!(scored, 20);
    score(&mut app, 99).await.unwrap();
    app.stop().await.unwrap();
    let all = entries(&log);
    assert_eq!(all.len(), 1, "only the unary Score");
    assert_eq!(all[0].rpc, Rpc::Score);
}
