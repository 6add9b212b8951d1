//! Serves the shipped models over TLS from a `[tls]` table, for trials and for measuring TLS
//! until `bankscore serve` reads `[tls]` from its settings file.
//!
//! ```sh
//! cargo run --release --example serve_tls -- tls.toml 127.0.0.1:50443
//! ```
//!
//! `tls.toml` holds a `[tls]` table as the settings file will (see the README). One runtime
//! worker thread, as in the loadgen benchmark; the models directory is not watched.

use std::sync::Arc;

use anyhow::Context;
use bankscore::model_store::ModelStore;
use bankscore::service::{ServerConfig, TlsSettings};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls: TlsSettings,
}

fn main() -> anyhow::Result<()> {
    bankscore::telemetry::init_tracing("info");
    let mut args = std::env::args().skip(1);
    let path = args.next().context("usage: serve_tls TLS_TOML [LISTEN]")?;
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:50443".into());
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let file: File = toml::from_str(&text).with_context(|| format!("parsing {path}"))?;
    let tls = file.tls.load()?;
    tracing::info!(client_auth = ?file.tls.effective_client_auth(), "TLS loaded");
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let (store, _) = ModelStore::open(&models, None)?;
    let config = ServerConfig {
        tls: Some(tls),
        ..Default::default()
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            tracing::info!(address = %listener.local_addr()?, "bankscore serving over TLS");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            bankscore::service::serve_with(listener, Arc::new(store), config, shutdown).await
        })
}
