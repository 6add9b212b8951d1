//! Logs: JSON lines on request, each RPC's events carry its request id and the caller's trace id,
//! customers appear only as keyed hashes, and SIGTERM leaves a complete audit log behind.

use bankscore::audit::{CustomerHasher, HashKey};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use tonic::transport::Channel;

use crate::helpers::{context, customer, pb_customer, shipped_models};
use crate::serve_process::ServeProcess;

/// A caller's W3C trace context, and its trace id.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn json_logs_carry_the_request_id_and_only_the_hashed_customer() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let mut server = ServeProcess::local(
        &shipped_models(),
        &["--log-format", "json", "--audit-log", &audit_arg],
        &[
            ("BANKSCORE_AUDIT_HASH_KEY", "logs-test-key"),
            ("RUST_LOG", "info,bankscore=debug"),
        ],
    );
    let address = server.address();
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    // The caller's trace: continued, and named in the logs and the audit log, with export off.
    let mut request = tonic::Request::new(pb::ScoreRequest {
        context: context("req-logged"),
        profile: Some(pb_customer(11)),
        max_reasons: 3,
        include_ineligible: false,
    });
    request
        .metadata_mut()
        .insert("traceparent", TRACEPARENT.parse().unwrap());
    ScoringServiceClient::new(channel)
        .score(request)
        .await
        .unwrap();
    server.signal("-TERM");
    let (exit, lines) = server.exit().await;
    assert!(exit.success(), "{exit:?}");

    let hash = CustomerHasher::new(&HashKey::new("logs-test-key")).hash(&customer(11).customer_id);
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    let decision = events
        .iter()
        .find(|e| e["message"] == "auditing decision")
        .expect("the decision is logged at debug level");
    // Every open span's fields: the call's span first, with the request id and the trace id.
    let call = &decision["spans"][0];
    assert_eq!(call["name"], "rpc");
    assert_eq!(call["request_id"], "req-logged");
    assert_eq!(call["trace_id"], TRACE_ID);
    assert_eq!(call["model_version"], "v1");
    assert_eq!(
        decision["span"]["name"], "audit",
        "the record is written in the audit span"
    );
    assert_eq!(decision["customer"], hash.as_str());
    let all = lines.join("\n");
    assert!(!all.contains(&customer(11).customer_id), "{all}");
    assert!(!all.contains("total_balance"), "{all}");

    // SIGTERM closed the audit log with the decision in it.
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(&hash));
    let record: bankscore::audit::AuditEntry = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(record.trace_id.as_deref(), Some(TRACE_ID));
}
