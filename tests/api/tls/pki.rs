//! A throw-away PKI made with rcgen when a test runs, in a temporary directory: nothing with a
//! private key is ever checked in.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, as PEM files.
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every certificate the TLS matrix needs.
pub struct Pki {
    /// The CA that signs the server's and the valid client's certificates.
    pub ca: PathBuf,
    /// A CA that has nothing to do with the server.
    pub other_ca: PathBuf,
    /// The server's certificate, for `localhost` and 127.0.0.1.
    pub server: Pair,
    /// A client certificate from `ca`, valid now.
    pub client: Pair,
    /// A client certificate from `other_ca`.
    pub wrong_ca_client: Pair,
    /// A client certificate from `ca` that expired in 2021.
    pub expired_client: Pair,
    dir: tempfile::TempDir,
}

impl Pki {
    /// Generates the CAs and certificates (ECDSA P-256) into a new temporary directory.
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = new_ca("bankscore test CA");
        let other_ca = new_ca("bankscore other test CA");
        let server = leaf(&ca, "server", &["localhost", "127.0.0.1"], Usage::Server);
        let client = leaf(&ca, "branch-app", &[], Usage::Client);
        let wrong = leaf(&other_ca, "stranger", &[], Usage::Client);
        let expired = leaf(&ca, "retired-app", &[], Usage::ExpiredClient);
        let d = dir.path();
        Self {
            ca: write(d, "ca.pem", &ca.pem()),
            other_ca: write(d, "other-ca.pem", &other_ca.pem()),
            server: server.write(d, "server"),
            client: client.write(d, "client"),
            wrong_ca_client: wrong.write(d, "wrong-ca-client"),
            expired_client: expired.write(d, "expired-client"),
            dir,
        }
    }

    /// The directory the files are in, for tests that add files of their own.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

type Ca = CertifiedIssuer<'static, KeyPair>;

fn new_ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

enum Usage {
    Server,
    Client,
    /// A client certificate valid from 2020-01-01 to 2021-01-01.
    ExpiredClient,
}

struct Generated {
    cert: String,
    key: String,
}

impl Generated {
    fn write(&self, dir: &Path, stem: &str) -> Pair {
        Pair {
            cert: write(dir, &format!("{stem}.pem"), &self.cert),
            key: write(dir, &format!("{stem}.key"), &self.key),
        }
    }
}

fn leaf(ca: &Ca, name: &str, sans: &[&str], usage: Usage) -> Generated {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match usage {
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Usage::Client | Usage::ExpiredClient => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    if matches!(usage, Usage::ExpiredClient) {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    Generated {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}
