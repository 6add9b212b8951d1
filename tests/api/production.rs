//! `bankscore serve --config examples/production.toml`, the real binary with the shipped example
//! settings: TLS with client certificates, bearer tokens, limits, metrics and the audit log all on.
//! Only machine-specific paths and ports are overridden, through `BANKSCORE_*` variables.

use std::net::SocketAddr;

use bankscore::connect::{endpoint, Bearer, ClientTls};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{context, pb_customer, shipped_models};
use crate::serve_process::ServeProcess;
use crate::tls::pki::Pki;

/// The token whose SHA-256 `examples/production.toml` lists for `core-banking` (an example:
/// real deployments make their own with `bankscore token`).
const EXAMPLE_TOKEN: &str = "5462c8dce5325e536161757dbc5b7f75f2716caf50b89361bce5f6903246b045";

fn field(line: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get(key)?.as_str().map(str::to_owned)
}

#[tokio::test]
async fn the_example_production_settings_serve_with_tls_tokens_metrics_and_audit() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let outcomes_path = dir.path().join("outcomes.jsonl").display().to_string();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/production.toml");
    let path = |p: &std::path::Path| p.display().to_string();
    let (models, cert, key, ca, audit_path) = (
        path(&shipped_models()),
        path(&pki.server.cert),
        path(&pki.server.key),
        path(&pki.ca),
        path(&audit),
    );
    let mut server = ServeProcess::start(
        &["serve", "--config", &path(&config)],
        &[
            ("BANKSCORE_SERVER_LISTEN", "127.0.0.1:0"),
            ("BANKSCORE_MODELS_DIR", &models),
            ("BANKSCORE_MODELS_WATCH_POLL", "0s"),
            ("BANKSCORE_TLS_CERT", &cert),
            ("BANKSCORE_TLS_KEY", &key),
            ("BANKSCORE_TLS_CLIENT_CA", &ca),
            ("BANKSCORE_METRICS_LISTEN", "127.0.0.1:0"),
            ("BANKSCORE_AUDIT_PATH", &audit_path),
            ("BANKSCORE_OUTCOMES_PATH", &outcomes_path),
            ("BANKSCORE_AUDIT_HASH_KEY", "production-test-key"),
        ],
    );
    let (mut grpc, mut metrics) = (None, None);
    while grpc.is_none() || metrics.is_none() {
        let (message, address) = server.wait_for(|line| {
            let address = field(line, "address").and_then(|a| a.parse::<SocketAddr>().ok());
            address.map(|a| (field(line, "message").unwrap_or_default(), a))
        });
        match message.as_str() {
            "bankscore serving" => grpc = Some(address),
            "metrics at GET /metrics" => metrics = Some(address),
            _ => {}
        }
    }
    let (grpc, metrics) = (grpc.unwrap(), metrics.unwrap());

    let tls = ClientTls::new(&pki.ca)
        .with_identity(&pki.client.cert, &pki.client.key)
        .with_domain("localhost");
    let channel = endpoint(&format!("https://localhost:{}", grpc.port()), Some(&tls))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = || pb::ScoreRequest {
        context: context("production"),
        profile: Some(pb_customer(3)),
        max_reasons: 0,
        include_ineligible: false,
    };
    let mut anonymous = ScoringServiceClient::new(channel.clone());
    let e = anonymous.score(request()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    let bearer = Bearer::new(Some(EXAMPLE_TOKEN)).unwrap();
    let mut client = ScoringServiceClient::with_interceptor(channel, bearer);
    let reply = client.score(request()).await.unwrap().into_inner();
    assert!(reply.churn.is_some());

    // The decision was audited before the reply, under the hashed customer id only.
    let records = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(records.lines().count(), 1, "{records}");
    assert!(!records.contains(&pb_customer(3).customer_id));

    // Metrics on loopback count both calls.
    let mut tcp = tokio::net::TcpStream::connect(metrics).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: bankscore\r\n\r\n")
        .await
        .unwrap();
    let mut scrape = String::new();
    tcp.read_to_string(&mut scrape).await.unwrap();
    for code in ["UNAUTHENTICATED", "OK"] {
        let sample = format!(
            "bankscore_grpc_requests_total{{rpc=\"bankscore.v1.ScoringService/Score\",code=\"{code}\"}} 1"
        );
        assert!(scrape.contains(&sample), "{sample} in\n{scrape}");
    }

    server.signal("-TERM");
    let (exit, log) = server.exit().await;
    assert!(exit.success(), "{exit:?}; log:\n{}", log.join("\n"));
}
