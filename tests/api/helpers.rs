//! Test harness: starts the real server on 127.0.0.1:0 and hands out typed clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bankscore::domain::CustomerProfile;
use bankscore::model_store::{ModelRegistry, ModelStore};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use bankscore::service::ServerConfig;
use bankscore::training::synthetic::Generator;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The shipped default models directory.
pub fn shipped_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: SocketAddr,
    pub channel: Channel,
    pub client: ScoringServiceClient<Channel>,
    pub store: Arc<ModelStore>,
    /// The registry at start.
    pub registry: Arc<ModelRegistry>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), bankscore::service::ServeError>>>,
}

impl TestApp {
    /// Stops the server and waits until it has finished.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.take().expect("running").send(());
        Ok(self.server.take().expect("running").await??)
    }
}

/// Starts the server on the shipped models.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(&shipped_models()).await
}

/// Starts the server on `models_dir`.
pub async fn spawn_app_on(models_dir: &Path) -> TestApp {
    spawn_app_with(models_dir, ServerConfig::default()).await
}

/// Starts the server on `models_dir` with `config`.
pub async fn spawn_app_with(models_dir: &Path, config: ServerConfig) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        bankscore::telemetry::init_tracing("debug");
    }
    let (store, _problems) = ModelStore::open(models_dir, None).expect("models load");
    let store = Arc::new(store);
    let registry = store.current();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(bankscore::service::serve_with(
        listener,
        store.clone(),
        config,
        async {
            let _ = rx.await;
        },
    ));
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    TestApp {
        address,
        client: ScoringServiceClient::new(channel.clone()),
        channel,
        store,
        registry,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// A realistic customer from the seeded generator.
pub fn customer(seed: u64) -> CustomerProfile {
    Generator::new(seed).next_customer().profile
}

/// The same customer as a gRPC profile.
pub fn pb_customer(seed: u64) -> pb::CustomerProfile {
    (&customer(seed)).into()
}

/// A request context with the given id and the live model.
pub fn context(request_id: &str) -> Option<pb::RequestContext> {
    Some(pb::RequestContext {
        request_id: request_id.into(),
        model_version: String::new(),
    })
}

/// Copies the shipped bundle to `<models>/churn/<version>` and returns that directory.
pub fn copy_shipped(models: &Path, version: &str) -> PathBuf {
    let dst = models.join("churn").join(version);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(shipped_models().join("churn/v1")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    dst
}

/// Rewrites a bundle's manifest over its files as they are now (as `bankscore reseal` does), so
/// a deliberate edit passes the checksums and reaches the check it is meant to trip.
pub fn reseal(dir: &Path) {
    bankscore::model_store::reseal_bundle(dir).expect("reseal");
}

static CPU_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held by tests that load both cores or measure latency, so that they do not run at the same
/// time and disturb each other's figures (the test harness runs tests in parallel).
pub async fn cpu_heavy() -> tokio::sync::MutexGuard<'static, ()> {
    CPU_HEAVY.lock().await
}

/// Bulk streams running, asked over a connection of its own: a connection whose bulk stream is
/// stalled by an unread reply shares its HTTP/2 flow-control window with every call on it.
pub async fn bulk_streams_active(address: SocketAddr) -> u64 {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    pb::model_admin_service_client::ModelAdminServiceClient::new(channel)
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .bulk_streams_active
}

/// Runs the `bankscore` binary with `args`, asserts it succeeded (showing its stderr if not) and
/// returns its stdout.
pub fn run_bankscore(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
