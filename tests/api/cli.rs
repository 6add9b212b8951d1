//! The `bankscore` binary itself: `serve` on the shipped model, its refusal of a bad models
//! directory, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

use crate::helpers::shipped_models;

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");

#[test]
fn serve_refuses_to_start_without_a_valid_model_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--models-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no model"), "{stderr}");
}

#[tokio::test]
async fn serve_runs_the_shipped_model_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--models-dir"])
        .arg(shipped_models())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log line "bankscore serving address=127.0.0.1:PORT" gives the port.
    let stderr = child.stderr.take().unwrap();
    let address = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        for line in BufReader::new(stderr).lines() {
            let line = line.ok()?;
            if let Some(rest) = line.split("address=").nth(1) {
                return Some(rest.split_whitespace().next()?.to_owned());
            }
            if Instant::now() > deadline {
                break;
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("server logs its address");

    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let status = health
        .check(HealthCheckRequest {
            service: "bankscore.v1.ScoringService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}
