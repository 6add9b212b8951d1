//! Process start-up: the tokio runtime every command runs on, and `bankscore serve` as one
//! library call — the settings turned into a running service (models, audit and outcomes logs,
//! TLS, tokens, signal handlers, the gRPC listener, the model watcher and the metrics endpoint),
//! started in that order and stopped in reverse once SIGINT or SIGTERM arrives.

use std::path::PathBuf;
use std::sync::Arc;

use crate::audit::{AuditError, AuditLog, OutcomeLog, OutcomeLogError};
use crate::metrics::{Metrics, MetricsSettings};
use crate::model_store::{ModelStore, RegistryError, ReloadTrigger};
use crate::service::auth::Authenticator;

use crate::service::{serve_with, ServeError, ServerConfig, TlsError};
use crate::settings::Settings;

/// Why `bankscore serve` did not start, or stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The models directory holds no model that can serve.
    #[error("loading models from {dir}")]
    Models {
        /// The models directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: RegistryError,
    },
    /// The audit log cannot be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The outcomes log cannot be opened.
    #[error(transparent)]
    Outcomes(#[from] OutcomeLogError),
    /// A certificate or key file is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The runtime, a signal handler or a socket cannot be set up.
    #[error("{doing}")]
    Os {
        /// What start-up was doing, e.g. `binding 0.0.0.0:50051`.
        doing: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl StartError {
    fn os(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let doing = doing.into();
        move |source| Self::Os { doing, source }
    }
}

/// How many threads a runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// The calling thread only (a client making one call).
    One,
    /// One worker thread per core.
    PerCore,
    /// This many worker threads (at least 1).
    Exactly(usize),
}

/// The tokio runtime, with I/O and timers, built the same way for every command.
///
/// # Errors
/// The operating system refuses the threads or the I/O driver.
pub fn runtime(workers: Workers) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match workers {
        Workers::One => tokio::runtime::Builder::new_current_thread(),
        Workers::PerCore => tokio::runtime::Builder::new_multi_thread(),
        Workers::Exactly(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.max(1));
            b
        }
    };
    builder.enable_all().build()
}

/// Runs `bankscore serve` with `settings` until SIGINT or SIGTERM, then drains and returns.
///
/// # Errors
/// A setting's file (models, TLS, audit) is unusable, the port cannot be bound, or the
/// transport fails.
pub fn serve(settings: &Settings) -> Result<(), StartError> {
    let models = &settings.models;
    let (store, problems) =
        ModelStore::open(&models.dir, models.name.as_deref()).map_err(|source| {
            StartError::Models {
                dir: models.dir.clone(),
                source,
            }
        })?;
    for problem in &problems {
        tracing::error!(cause = %problem, "model bundle problem at start-up");
    }
    let store = Arc::new(store);
    let audit = AuditLog::from_settings(&settings.audit)?.map(Arc::new);
    if let Some(log) = &audit {
        tracing::info!(path = %log.path().display(), max_bytes = settings.audit.max_file_bytes, fsync = settings.audit.fsync, "auditing every decision");
    }
    let outcomes =
        OutcomeLog::from_settings(&settings.outcomes, &settings.audit.hash_key)?.map(Arc::new);
    if let Some(log) = &outcomes {
        tracing::info!(path = %log.path().display(), max_bytes = settings.outcomes.max_file_bytes, fsync = settings.outcomes.fsync, "recording reported outcomes");
    }
    // Certificates are read before the port opens: a bad file stops start-up, naming it.
    let tls = settings.tls.as_ref().map(|t| t.load()).transpose()?;
    match &settings.tls {
        Some(t) => tracing::info!(cert = %t.cert.display(), mutual = t.client_ca.is_some(), "TLS on"),
        None if settings.server.listen.ip().is_loopback() => {
            tracing::info!("TLS off (loopback listener)");
        }
        None => tracing::warn!(
            "TLS is off on a network address: calls, tokens and customer data cross the network in clear"
        ),
    }
    let auth = if settings.auth.enabled {
        tracing::info!(
            tokens = settings.auth.tokens.len(),
            "bearer-token authentication on"
        );
        Some(Arc::new(Authenticator::new(&settings.auth)))
    } else {
        tracing::warn!("authentication is OFF (auth.enabled = false): any caller that reaches the port can score customers and manage models");
        None
    };
    let registry = store.current();
    tracing::info!(
        model = %registry.name(),
        champion = %registry.champion().id.version,
        checksum = %registry.champion().id.checksum,
        challenger = registry.challenger().map_or("", |(c, _)| c.id.version.as_str()),
        versions = registry.versions().len(),
        "models loaded"
    );
    let workers = settings
        .server
        .worker_threads
        .map_or(Workers::PerCore, Workers::Exactly);
    let runtime = runtime(workers).map_err(StartError::os("starting the runtime"))?;
    runtime.block_on(async move {
        // Signal handlers go in before the port opens: a signal that arrives
        // once clients can connect must never find the default action.
        let shutdown = shutdown_signal()?;
        let sighup = reload_on_sighup(store.clone())?;
        let listen = settings.server.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(StartError::os(format!("binding {listen}")))?;
        let address = listener
            .local_addr()
            .map_err(StartError::os("reading the listener's address"))?;
        tracing::info!(%address, "bankscore serving");
        let health_listener = match settings.server.health_listen {
            Some(addr) => {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(StartError::os(format!("binding the health listener {addr}")))?;
                let health = l
                    .local_addr()
                    .map_err(StartError::os("reading the health listener's address"))?;
                tracing::info!(address = %health, "health serving (plaintext, grpc.health.v1 only)");
                let l = l
                    .into_std()
                    .map_err(StartError::os("preparing the health listener"))?;
                Some(Arc::new(l))
            }
            None => None,
        };
        let models = &settings.models;
        let watcher = (!models.watch_poll.is_zero()).then(|| {
            tokio::spawn(crate::model_store::watch(
                store.clone(),
                models.watch_poll,
                models.watch_debounce,
            ))
        });
        let sighup = tokio::spawn(sighup);
        let endpoint = MetricsEndpoint::start(&settings.metrics, &store).await?;
        let mut config = ServerConfig {
            max_bulk_streams: settings.bulk.max_streams,
            audit,
            outcomes,
            metrics: endpoint.as_ref().map(|e| e.metrics.clone()),
            auth,
            tls,
            limits: settings.server.limits(),
            health_listener,
            ..Default::default()
        };
        if let Some(n) = settings.bulk.threads {
            config.bulk_threads = n;
        }
        let result = serve_with(listener, store, config, shutdown)
            .await
            .map_err(StartError::from);
        if let Some(e) = endpoint {
            e.stop().await;
        }
        sighup.abort();
        if let Some(w) = watcher {
            w.abort();
        }
        result
    })
}

/// The running `/metrics` endpoint and the metrics it serves.
struct MetricsEndpoint {
    metrics: Arc<Metrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl MetricsEndpoint {
    /// Binds and starts the endpoint when `settings` asks for one.
    async fn start(
        settings: &MetricsSettings,
        store: &Arc<ModelStore>,
    ) -> Result<Option<Self>, StartError> {
        let Some(addr) = settings.listen else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(StartError::os(format!(
                "binding the metrics listener {addr}"
            )))?;
        if settings.is_exposed() {
            tracing::warn!(address = %addr, "metrics listen on a non-loopback address; keep the port off public networks");
        }
        let address = listener
            .local_addr()
            .map_err(StartError::os("reading the metrics listener's address"))?;
        tracing::info!(%address, "metrics at GET /metrics");
        let metrics = Arc::new(Metrics::new(store.clone()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(crate::metrics::serve_metrics(
            listener,
            metrics.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Some(Self {
            metrics,
            stop,
            task,
        }))
    }

    /// Stops the endpoint once the gRPC server has finished draining.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Installs the SIGHUP handler now and returns the loop that reloads the
/// models directory on every SIGHUP.
fn reload_on_sighup(
    store: Arc<ModelStore>,
) -> Result<impl std::future::Future<Output = ()> + Send + 'static, StartError> {
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(StartError::os("installing the SIGHUP handler"))?;
    Ok(async move {
        #[cfg(unix)]
        while hup.recv().await.is_some() {
            let s = store.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload(ReloadTrigger::Signal)).await;
        }
        #[cfg(not(unix))]
        {
            let _ = store;
            std::future::pending::<()>().await;
        }
    })
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that
/// completes on the first of them.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static, StartError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(StartError::os("installing the SIGINT handler"))?;
        let mut terminate = signal(SignalKind::terminate())
            .map_err(StartError::os("installing the SIGTERM handler"))?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
