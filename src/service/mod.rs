//! The gRPC edge: generated types, conversions, the scoring and outcome handlers, the Open
//! Inference Protocol, the server and its TLS.

mod admin;
pub mod auth;
mod batch;
mod bulk;
mod campaign;
mod connections;
pub mod convert;
pub mod error;
pub mod guard;
pub mod inference;
mod outcomes;
mod pipeline;
mod scoring;
mod server;
mod tls;
pub mod trace;

pub use admin::AdminApi;
pub use batch::{BatchApi, MAX_RECORDS_PER_CHUNK};
pub use bulk::{Bulk, IDLE_TIMEOUT, SLOW_READER_TIMEOUT};
pub use error::FieldError;
pub use inference::InferenceApi;
pub use outcomes::{OutcomeApi, MAX_OUTCOMES_PER_CALL};
pub use scoring::ScoringApi;
pub use server::{
    serve, serve_with, Limits, ServeError, ServerConfig, MAX_CONCURRENT_STREAMS, MAX_MESSAGE_BYTES,
};
pub use tls::{ClientAuth, TlsError, TlsSettings, TLS_HANDSHAKE_TIMEOUT};

/// Generated `bankscore.v1` messages, client and server.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("bankscore.v1");
    // serde in the proto3 JSON mapping, from pbjson-build.
    include!(concat!(env!("OUT_DIR"), "/bankscore.v1.serde.rs"));

    /// Encoded descriptor set of `bankscore.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/bankscore_descriptor.bin"));
}
