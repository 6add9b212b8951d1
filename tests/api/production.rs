//! `bankscore serve --config examples/production.toml`, the real binary with the shipped example
//! settings: TLS with client certificates, bearer tokens, limits, metrics and the audit log all on.
//! Only machine-specific paths and ports are overridden, through `BANKSCORE_*` variables.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bankscore::connect::{endpoint, Bearer, ClientTls};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{context, pb_customer, shipped_models};
use crate::tls::pki::Pki;

/// The token whose SHA-256 `examples/production.toml` lists for `core-banking` (an example:
/// real deployments make their own with `bankscore token`).
const EXAMPLE_TOKEN: &str = "5462c8dce5325e536161757dbc5b7f75f2716caf50b89361bce5f6903246b045";

fn field(line: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get(key)?.as_str().map(str::to_owned)
}

/// Kills the server if the test fails before stopping it, so no process outlives the test.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_example_production_settings_serve_with_tls_tokens_metrics_and_audit() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/production.toml");
    let path = |p: &std::path::Path| p.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bankscore"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("BANKSCORE_SERVER_LISTEN", "127.0.0.1:0")
        .env("BANKSCORE_MODELS_DIR", path(&shipped_models()))
        .env("BANKSCORE_MODELS_WATCH_POLL", "0s")
        .env("BANKSCORE_TLS_CERT", path(&pki.server.cert))
        .env("BANKSCORE_TLS_KEY", path(&pki.server.key))
        .env("BANKSCORE_TLS_CLIENT_CA", path(&pki.ca))
        .env("BANKSCORE_METRICS_LISTEN", "127.0.0.1:0")
        .env("BANKSCORE_AUDIT_PATH", path(&audit))
        .env("BANKSCORE_AUDIT_HASH_KEY", "production-test-key")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut child = Running(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut grpc, mut metrics, mut log) = (None, None, Vec::new());
    while grpc.is_none() || metrics.is_none() {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            panic!("serve did not come up; its log:\n{}", log.join("\n"));
        };
        log.push(line.clone());
        let address = field(&line, "address").and_then(|a| a.parse::<SocketAddr>().ok());
        match field(&line, "message").as_deref() {
            Some("bankscore serving") => grpc = address,
            Some("metrics at GET /metrics") => metrics = address,
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

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.0.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
