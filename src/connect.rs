//! How bankscore's own clients (`call`, `models`, `loadgen`, `streamgen` and the tests) reach a
//! server: TLS (the CA that signs the server's certificate and, for mutual TLS, a client
//! certificate) and the bearer token sent with every call.
//!
//! An `https://` target needs a CA; a CA with an `http://` target is refused rather than
//! silently ignored, so a typo in the scheme never sends customer data in the clear.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// How a client checks the server and, optionally, proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// PEM CA certificate(s) the server's certificate must chain to.
    pub ca: PathBuf,
    /// PEM client certificate, for servers that ask for one (mutual TLS).
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// Name to check the server's certificate against; default: the target's host.
    pub domain: Option<String>,
}

/// Why a client cannot be set up for the target.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    /// A file could not be read.
    #[error("{flag} {}: cannot read the file", path.display())]
    Read {
        /// The flag that names the file, e.g. `--ca-cert`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A token that cannot go in a header.
    #[error("--token holds characters an HTTP header cannot carry")]
    BadToken,
    /// Only one of client certificate and key was given.
    #[error("--client-cert and --client-key go together")]
    CertWithoutKey,
    /// A TLS flag was given without `--ca-cert`.
    #[error("--client-cert, --client-key and --tls-domain need --ca-cert")]
    FlagsWithoutCa,
    /// An `https://` target without a CA to check the server against.
    #[error("{target} is https: give the CA that signs the server's certificate with --ca-cert")]
    HttpsWithoutCa {
        /// The target.
        target: String,
    },
    /// TLS settings with a plaintext target.
    #[error("{target} is plaintext but TLS was asked for: use an https:// target")]
    TlsWithoutHttps {
        /// The target.
        target: String,
    },
    /// The target is not a URI, or tonic refused the TLS configuration.
    #[error("target {target}: {source}")]
    Endpoint {
        /// The target.
        target: String,
        /// What tonic said.
        #[source]
        source: tonic::transport::Error,
    },
}

/// How a client command was told to connect (its `--ca-cert`, `--client-cert`,
/// `--client-key`, `--tls-domain` and `--token` flags, or their `BANKSCORE_*` variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// PEM CA certificate that signs the server's certificate (for https:// targets).
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate, for a server that asks for one (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Name the server's certificate must carry; default: the target's host.
    pub tls_domain: Option<String>,
    /// Bearer token sent with every call.
    pub token: Option<String>,
}

/// Adds `authorization: Bearer <token>` to every call, when there is a token.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// The token to send; `None` sends none.
    ///
    /// # Errors
    /// The token holds characters a header cannot carry.
    pub fn new(token: Option<&str>) -> Result<Self, ClientTlsError> {
        token
            .map(|t| {
                format!("Bearer {t}")
                    .parse()
                    .map_err(|_| ClientTlsError::BadToken)
            })
            .transpose()
            .map(Self)
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

/// A channel that sends the bearer token with every call.
pub type Connection =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

impl ConnectOptions {
    /// The bearer token the flags give.
    ///
    /// # Errors
    /// The token holds characters a header cannot carry.
    pub fn bearer(&self) -> Result<Bearer, ClientTlsError> {
        Bearer::new(self.token.as_deref())
    }

    /// The client TLS the flags ask for; `None` without `--ca-cert`.
    ///
    /// # Errors
    /// A certificate without its key (or the reverse), or client TLS flags without `--ca-cert`.
    pub fn client_tls(&self) -> Result<Option<ClientTls>, ClientTlsError> {
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(ClientTlsError::CertWithoutKey);
        }
        let Some(ca) = &self.ca_cert else {
            if self.client_cert.is_some() || self.tls_domain.is_some() {
                return Err(ClientTlsError::FlagsWithoutCa);
            }
            return Ok(None);
        };
        Ok(Some(ClientTls {
            ca: ca.clone(),
            cert: self.client_cert.clone(),
            key: self.client_key.clone(),
            domain: self.tls_domain.clone(),
        }))
    }
}

impl ClientTls {
    /// TLS trusting `ca`, without a client certificate.
    pub fn new(ca: impl Into<PathBuf>) -> Self {
        Self {
            ca: ca.into(),
            cert: None,
            key: None,
            domain: None,
        }
    }

    /// The same, presenting `cert` (with its `key`) when the server asks for one.
    pub fn with_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert = Some(cert.into());
        self.key = Some(key.into());
        self
    }

    /// The same, checking the server's certificate against `domain` instead of the target's host.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Reads the files into tonic's client TLS configuration.
    ///
    /// # Errors
    /// A file cannot be read, or only one of certificate and key is set.
    pub fn config(&self) -> Result<ClientTlsConfig, ClientTlsError> {
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("--ca-cert", &self.ca)?));
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(
                    read("--client-cert", cert)?,
                    read("--client-key", key)?,
                ));
            }
            (None, None) => {}
            _ => return Err(ClientTlsError::CertWithoutKey),
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        Ok(config)
    }
}

/// An endpoint for `target`, with TLS when the target is `https://`. Connecting is left to the
/// caller, which may set more options first.
///
/// # Errors
/// The target is not a URI, its scheme and `tls` disagree, or a TLS file cannot be read.
pub fn endpoint(target: &str, tls: Option<&ClientTls>) -> Result<Endpoint, ClientTlsError> {
    let endpoint_error = |source| ClientTlsError::Endpoint {
        target: target.to_owned(),
        source,
    };
    let endpoint = Endpoint::from_shared(target.to_owned()).map_err(endpoint_error)?;
    let https = endpoint.uri().scheme_str() == Some("https");
    match (https, tls) {
        (true, Some(tls)) => endpoint.tls_config(tls.config()?).map_err(endpoint_error),
        (false, None) => Ok(endpoint),
        (true, None) => Err(ClientTlsError::HttpsWithoutCa {
            target: target.to_owned(),
        }),
        (false, Some(_)) => Err(ClientTlsError::TlsWithoutHttps {
            target: target.to_owned(),
        }),
    }
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, ClientTlsError> {
    std::fs::read(path).map_err(|source| ClientTlsError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_target_without_a_ca_is_refused() {
        let e = endpoint("https://127.0.0.1:50051", None).unwrap_err();
        assert!(matches!(e, ClientTlsError::HttpsWithoutCa { .. }), "{e}");
    }

    #[test]
    fn a_ca_with_a_plaintext_target_is_refused_rather_than_ignored() {
        let tls = ClientTls::new("ca.pem");
        let e = endpoint("http://127.0.0.1:50051", Some(&tls)).unwrap_err();
        assert!(matches!(e, ClientTlsError::TlsWithoutHttps { .. }), "{e}");
    }

    #[test]
    fn a_missing_ca_file_is_named_with_its_flag() {
        let tls = ClientTls::new("/nonexistent/ca.pem");
        let e = endpoint("https://127.0.0.1:50051", Some(&tls)).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("--ca-cert") && shown.contains("/nonexistent/ca.pem"),
            "{shown}"
        );
    }

    #[test]
    fn client_flags_without_a_ca_are_refused() {
        let flags = ConnectOptions {
            tls_domain: Some("scoring.bank.internal".into()),
            ..Default::default()
        };
        assert!(matches!(
            flags.client_tls(),
            Err(ClientTlsError::FlagsWithoutCa)
        ));
        assert_eq!(ConnectOptions::default().client_tls().unwrap(), None);
    }
}
