//! Operators scrape GET /metrics: calls by RPC and status, latency, answers, model versions,
//! refused bundles, shadow differences and the drift (PSI) of live customers.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bankscore::metrics::{serve_metrics, Metrics};
use bankscore::model_store::{Deployment, ModelStore, ReloadTrigger};
use bankscore::service::pb::{self, batch_scoring_service_client::BatchScoringServiceClient};
use bankscore::service::{serve_with, ServerConfig};
use bankscore::training::synthetic::Generator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::helpers::{context, copy_shipped, pb_customer};
use crate::redeploy::variant;

const SCORE: &str = "bankscore.v1.ScoringService/Score";

/// The real server with metrics on, the endpoint on a second 127.0.0.1:0 listener.
struct MetricsApp {
    channel: Channel,
    metrics_address: SocketAddr,
    store: Arc<ModelStore>,
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), bankscore::service::ServeError>>,
    endpoint: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl MetricsApp {
    async fn start(models_dir: &Path) -> Self {
        let (store, _problems) = ModelStore::open(models_dir, None).expect("models load");
        let store = Arc::new(store);
        let metrics = Arc::new(Metrics::new(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (address, metrics_address) = (
            listener.local_addr().unwrap(),
            metrics_listener.local_addr().unwrap(),
        );
        let (shutdown, stopped) = oneshot::channel::<()>();
        let (end_metrics, metrics_stopped) = oneshot::channel::<()>();
        let config = ServerConfig {
            metrics: Some(metrics.clone()),
            ..Default::default()
        };
        let server = tokio::spawn(serve_with(listener, store.clone(), config, async {
            let _ = stopped.await;
        }));
        // The endpoint stops with the server, as `serve` does it.
        let endpoint = tokio::spawn(serve_metrics(metrics_listener, metrics, async {
            let _ = metrics_stopped.await;
        }));
        let server = tokio::spawn(async move {
            let result = server.await.unwrap();
            let _ = end_metrics.send(());
            result
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self {
            channel,
            metrics_address,
            store,
            shutdown,
            server,
            endpoint,
        }
    }

    fn scoring(&self) -> pb::scoring_service_client::ScoringServiceClient<Channel> {
        pb::scoring_service_client::ScoringServiceClient::new(self.channel.clone())
    }

    async fn scrape(&self) -> String {
        let (status, body) = get(self.metrics_address, "GET", "/metrics").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        body
    }

    async fn reload(&self) {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.reload(ReloadTrigger::Admin))
            .await
            .unwrap();
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server.await.unwrap().unwrap();
        self.endpoint.await.unwrap().unwrap();
    }
}

/// A plain HTTP/1.1 request; the status line and the body.
async fn get(address: SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: bankscore\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the sample `name{labels}` (labels in exposition order), if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let key = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{}}} ", labels.join(","))
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map(|v| v.parse().unwrap())
}

/// Σ of every sample of `name` whose labels include `label`.
fn sum_of(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

fn score_request(profile: pb::CustomerProfile, version: &str) -> pb::ScoreRequest {
    pb::ScoreRequest {
        context: Some(pb::RequestContext {
            request_id: String::new(),
            model_version: version.into(),
        }),
        profile: Some(profile),
        max_reasons: 0,
        include_ineligible: false,
    }
}

/// Streams `n` customers from the generator seeded with `seed`, balances times `balance_factor`.
async fn stream_customers(channel: &Channel, seed: u64, n: usize, balance_factor: f64) {
    let mut g = Generator::new(seed);
    let chunks: Vec<pb::ScoreStreamRequest> = (0..n / 2_000)
        .map(|_| pb::ScoreStreamRequest {
            model_version: String::new(),
            max_reasons: 0,
            records: (0..2_000)
                .map(|_| {
                    let mut c = g.next_customer().profile;
                    c.total_balance *= balance_factor;
                    pb::StreamRecord {
                        record_id: c.customer_id.clone(),
                        profile: Some((&c).into()),
                    }
                })
                .collect(),
        })
        .collect();
    let mut results = BatchScoringServiceClient::new(channel.clone())
        .max_decoding_message_size(bankscore::service::MAX_MESSAGE_BYTES)
        .score_stream(tokio_stream::iter(chunks))
        .await
        .unwrap()
        .into_inner();
    let mut scored = 0;
    while let Some(r) = results.next().await {
        scored += r.unwrap().results.len();
    }
    assert_eq!(scored, n);
}

#[tokio::test]
async fn score_calls_and_a_failed_call_are_counted_by_rpc_and_status_with_their_answers() {
    let app = MetricsApp::start(&crate::helpers::shipped_models()).await;
    let mut client = app.scoring();
    const N: u64 = 25;
    for seed in 0..N {
        client
            .score(score_request(pb_customer(seed), ""))
            .await
            .unwrap();
    }
    let missing = client
        .score(score_request(pb_customer(99), "v404"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();

    let text = app.scrape().await;
    let calls = |code| {
        sample(
            &text,
            "bankscore_grpc_requests_total",
            &[("rpc", SCORE), ("code", code)],
        )
    };
    assert_eq!(calls("OK"), Some(N as f64), "{text}");
    assert_eq!(calls("NOT_FOUND"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "bankscore_grpc_requests_total",
            &[("rpc", "grpc.health.v1.Health/Check"), ("code", "OK")]
        ),
        Some(1.0),
        "every service is counted, not only scoring"
    );
    let latency = "bankscore_grpc_request_duration_seconds";
    assert_eq!(
        sample(&text, &format!("{latency}_count"), &[("rpc", SCORE)]),
        Some(N as f64 + 1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("{latency}_bucket"),
            &[("rpc", SCORE), ("le", "+Inf")]
        ),
        Some(N as f64 + 1.0)
    );
    assert!(text.contains("# TYPE bankscore_grpc_request_duration_seconds histogram"));
    assert!(text.contains(&format!(
        "{latency}_bucket{{rpc=\"{SCORE}\",le=\"0.00005\"}}"
    )));

    // The failed call answered nothing: only the N scored customers show in the answers.
    let v1 = ("model_version", "v1");
    assert_eq!(
        sample(&text, "bankscore_churn_probability_count", &[v1]),
        Some(N as f64)
    );
    assert_eq!(
        sum_of(&text, "bankscore_tiers_total", "model_version=\"v1\""),
        N as f64,
        "{text}"
    );
    assert_eq!(
        sum_of(&text, "bankscore_actions_total", "model_version=\"v1\""),
        N as f64,
        "{text}"
    );
    assert!(
        text.contains("bankscore_actions_total{model_version=\"v1\",action=\"no_action\"}"),
        "{text}"
    );

    let checksum = app.store.current().champion().id.checksum.clone();
    let info = [
        ("model", "churn"),
        ("version", "v1"),
        ("checksum", checksum.as_str()),
        ("role", "champion"),
    ];
    assert_eq!(
        sample(&text, "bankscore_model_info", &info),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bankscore_model_load_failures_total", &[]),
        Some(0.0)
    );
    for family in [
        "bankscore_grpc_requests_total",
        "bankscore_psi",
        "bankscore_shadow_comparisons_total",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
    }

    assert_eq!(
        get(app.metrics_address, "GET", "/").await.0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        get(app.metrics_address, "POST", "/metrics").await.0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refused_bundle_counts_as_a_load_failure_and_a_challenger_moves_the_shadow_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    let app = MetricsApp::start(tmp.path()).await;

    // A bundle whose model.json no longer matches its manifest is refused.
    let v3 = copy_shipped(tmp.path(), "v3");
    std::fs::write(v3.join("model.json"), "{}").unwrap();
    app.reload().await;
    let text = app.scrape().await;
    assert_eq!(
        sample(&text, "bankscore_model_load_failures_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bankscore_model_reloads_total", &[]),
        Some(1.0)
    );
    std::fs::remove_dir_all(&v3).unwrap();

    // v2 (intercept +1) scores in shadow of v1.
    variant(tmp.path(), "v2", 1.0);
    Deployment {
        champion: Some("v1".into()),
        challenger: Some("v2".into()),
    }
    .write(&tmp.path().join("churn"))
    .unwrap();
    app.reload().await;
    let mut client = app.scoring();
    const N: u64 = 12;
    for seed in 0..N {
        let mut req = score_request(pb_customer(seed), "");
        req.context = context(&format!("shadow-{seed}"));
        client.score(req).await.unwrap();
    }
    let text = app.scrape().await;
    let challenger = [("challenger_version", "v2")];
    assert_eq!(
        sample(&text, "bankscore_model_load_failures_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bankscore_shadow_comparisons_total", &challenger),
        Some(N as f64),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "bankscore_shadow_probability_diff_count",
            &challenger
        ),
        Some(N as f64)
    );
    // A log-odds shift of 1 moves every probability: no comparison lands in the first bucket.
    let first = [("challenger_version", "v2"), ("le", "0.001")];
    assert_eq!(
        sample(&text, "bankscore_shadow_probability_diff_bucket", &first),
        Some(0.0)
    );
    assert!(sample(&text, "bankscore_shadow_probability_diff_sum", &challenger).unwrap() > 0.0);
    assert!(sample(
        &text,
        "bankscore_shadow_tier_disagreements_total",
        &challenger
    )
    .is_some());
    assert!(text.contains("version=\"v2\",checksum=\""), "{text}");
    assert!(text.contains(",role=\"challenger\"} 1"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psi_is_stable_for_customers_like_the_training_data_and_shifted_for_richer_ones() {
    let _exclusive = crate::helpers::cpu_heavy().await;
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    copy_shipped(tmp.path(), "v2");
    let deploy = |champion: &str| {
        Deployment {
            champion: Some(champion.into()),
            challenger: None,
        }
        .write(&tmp.path().join("churn"))
        .unwrap()
    };
    deploy("v1");
    let app = MetricsApp::start(tmp.path()).await;
    const N: usize = 20_000;

    // The shipped model was trained on generator seed 42; another seed draws the same population.
    stream_customers(&app.channel, 4_242, N, 1.0).await;
    let text = app.scrape().await;
    let at = |version: &'static str, variable: &'static str| {
        [("model_version", version), ("variable", variable)]
    };
    for variable in [
        "churn_probability",
        "tenure_months",
        "total_balance",
        "age_years",
    ] {
        assert_eq!(
            sample(&text, "bankscore_psi_samples", &at("v1", variable)),
            Some(N as f64)
        );
        let psi = sample(&text, "bankscore_psi", &at("v1", variable)).unwrap();
        assert!(
            psi < 0.10,
            "{variable}: PSI {psi} for a training-like population"
        );
        assert_eq!(
            sample(&text, "bankscore_psi_band", &at("v1", variable)),
            Some(0.0)
        );
    }
    assert_eq!(
        sample(
            &text,
            "bankscore_bulk_records_total",
            &[("outcome", "scored")]
        ),
        Some(N as f64)
    );
    assert_eq!(
        sample(
            &text,
            "bankscore_grpc_requests_total",
            &[
                ("rpc", "bankscore.v1.BatchScoringService/ScoreStream"),
                ("code", "OK")
            ]
        ),
        Some(1.0)
    );

    // A new champion starts its index afresh.
    deploy("v2");
    app.reload().await;
    let text = app.scrape().await;
    assert_eq!(
        sample(&text, "bankscore_psi_samples", &at("v2", "total_balance")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bankscore_psi", &at("v2", "total_balance")),
        None
    );
    assert_eq!(
        sample(&text, "bankscore_psi", &at("v1", "total_balance")),
        None
    );

    // Ten times the balances: the balance has shifted; the churn model barely weighs it.
    stream_customers(&app.channel, 4_243, N, 10.0).await;
    let text = app.scrape().await;
    let balance = sample(&text, "bankscore_psi", &at("v2", "total_balance")).unwrap();
    assert!(balance > 0.25, "PSI {balance} for balances ×10");
    assert_eq!(
        sample(&text, "bankscore_psi_band", &at("v2", "total_balance")),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "bankscore_psi_band", &at("v2", "tenure_months")),
        Some(0.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn serve_warns_about_a_non_loopback_metrics_address_and_stops_the_endpoint_on_sigterm() {
    let mut server = crate::serve_process::ServeProcess::local(
        &crate::helpers::shipped_models(),
        &["--metrics-listen", "0.0.0.0:0"],
        &[],
    );
    let port = server.wait_for(|line| {
        line.contains("metrics at GET /metrics")
            .then(|| {
                line.rsplit(':')
                    .next()
                    .map(|p| p.trim().parse::<u16>().unwrap())
            })
            .flatten()
    });
    let warned = server
        .log
        .iter()
        .any(|l| l.contains("WARN") && l.contains("non-loopback"));
    assert!(
        warned,
        "a metrics address open to other hosts is logged as a warning"
    );
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let (status, body) = get(address, "GET", "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains("bankscore_model_info{model=\"churn\",version=\"v1\""),
        "{body}"
    );

    server.signal("-TERM");
    let (exit, _) = server.exit().await;
    assert!(exit.success(), "{exit:?}");
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the endpoint is closed with the server"
    );
}

#[tokio::test]
async fn calls_in_flight_are_a_gauge_that_counts_an_open_stream_until_it_ends() {
    const STREAM: &str = "bankscore.v1.BatchScoringService/ScoreStream";
    let app = MetricsApp::start(&crate::helpers::shipped_models()).await;
    app.scoring()
        .score(score_request(pb_customer(1), ""))
        .await
        .unwrap();
    let in_flight =
        |text: &str, rpc: &str| sample(text, "bankscore_grpc_requests_in_flight", &[("rpc", rpc)]);
    let text = app.scrape().await;
    assert!(
        text.contains("# TYPE bankscore_grpc_requests_in_flight gauge"),
        "{text}"
    );
    assert_eq!(
        in_flight(&text, SCORE),
        Some(0.0),
        "the finished call is not in flight"
    );
    // A stream whose client keeps its side open is in flight until the client closes it.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScoreStreamRequest>(1);
    let mut results = BatchScoringServiceClient::new(app.channel.clone())
        .score_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let mut seen = None;
    for _ in 0..50 {
        seen = in_flight(&app.scrape().await, STREAM);
        if seen == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(1.0), "the open stream is in flight");
    drop(tx);
    while results.next().await.is_some() {}
    for _ in 0..50 {
        seen = in_flight(&app.scrape().await, STREAM);
        if seen == Some(0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(0.0), "the ended stream is not");
}
