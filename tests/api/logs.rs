//! Logs: JSON lines on request, each RPC's events carry its request id, customers appear only
//! as keyed hashes, and SIGTERM leaves a complete audit log behind.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use bankscore::audit::{CustomerHasher, HashKey};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use tonic::transport::Channel;

use crate::helpers::{context, customer, pb_customer, shipped_models};

#[tokio::test]
async fn json_logs_carry_the_request_id_and_only_the_hashed_customer() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bankscore"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--watch-poll", "0s", "--models-dir"])
        .arg(shipped_models())
        .arg("--audit-log")
        .arg(&audit)
        .env("BANKSCORE_AUDIT_HASH_KEY", "logs-test-key")
        .env("RUST_LOG", "info,bankscore=debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server logs its address");
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        lines.push(line);
        if let Some(a) = event["address"].as_str() {
            break a.to_owned();
        }
    };
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    ScoringServiceClient::new(channel)
        .score(pb::ScoreRequest {
            context: context("req-logged"),
            profile: Some(pb_customer(11)),
            max_reasons: 3,
            include_ineligible: false,
        })
        .await
        .unwrap();
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    lines.extend(lines_rx.iter());

    let hash = CustomerHasher::new(&HashKey::new("logs-test-key")).hash(&customer(11).customer_id);
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    let decision = events
        .iter()
        .find(|e| e["message"] == "auditing decision")
        .expect("the decision is logged at debug level");
    assert_eq!(decision["span"]["request_id"], "req-logged");
    assert_eq!(decision["customer"], hash.as_str());
    let all = lines.join("\n");
    assert!(!all.contains(&customer(11).customer_id), "{all}");
    assert!(!all.contains("total_balance"), "{all}");

    // SIGTERM closed the audit log with the decision in it.
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(&hash));
}
