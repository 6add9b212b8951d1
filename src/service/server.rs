//! `serve`: the gRPC server on a bound listener, with health, reflection and graceful shutdown.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Server, ServerTlsConfig};

use super::admin::AdminApi;
use super::auth::Authenticator;
use super::batch::BatchApi;
use super::bulk::Bulk;
use super::guard::GuardLayer;
use super::inference::v2::grpc_inference_service_server::GrpcInferenceServiceServer;
use super::inference::InferenceApi;
use super::outcomes::OutcomeApi;
use super::pb::{
    self, batch_scoring_service_server::BatchScoringServiceServer,
    model_admin_service_server::ModelAdminServiceServer,
    outcome_service_server::OutcomeServiceServer, scoring_service_server::ScoringServiceServer,
};
use super::scoring::ScoringApi;
use super::trace::TraceLayer;
use crate::audit::{AuditLog, OutcomeLog};
use crate::metrics::{Metrics, RequestMetricsLayer};
use crate::model_store::ModelStore;

/// Largest request or response message by default, in bytes (a profile is well under 4 KiB).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Concurrent HTTP/2 streams a client may open on one connection, by default.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;
/// Reset streams a connection may leave pending before the server closes it (rapid-reset defence).
pub const MAX_PENDING_RESET_STREAMS: usize = 64;
/// Locally reset streams per connection before the server sends GOAWAY.
pub const MAX_LOCAL_RESET_STREAMS: usize = 256;
/// HTTP/2 receive window per stream.
pub const STREAM_WINDOW_BYTES: u32 = 1024 * 1024;
/// HTTP/2 receive window per connection: several stream windows, so one stream whose data the
/// server is not reading yet (a bulk stream under backpressure) cannot stall the others.
pub const CONNECTION_WINDOW_BYTES: u32 = 8 * STREAM_WINDOW_BYTES;

/// Server settings beyond the listener and the models.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Low-priority threads for bulk scoring and planning.
    pub bulk_threads: usize,
    /// Bulk streams (ScoreStream, PlanCampaign) allowed at once.
    pub max_bulk_streams: usize,
    /// Where every decision is recorded before it is returned; closed (flushed) at shutdown.
    pub audit: Option<Arc<AuditLog>>,
    /// Where `ReportOutcomes` records outcomes; closed (flushed) at shutdown. `None`: the RPC
    /// answers FAILED_PRECONDITION.
    pub outcomes: Option<Arc<OutcomeLog>>,
    /// Where calls and answers are counted; `None` records nothing.
    pub metrics: Option<Arc<Metrics>>,
    /// Who may call; `None` lets every caller in.
    pub auth: Option<Arc<Authenticator>>,
    /// Message size, stream, concurrency, deadline, keep-alive, connection-age and drain limits.
    pub limits: Limits,
    /// A plaintext listener serving `grpc.health.v1` alone, beside the main one (for probes
    /// that cannot do TLS or tokens); it follows the same health, and closes with the server.
    pub health_listener: Option<Arc<std::net::TcpListener>>,
    /// TLS (and mutual TLS) from [`TlsSettings::load`](super::TlsSettings::load), loaded before
    /// the port opens so that a bad file stops start-up; `None` serves plaintext HTTP/2.
    pub tls: Option<ServerTlsConfig>,
}

/// What the server allows each connection and call (the `[server]` settings but the listen
/// address and the threads, which are the process's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Calls the whole server works on at once; beyond, calls are refused at once with
    /// RESOURCE_EXHAUSTED instead of queueing (health checks are never refused).
    pub max_concurrent_requests: usize,
    /// Longest a unary call may take; a client's shorter `grpc-timeout` wins.
    pub request_timeout: Duration,
    /// HTTP/2 PING interval on idle connections.
    pub keepalive_interval: Duration,
    /// A connection whose PING is not answered within this is closed.
    pub keepalive_timeout: Duration,
    /// Connections older than this are asked to go away (GOAWAY) so clients reconnect.
    pub max_connection_age: Duration,
    /// How long calls in flight may run after shutdown begins.
    pub drain_timeout: Duration,
    /// Connections open at once; a connection beyond is closed at once.
    pub max_connections: usize,
    /// A connection that has not sent the HTTP/2 preface within this is closed.
    pub preface_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: MAX_MESSAGE_BYTES,
            max_concurrent_streams: MAX_CONCURRENT_STREAMS,
            max_concurrent_requests: 2048,
            request_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(3600),
            drain_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            preface_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for ServerConfig {
    /// One bulk thread per core, four bulk streams, no audit or outcomes log, no metrics, no authentication,
    /// the default limits, plaintext.
    fn default() -> Self {
        Self {
            bulk_threads: std::thread::available_parallelism().map_or(1, usize::from),
            max_bulk_streams: 4,
            audit: None,
            outcomes: None,
            metrics: None,
            auth: None,
            limits: Limits::default(),
            health_listener: None,
            tls: None,
        }
    }
}

/// Why the server could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptors.
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed, or rustls refused the TLS configuration.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The health listener could not be used.
    #[error("health listener: {0}")]
    HealthListener(std::io::Error),
}

/// [`serve_with`] the default [`ServerConfig`].
///
/// # Errors
/// The transport fails.
pub async fn serve(
    listener: TcpListener,
    store: Arc<ModelStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with(listener, store, ServerConfig::default(), shutdown).await
}

/// Serves the scoring, batch, outcome and model-admin APIs, the Open Inference Protocol
/// (`inference.GRPCInferenceService`), `grpc.health.v1` and server reflection (v1
/// and v1alpha) on `listener` until `shutdown` completes, then lets in-flight calls finish (up
/// to the drain timeout) and closes the audit and outcomes logs.
///
/// Health reports NOT_SERVING until the services are registered with their models, and again
/// once shutdown begins. With [`ServerConfig::tls`] every connection is TLS: the handshakes run
/// beside the accept loop, and one that fails (or outlasts the handshake timeout) drops that
/// connection only.
///
/// # Errors
/// The transport fails, or rustls refuses the TLS configuration.
pub async fn serve_with(
    listener: TcpListener,
    store: Arc<ModelStore>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_not_serving::<ScoringServiceServer<ScoringApi>>()
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let limits = &config.limits;
    let bulk = Arc::new(Bulk::new(config.bulk_threads, config.max_bulk_streams));
    let admin = ModelAdminServiceServer::new(AdminApi::new(store.clone(), bulk.clone()));
    // The Open Inference Protocol: ready from here until shutdown begins.
    let inference_ready = Arc::new(AtomicBool::new(true));
    let inference = InferenceApi::new(
        store.clone(),
        bulk.clone(),
        config.audit.clone(),
        config.metrics.clone(),
        inference_ready.clone(),
    );
    let inference = GrpcInferenceServiceServer::new(inference)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    let batch = BatchApi::new(store.clone(), bulk)
        .with_audit(config.audit.clone().filter(|a| a.audits_streams()))
        .with_metrics(config.metrics.clone())
        .with_max_message_bytes(limits.max_message_bytes);
    let batch = BatchScoringServiceServer::new(batch)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    let scoring = ScoringApi::new(store)
        .with_audit(config.audit.clone())
        .with_metrics(config.metrics.clone());
    let scoring = ScoringServiceServer::new(scoring)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    let outcomes = OutcomeServiceServer::new(OutcomeApi::new(config.outcomes.clone()))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    health
        .set_serving::<ScoringServiceServer<ScoringApi>>()
        .await;
    health
        .set_serving::<OutcomeServiceServer<OutcomeApi>>()
        .await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let on_shutdown = {
        let health = health.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: health NOT_SERVING, finishing in-flight calls");
            inference_ready.store(false, Ordering::Relaxed);
            health
                .set_not_serving::<ScoringServiceServer<ScoringApi>>()
                .await;
            health
                .set_not_serving::<OutcomeServiceServer<OutcomeApi>>()
                .await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            let _ = draining_tx.send(());
        }
    };
    // A client that keeps its connection open must not hold the process past the drain timeout.
    let drain_timeout = limits.drain_timeout;
    let drain_deadline = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(drain_timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };

    // Health alone, in plaintext and without tokens, on the health listener (probes).
    let health_port = match &config.health_listener {
        Some(listener) => {
            let listener = listener
                .try_clone()
                .and_then(|l| {
                    l.set_nonblocking(true)?;
                    TcpListener::from_std(l)
                })
                .map_err(ServeError::HealthListener)?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            let task = tokio::spawn(
                Server::builder()
                    .add_service(health_service.clone())
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    }),
            );
            Some((stop, task))
        }
        None => None,
    };

    // At most max_connections at once, each closed without its preface in time; no Nagle.
    let incoming =
        super::connections::admit(listener, limits.max_connections, limits.preface_timeout);
    let mut builder = Server::builder();
    if let Some(tls) = config.tls.clone() {
        // Applies to any incoming stream, our TcpIncoming included: tonic wraps it and runs
        // the rustls handshake on each accepted connection before HTTP/2 starts.
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .max_concurrent_streams(limits.max_concurrent_streams)
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_RESET_STREAMS))
        .http2_max_local_error_reset_streams(Some(MAX_LOCAL_RESET_STREAMS))
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .max_connection_age(limits.max_connection_age)
        // Outermost, so that calls the guard refuses are traced too.
        .layer(TraceLayer)
        .layer(RequestMetricsLayer::new(
            config.metrics.as_ref().map(|m| m.requests()),
        ))
        .layer(GuardLayer::new(
            config.auth.clone(),
            limits.max_concurrent_requests,
            limits.request_timeout,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(scoring)
        .add_service(admin)
        .add_service(batch)
        .add_service(outcomes)
        .add_service(inference)
        .serve_with_incoming_shutdown(incoming, on_shutdown);
    let served = tokio::select! {
        result = server => result,
        () = drain_deadline => {
            tracing::warn!(timeout = ?drain_timeout, "drain timeout reached; closing remaining connections");
            Ok(())
        }
    };
    if let Some((stop, task)) = health_port {
        let _ = stop.send(());
        if let Ok(Err(e)) = task.await {
            tracing::warn!(cause = %e, "the health listener failed");
        }
    }
    if let Some(audit) = &config.audit {
        if let Err(e) = audit.close().await {
            tracing::error!(cause = %e, "closing the audit log");
        }
    }
    if let Some(outcomes) = &config.outcomes {
        if let Err(e) = outcomes.close().await {
            tracing::error!(cause = %e, "closing the outcomes log");
        }
    }
    Ok(served?)
}
