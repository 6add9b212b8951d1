//! `TlsSettings::load` refuses bad files at start-up and names them.

use bankscore::service::{ClientAuth, TlsError, TlsSettings};

use super::pki::Pki;

#[test]
fn loading_names_the_certificate_file_when_it_is_missing() {
    let pki = Pki::generate();
    let missing = pki.dir().join("no-such-cert.pem");
    let e = TlsSettings::new(&missing, &pki.server.key)
        .load()
        .unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::Read {
                setting: "tls.cert",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no-such-cert.pem"), "{e}");
}

#[test]
fn loading_names_the_key_file_when_it_is_not_pem() {
    let pki = Pki::generate();
    let key = pki.dir().join("garbage.key");
    std::fs::write(&key, "this is not a private key\n").unwrap();
    let e = TlsSettings::new(&pki.server.cert, &key).load().unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::NotPem {
                setting: "tls.key",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("garbage.key"), "{e}");
}

#[test]
fn loading_names_both_files_when_the_key_does_not_match_the_certificate() {
    let pki = Pki::generate();
    let e = TlsSettings::new(&pki.server.cert, &pki.client.key)
        .load()
        .unwrap_err();
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("server.pem") && shown.contains("client.key"),
        "{shown}"
    );
}

#[test]
fn loading_names_the_client_ca_file_when_it_holds_no_certificate() {
    let pki = Pki::generate();
    let e = TlsSettings::new(&pki.server.cert, &pki.server.key)
        .with_client_ca(&pki.client.key, ClientAuth::Required)
        .load()
        .unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::NotPem {
                setting: "tls.client_ca",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("client.key"), "{e}");
}
