//! Authentication, roles and the server's limits, each shown acting on a real server: bearer
//! tokens (UNAUTHENTICATED vs PERMISSION_DENIED), load shedding, deadlines (the client's
//! `grpc-timeout`), HTTP/2 keep-alive, maximum connection age and the drain timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bankscore::service::auth::{token_hash, AuthSettings, Authenticator, Role, TokenSettings};
use bankscore::service::pb::{
    self, batch_scoring_service_client::BatchScoringServiceClient,
    model_admin_service_client::ModelAdminServiceClient,
};
use bankscore::service::Limits;
use bankscore::service::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::helpers::{context, pb_customer, shipped_models, spawn_app_with, TestApp};

fn hex(h: [u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn token(name: &str, secret: &str, roles: Vec<Role>) -> TokenSettings {
    TokenSettings {
        name: name.into(),
        sha256: hex(token_hash(secret)),
        roles,
    }
}

fn score_request(bearer: Option<&str>) -> Request<pb::ScoreRequest> {
    let mut r = Request::new(pb::ScoreRequest {
        context: context("limits"),
        profile: Some(pb_customer(1)),
        max_reasons: 0,
        include_ineligible: false,
    });
    if let Some(t) = bearer {
        r.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {t}")).unwrap(),
        );
    }
    r
}

async fn app_with_limits(limits: Limits) -> TestApp {
    let config = ServerConfig {
        limits,
        ..Default::default()
    };
    spawn_app_with(&shipped_models(), config).await
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_unauthenticated_and_a_missing_role_permission_denied() {
    let auth = AuthSettings {
        enabled: true,
        tokens: vec![
            token("core-banking", "scorer-secret", vec![Role::Scorer]),
            token("model-ops", "admin-secret", vec![Role::Admin]),
        ],
    };
    auth.check().unwrap();
    let config = ServerConfig {
        auth: Some(Arc::new(Authenticator::new(&auth))),
        ..Default::default()
    };
    let app = spawn_app_with(&shipped_models(), config).await;
    let mut client = app.client.clone();
    let cases = [
        (None, Code::Unauthenticated),
        (Some("guess"), Code::Unauthenticated),
        (Some("admin-secret"), Code::PermissionDenied),
    ];
    for (bearer, code) in cases {
        let e = client.score(score_request(bearer)).await.unwrap_err();
        assert_eq!(e.code(), code, "{bearer:?}: {}", e.message());
    }
    let ok = client.score(score_request(Some("scorer-secret"))).await;
    assert!(ok.is_ok(), "{ok:?}");

    let mut admin = ModelAdminServiceClient::new(app.channel.clone());
    let list = |bearer: &str| {
        let mut r = Request::new(pb::ListModelsRequest {});
        r.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {bearer}")).unwrap(),
        );
        r
    };
    let e = admin.list_models(list("scorer-secret")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(admin.list_models(list("admin-secret")).await.is_ok());

    // Load balancers probe health without a token.
    let mut health = HealthClient::new(app.channel.clone());
    assert!(health
        .check(HealthCheckRequest {
            service: String::new()
        })
        .await
        .is_ok());
    app.stop().await.unwrap();
}

/// Opens a PlanCampaign whose input stays open: the call stays in flight until the sender is
/// dropped. Returns the sender and the call's outcome.
fn hold_a_call(
    app: &TestApp,
    timeout: Option<&str>,
) -> (
    mpsc::Sender<pb::PlanCampaignRequest>,
    tokio::task::JoinHandle<Result<(), tonic::Status>>,
) {
    let (tx, rx) = mpsc::channel(4);
    let mut client = BatchScoringServiceClient::new(app.channel.clone());
    let mut request = Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    if let Some(t) = timeout {
        request
            .metadata_mut()
            .insert("grpc-timeout", MetadataValue::try_from(t).unwrap());
    }
    let call = tokio::spawn(async move { client.plan_campaign(request).await.map(|_| ()) });
    (tx, call)
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed_at_once_while_health_answers() {
    let app = app_with_limits(Limits {
        max_concurrent_requests: 1,
        ..Default::default()
    })
    .await;
    let (tx, held) = hold_a_call(&app, None);
    let mut client = app.client.clone();
    // Wait (bounded) until the held call has taken the only place.
    let deadline = Instant::now() + Duration::from_secs(10);
    let shed = loop {
        let started = Instant::now();
        match client.score(score_request(None)).await {
            Err(e) if e.code() == Code::ResourceExhausted => break (e, started.elapsed()),
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "the held call never took the place"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(
        shed.0.message().contains("limit of 1 calls"),
        "{}",
        shed.0.message()
    );
    assert!(
        shed.1 < Duration::from_secs(1),
        "refused at once, not queued: {:?}",
        shed.1
    );
    let mut health = HealthClient::new(app.channel.clone());
    assert!(health
        .check(HealthCheckRequest {
            service: String::new()
        })
        .await
        .is_ok());
    drop(tx);
    let _ = held.await.unwrap();
    assert!(
        client.score(score_request(None)).await.is_ok(),
        "the place is free again"
    );
    app.stop().await.unwrap();
}

/// The server ends a call at the client's `grpc-timeout` even though the client keeps its input
/// open: the call's place under the concurrency limit comes back. (The client's own transport
/// gives up at the same moment, so it reports its local deadline; the server's DEADLINE_EXCEEDED
/// answer is shown by the guard's unit tests.)
#[tokio::test]
async fn the_server_ends_a_call_at_the_client_grpc_timeout() {
    let app = app_with_limits(Limits {
        max_concurrent_requests: 1,
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let (tx, held) = hold_a_call(&app, Some("700m"));
    let mut client = app.client.clone();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let e = client.score(score_request(None)).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::ResourceExhausted,
        "the held call is in flight"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the deadline acted")
        .unwrap();
    let e = outcome.unwrap_err();
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // The input is still open, yet the server has let the call go.
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.score(score_request(None)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the server kept the timed-out call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(tx);
    app.stop().await.unwrap();
}

/// An HTTP/2 connection that sends the preface and its settings, then only listens: it never
/// answers PINGs. Returns the frame types it received until the server closed it (or sent
/// `until`), and whether the server closed it.
async fn listen_raw(
    address: std::net::SocketAddr,
    for_at_most: Duration,
    until: Option<u8>,
) -> (Vec<u8>, bool) {
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let mut types = Vec::new();
    let deadline = Instant::now() + for_at_most;
    let mut header = [0u8; 9];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read_exact(&mut header)).await {
            Err(_) => return (types, false),    // still open at the deadline
            Ok(Err(_)) => return (types, true), // closed by the server
            Ok(Ok(_)) => {}
        }
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        types.push(header[3]);
        if until == Some(header[3]) {
            return (types, false);
        }
        let mut payload = vec![0u8; len];
        if tcp.read_exact(&mut payload).await.is_err() {
            return (types, true);
        }
        if header[3] == 4 && header[4] & 1 == 0 {
            // Acknowledge the server's SETTINGS, as any client must.
            tcp.write_all(&[0, 0, 0, 4, 1, 0, 0, 0, 0]).await.unwrap();
        }
    }
}

const PING: u8 = 6;
const GOAWAY: u8 = 7;

#[tokio::test]
async fn a_connection_that_does_not_answer_keepalive_pings_is_closed() {
    let app = app_with_limits(Limits {
        keepalive_interval: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let (types, closed) = listen_raw(app.address, Duration::from_secs(10), None).await;
    assert!(types.contains(&PING), "the server pinged: {types:?}");
    assert!(closed, "and closed the silent connection: {types:?}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_past_its_maximum_age_is_sent_away() {
    let app = app_with_limits(Limits {
        max_connection_age: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let (types, _) = listen_raw(app.address, Duration::from_secs(10), Some(GOAWAY)).await;
    assert!(
        types.contains(&GOAWAY),
        "GOAWAY after the maximum age: {types:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    // New connections are still welcome.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client =
        bankscore::service::pb::scoring_service_client::ScoringServiceClient::new(channel);
    assert!(client.score(score_request(None)).await.is_ok());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_waits_for_calls_in_flight_only_up_to_the_drain_timeout() {
    let app = app_with_limits(Limits {
        drain_timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let (tx, held) = hold_a_call(&app, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stopped despite the open call")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "it waited for the call first: {took:?}"
    );
    // In a test the runtime outlives the server, so end the held call from the client side.
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), held).await;
}

/// What SIGTERM starts in the binary (the shutdown future completing): health turns
/// NOT_SERVING at once, while a call in flight still finishes with its full answer.
#[tokio::test]
async fn shutdown_turns_health_not_serving_and_lets_a_call_in_flight_finish() {
    let app = app_with_limits(Limits {
        drain_timeout: Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    let mut health = HealthClient::new(app.channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "bankscore.v1.ScoringService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let serving = |m: &tonic_health::pb::HealthCheckResponse| {
        m.status() == tonic_health::pb::health_check_response::ServingStatus::Serving
    };
    assert!(serving(&watch.message().await.unwrap().unwrap()));

    let (tx, rx) = mpsc::channel(4);
    let mut batch = BatchScoringServiceClient::new(app.channel.clone());
    let call = tokio::spawn(async move {
        let mut replies = batch
            .plan_campaign(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?
            .into_inner();
        let mut summary = None;
        while let Some(r) = replies.message().await? {
            summary = summary.or(r.summary);
        }
        Ok::<_, tonic::Status>(summary)
    });
    tx.send(pb::PlanCampaignRequest {
        settings: Some(pb::CampaignSettings {
            campaign_id: "drain".into(),
            budget: 100.0,
            capacity: Default::default(),
            control_share: 0.0,
        }),
        candidates: vec![],
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::spawn(app.stop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let update = tokio::time::timeout(left, watch.message())
            .await
            .expect("health turned NOT_SERVING");
        if !serving(&update.unwrap().unwrap()) {
            break;
        }
    }
    drop(watch); // a watcher is a call in flight too

    // The call started before shutdown still gets its whole answer.
    tx.send(pb::PlanCampaignRequest {
        settings: None,
        candidates: vec![pb::CampaignCandidate {
            customer_id: "C-1".into(),
            churn_probability: 0.4,
            actions: vec![pb::CandidateAction {
                action_id: "rm_call".into(),
                expected_value: 30.0,
                cost: 25.0,
            }],
            value_at_risk: 400.0,
        }],
    })
    .await
    .unwrap();
    drop(tx);
    let summary = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the call finished")
        .unwrap()
        .unwrap()
        .expect("a summary");
    assert_eq!(summary.plan.map(|p| p.targeted), Some(1));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the server stopped once the call was done")
        .unwrap()
        .unwrap();
}

/// A unary call whose message never arrives in full ends at the server's request timeout.
#[tokio::test]
async fn a_unary_call_whose_body_never_arrives_ends_at_the_request_timeout() {
    let app = app_with_limits(Limits {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let raw = crate::hostile::raw::RawConnection::open(app.address).await;
    // A length prefix promising 100 bytes, and only 3 of them.
    let (response, _stream) = raw
        .start(
            "/bankscore.v1.ScoringService/Score",
            vec![0, 0, 0, 0, 100, 1, 2, 3],
        )
        .await;
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("the server answered")
        .unwrap();
    let status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(status.as_deref(), Some("4"), "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < Duration::from_secs(5));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_without_the_http2_preface_is_closed_after_the_preface_timeout() {
    let app = app_with_limits(Limits {
        preface_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let started = Instant::now();
    let mut idle = tokio::net::TcpStream::connect(app.address).await.unwrap();
    // The server sends its SETTINGS, then closes the connection (EOF or reset) well before this
    // test's own bound.
    let mut sent = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut sent))
        .await
        .expect("the server closed the idle connection");
    assert!(
        sent.len() < 100,
        "only the server's SETTINGS: {} bytes ({read:?})",
        sent.len()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    // A half-sent preface is closed too; a client that sends it is served.
    let mut half = tokio::net::TcpStream::connect(app.address).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut sent = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), half.read_to_end(&mut sent))
        .await
        .expect("the server closed the half-open connection");
    let mut client = app.client.clone();
    assert!(client.score(score_request(None)).await.is_ok());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_a_freed_slot_serves_again() {
    // The test harness's own channel holds one of the two slots.
    let app = app_with_limits(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let connect = || async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.address))
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(2))
            .connect_lazy();
        let mut client = pb::scoring_service_client::ScoringServiceClient::new(channel.clone());
        client.score(score_request(None)).await.map(|_| client)
    };
    let second = connect().await.expect("the second connection is served");
    // The server closes a third connection at once: its call fails (how the client names a
    // connection closed under it varies: UNAVAILABLE or CANCELLED).
    let Err(e) = connect().await else {
        panic!("a third connection is refused");
    };
    assert!(
        matches!(e.code(), Code::Unavailable | Code::Cancelled),
        "{:?}: {}",
        e.code(),
        e.message()
    );
    drop(second);
    // Its slot comes back once the server has seen the connection close.
    let mut served = false;
    for _ in 0..50 {
        if connect().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a freed slot serves a new connection");
    app.stop().await.unwrap();
}
