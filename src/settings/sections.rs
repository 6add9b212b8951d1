//! The sections of the settings that belong to the process itself: `[server]`, `[models]`,
//! `[bulk]` and `[log]` (the other sections are their modules' own: `[auth]`, `[tls]`,
//! `[metrics]`, `[audit]`, `[outcomes]`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::service::Limits;

/// `[server]`: the gRPC listener and its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// A second, plaintext port serving `grpc.health.v1` alone (no token), for probes that
    /// cannot speak TLS or send tokens (Kubernetes' gRPC probes) when `[tls]` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_listen: Option<SocketAddr>,
    /// Tokio worker threads (default: one per core).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<usize>,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Calls the whole server works on at once; beyond, calls are refused at once with
    /// RESOURCE_EXHAUSTED instead of queueing (health checks are never refused).
    pub max_concurrent_requests: usize,
    /// Longest a unary call may take; a client's shorter `grpc-timeout` wins.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// HTTP/2 PING interval on idle connections.
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Duration,
    /// A connection whose PING is not answered within this is closed.
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// Connections older than this are asked to go away (GOAWAY) so clients reconnect and load
    /// spreads over new instances; calls in flight finish.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// How long calls in flight may run after shutdown begins.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Connections open at once; a connection beyond is closed at once.
    pub max_connections: usize,
    /// A connection that has not sent the HTTP/2 preface within this is closed.
    #[serde(with = "humantime_serde")]
    pub preface_timeout: Duration,
}

impl Default for ServerSettings {
    /// Loopback port 50051, one worker thread per core, and the server's default [`Limits`].
    fn default() -> Self {
        let l = Limits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            health_listen: None,
            worker_threads: None,
            max_message_bytes: l.max_message_bytes,
            max_concurrent_streams: l.max_concurrent_streams,
            max_concurrent_requests: l.max_concurrent_requests,
            request_timeout: l.request_timeout,
            keepalive_interval: l.keepalive_interval,
            keepalive_timeout: l.keepalive_timeout,
            max_connection_age: l.max_connection_age,
            drain_timeout: l.drain_timeout,
            max_connections: l.max_connections,
            preface_timeout: l.preface_timeout,
        }
    }
}

impl ServerSettings {
    /// What the server allows each connection and call.
    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_concurrent_streams: self.max_concurrent_streams,
            max_concurrent_requests: self.max_concurrent_requests,
            request_timeout: self.request_timeout,
            keepalive_interval: self.keepalive_interval,
            keepalive_timeout: self.keepalive_timeout,
            max_connection_age: self.max_connection_age,
            drain_timeout: self.drain_timeout,
            max_connections: self.max_connections,
            preface_timeout: self.preface_timeout,
        }
    }
}

/// `[models]`: where the models are and how changes are noticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsSettings {
    /// The models directory.
    pub dir: PathBuf,
    /// Which model of the directory to serve when it holds several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How often the directory is checked for changes; 0 turns watching off.
    #[serde(with = "humantime_serde")]
    pub watch_poll: Duration,
    /// A change must be stable this long before it is loaded.
    #[serde(with = "humantime_serde")]
    pub watch_debounce: Duration,
}

impl Default for ModelsSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("models"),
            name: None,
            watch_poll: Duration::from_secs(1),
            watch_debounce: Duration::from_secs(2),
        }
    }
}

/// `[bulk]`: bulk scoring and planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkSettings {
    /// Low-priority threads for bulk work (default: one per core).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Bulk streams (ScoreStream, PlanCampaign) at once.
    pub max_streams: usize,
}

impl Default for BulkSettings {
    fn default() -> Self {
        Self {
            threads: None,
            max_streams: 4,
        }
    }
}

/// `[log]`: log output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: crate::telemetry::LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: crate::telemetry::LogFormat::Text,
        }
    }
}
