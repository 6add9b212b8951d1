//! Transport security for the server: the `[tls]` settings, checked and loaded at start-up.
//!
//! TLS is rustls with the ring provider (tonic's `tls-ring`), at rustls's default protocol
//! versions: TLS 1.2 and 1.3, nothing older. With a client CA the server asks for client
//! certificates (mutual TLS) and checks them against that CA, their validity dates included.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// How long a client may take over the TLS handshake before the server drops the connection,
/// so that clients which connect and then say nothing cannot pile up handshakes.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS settings, embedded as `[tls]` in the service settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain the server presents, its own certificate first.
    pub cert: PathBuf,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificate(s) client certificates must chain to; set, it turns on mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// Whether a client must present a certificate; only meaningful with `client_ca`, and
    /// [`ClientAuth::Required`] when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuth>,
}

/// Whether clients must present a certificate when a client CA is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A client without a certificate signed by the client CA is refused in the handshake.
    #[default]
    Required,
    /// A client may connect without a certificate; one that presents a certificate must still
    /// present a valid one from the client CA.
    Optional,
}

/// Why the TLS settings cannot be loaded; each names the setting and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{setting} {}: cannot read the file", path.display())]
    Read {
        /// The setting that names the file, e.g. `tls.cert`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM block of the kind the setting needs.
    #[error("{setting} {}: not PEM, or no {expected} in it", path.display())]
    NotPem {
        /// The setting that names the file.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What was looked for, e.g. `CERTIFICATE block`.
        expected: &'static str,
    },
    /// The private key is not the key of the certificate.
    #[error("tls.key {} does not match the certificate in tls.cert {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The private key or the certificate could not be used (unsupported algorithm, bad DER).
    #[error("tls.cert {} with tls.key {}: {reason}", cert.display(), key.display())]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// A client CA certificate is not a usable trust anchor.
    #[error("tls.client_ca {}: not a usable CA certificate: {reason}", path.display())]
    BadClientCa {
        /// The client CA file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// `client_auth` is set without `client_ca`: there would be nothing to check certificates
    /// against, and the server would silently accept every client.
    #[error("tls.client_auth is set but tls.client_ca is not: set the CA that signs client certificates, or remove client_auth")]
    ClientAuthWithoutCa,
}

impl TlsSettings {
    /// TLS with `cert` and `key`, no client certificates.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
            client_auth: None,
        }
    }

    /// Mutual TLS: client certificates checked against `ca`, required or optional per `auth`.
    pub fn with_client_ca(mut self, ca: impl Into<PathBuf>, auth: ClientAuth) -> Self {
        self.client_ca = Some(ca.into());
        self.client_auth = Some(auth);
        self
    }

    /// What is asked of clients: `None` without a client CA, else the configured (or default)
    /// [`ClientAuth`].
    pub fn effective_client_auth(&self) -> Option<ClientAuth> {
        self.client_ca
            .as_ref()
            .map(|_| self.client_auth.unwrap_or_default())
    }

    /// Reads and checks the files, and returns the server's TLS configuration: certificate and
    /// key parse and belong together, the client CA is a usable trust anchor.
    ///
    /// # Errors
    /// A file is missing or unreadable, is not PEM, the key does not match the certificate, the
    /// client CA is unusable, or `client_auth` is set without `client_ca` (see [`TlsError`]).
    pub fn load(&self) -> Result<ServerTlsConfig, TlsError> {
        if self.client_ca.is_none() && self.client_auth.is_some() {
            return Err(TlsError::ClientAuthWithoutCa);
        }
        let cert_pem = read("tls.cert", &self.cert)?;
        let key_pem = read("tls.key", &self.key)?;
        let chain = parse_certs("tls.cert", &self.cert, &cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NotPem {
            setting: "tls.key",
            path: self.key.clone(),
            expected: "PRIVATE KEY block",
        })?;
        self.check_key_matches(chain, key)?;
        let mut config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&cert_pem, &key_pem))
            .timeout(TLS_HANDSHAKE_TIMEOUT);
        if let Some(ca) = &self.client_ca {
            let ca_pem = read("tls.client_ca", ca)?;
            check_client_ca(ca, &ca_pem)?;
            config = config
                .client_ca_root(Certificate::from_pem(&ca_pem))
                .client_auth_optional(self.effective_client_auth() == Some(ClientAuth::Optional));
        }
        Ok(config)
    }

    /// rustls compares the key's public half with the certificate's (tonic would only find a
    /// mismatch when building its acceptor, with an error that names no file).
    fn check_key_matches(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<(), TlsError> {
        let provider = rustls::crypto::ring::default_provider();
        match rustls::sign::CertifiedKey::from_der(chain, key, &provider) {
            Ok(_) => Ok(()),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(TlsError::KeyMismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                })
            }
            Err(e) => Err(TlsError::Unusable {
                cert: self.cert.clone(),
                key: self.key.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        setting,
        path: path.to_owned(),
        source,
    })
}

/// The `CERTIFICATE` blocks of a PEM file; none at all is an error, not an empty chain.
fn parse_certs(
    setting: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let not_pem = || TlsError::NotPem {
        setting,
        path: path.to_owned(),
        expected: "CERTIFICATE block",
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    Ok(certs)
}

/// Every certificate must be a trust anchor rustls accepts: tonic skips the ones it cannot
/// parse, which could leave a server trusting fewer CAs than its operator meant.
fn check_client_ca(path: &Path, pem: &[u8]) -> Result<(), TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in parse_certs("tls.client_ca", path, pem)? {
        roots.add(cert).map_err(|e| TlsError::BadClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| TlsError::BadClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_from_toml_default_client_auth_to_required_when_a_client_ca_is_set() {
        let s: TlsSettings =
            toml::from_str("cert = \"s.pem\"\nkey = \"s.key\"\nclient_ca = \"ca.pem\"\n").unwrap();
        assert_eq!(s.effective_client_auth(), Some(ClientAuth::Required));
        let s: TlsSettings = toml::from_str("cert = \"s.pem\"\nkey = \"s.key\"\n").unwrap();
        assert_eq!(s.effective_client_auth(), None);
    }

    #[test]
    fn settings_read_optional_client_auth_in_snake_case() {
        let s: TlsSettings = toml::from_str(
            "cert = \"s.pem\"\nkey = \"s.key\"\nclient_ca = \"ca.pem\"\nclient_auth = \"optional\"\n",
        )
        .unwrap();
        assert_eq!(s.effective_client_auth(), Some(ClientAuth::Optional));
    }

    #[test]
    fn settings_reject_unknown_keys() {
        let e = toml::from_str::<TlsSettings>("cert = \"a\"\nkey = \"b\"\nclient_cert = \"c\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("client_cert"), "{e}");
    }

    #[test]
    fn settings_round_trip_through_toml() {
        let s = TlsSettings::new("s.pem", "s.key").with_client_ca("ca.pem", ClientAuth::Optional);
        let text = toml::to_string(&s).unwrap();
        assert_eq!(toml::from_str::<TlsSettings>(&text).unwrap(), s);
    }

    #[test]
    fn client_auth_without_a_client_ca_is_refused_before_any_file_is_read() {
        let mut s = TlsSettings::new("/nonexistent/s.pem", "/nonexistent/s.key");
        s.client_auth = Some(ClientAuth::Required);
        assert!(matches!(s.load(), Err(TlsError::ClientAuthWithoutCa)));
    }
}
