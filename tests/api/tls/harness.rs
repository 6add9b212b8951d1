//! The TLS test harness: a TLS server on the shipped models, one `Score` call through a real
//! tonic client, and the expected outcome of a case.

use std::net::SocketAddr;
use std::time::Duration;

use bankscore::connect::{endpoint, ClientTls};
use bankscore::model_store::ModelStore;
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use bankscore::service::{ServerConfig, TlsSettings};
use tokio::sync::oneshot;
use tonic::Code;

use crate::helpers::{context, pb_customer, shipped_models};

/// What one client got.
#[derive(Debug)]
pub enum Outcome {
    /// `Score` answered.
    Scored,
    /// The connection (TCP, TLS or HTTP/2) could not be set up.
    ConnectFailed(String),
    /// Connected, but the call failed.
    CallFailed(Code, String),
}

/// Expected outcome of one case. A refusal names the reason (case-insensitive; empty for any)
/// that its error must carry, or, for a refusal at the call, must carry whenever the server's
/// alert reached the client: a refusal for another reason does not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `Score` answers.
    Scored,
    /// `Endpoint::connect` fails: the client refused the handshake.
    RefusedAtConnect(&'static str),
    /// Connected, but the first call fails with UNKNOWN or CANCELLED: the server refused the
    /// handshake (its alert, when the error carries one, names the reason), or the connection
    /// broke.
    RefusedAtCall(&'static str),
}

impl Expect {
    fn is_met_by(self, outcome: &Outcome) -> bool {
        let mentions = |text: &str, why: &str| text.to_lowercase().contains(&why.to_lowercase());
        match (self, outcome) {
            (Expect::Scored, Outcome::Scored) => true,
            (Expect::RefusedAtConnect(why), Outcome::ConnectFailed(text)) => mentions(text, why),
            // Which error the client sees is a race between its request and the server's alert;
            // when the alert is in the error it must be the expected one.
            (
                Expect::RefusedAtCall(why),
                Outcome::CallFailed(Code::Unknown | Code::Cancelled, text),
            ) => !mentions(text, "alert") || mentions(text, why),
            _ => false,
        }
    }
}

/// A TLS server on the shipped models.
pub struct TlsServer {
    pub address: SocketAddr,
    /// The plaintext health listener, when started with one.
    pub health: Option<SocketAddr>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), bankscore::service::ServeError>>,
}

impl TlsServer {
    pub async fn start(settings: &TlsSettings) -> Self {
        Self::start_with(settings, false).await
    }

    /// Starts the server, with a plaintext health listener on 127.0.0.1:0 when `health_port`.
    pub async fn start_with(settings: &TlsSettings, health_port: bool) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            bankscore::telemetry::init_tracing("debug");
        }
        let health_listener =
            health_port.then(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let health = health_listener.as_ref().map(|l| l.local_addr().unwrap());
        let config = ServerConfig {
            tls: Some(settings.load().expect("the test certificates load")),
            health_listener: health_listener.map(std::sync::Arc::new),
            ..Default::default()
        };
        let (store, _) = ModelStore::open(&shipped_models(), None).expect("models load");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bankscore::service::serve_with(
            listener,
            std::sync::Arc::new(store),
            config,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            address,
            health,
            shutdown,
            task,
        }
    }

    pub fn https(&self) -> String {
        format!("https://{}", self.address)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.task.await.unwrap().expect("server stops cleanly");
    }
}

/// Connects to `target` and calls `Score` once.
pub async fn score_once(target: &str, tls: Option<&ClientTls>) -> Outcome {
    let channel = match endpoint(target, tls)
        .expect("a valid endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
    {
        Ok(channel) => channel,
        Err(e) => return Outcome::ConnectFailed(error_chain(&e)),
    };
    let request = pb::ScoreRequest {
        context: context("tls"),
        profile: Some(pb_customer(7)),
        max_reasons: 0,
        include_ineligible: false,
    };
    match ScoringServiceClient::new(channel).score(request).await {
        Ok(_) => Outcome::Scored,
        Err(status) => Outcome::CallFailed(status.code(), error_chain(&status)),
    }
}

/// The error and all its sources: tonic's own message is often just "transport error".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    bankscore::one_line(e)
}

/// How many times a refusal at the call is tried until the server's alert reaches the client.
const ALERT_ATTEMPTS: usize = 20;

/// Runs each case and checks its outcome. A refusal at the call with a named reason is tried
/// again until the client's error carries the server's alert (the usual case; the race in the
/// module documentation can hide it), which must then name that reason: an expired certificate
/// and one from an unknown CA are told apart, and a case whose alert never arrives fails.
pub async fn check_cases(cases: &[(&str, String, Option<ClientTls>, Expect)]) {
    for (case, target, tls, expect) in cases {
        let attempts = match expect {
            Expect::RefusedAtCall(why) if !why.is_empty() => ALERT_ATTEMPTS,
            _ => 1,
        };
        let mut alerted = false;
        let mut outcome = score_once(target, tls.as_ref()).await;
        for _ in 0..attempts {
            assert!(
                expect.is_met_by(&outcome),
                "{case}: expected {expect:?}, got {outcome:?}"
            );
            if let Outcome::CallFailed(_, text) = &outcome {
                alerted = text.to_lowercase().contains("alert");
            }
            if attempts == 1 || alerted {
                break;
            }
            outcome = score_once(target, tls.as_ref()).await;
        }
        assert!(
            attempts == 1 || alerted,
            "{case}: the server's alert never reached the client in {attempts} attempts; last \
             {outcome:?}"
        );
    }
}
