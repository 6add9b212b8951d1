//! The TLS and token flags of the client commands (`call`, `models`, `loadgen`, `streamgen`).

use std::path::PathBuf;

use clap::Args;

use bankscore::connect::ConnectOptions;

#[derive(Debug, Clone, Default, Args)]
pub struct ConnectFlags {
    /// PEM CA certificate that signs the server's certificate (for https:// targets).
    #[arg(long, env = "BANKSCORE_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// PEM client certificate, for a server that asks for one (mutual TLS).
    #[arg(long, env = "BANKSCORE_CLIENT_CERT", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, env = "BANKSCORE_CLIENT_KEY", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Name the server's certificate must carry; default: the target's host.
    #[arg(long)]
    tls_domain: Option<String>,
    /// Bearer token sent with every call (`bankscore token` makes one).
    #[arg(long, env = "BANKSCORE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl From<ConnectFlags> for ConnectOptions {
    fn from(f: ConnectFlags) -> Self {
        Self {
            ca_cert: f.ca_cert,
            client_cert: f.client_cert,
            client_key: f.client_key,
            tls_domain: f.tls_domain,
            token: f.token,
        }
    }
}
