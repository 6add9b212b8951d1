//! Transport security: the real server with TLS on 127.0.0.1:0, called by real tonic clients
//! with certificates generated for the test ([`pki`]).
//!
//! | server | client | expected outcome |
//! |---|---|---|
//! | TLS only | TLS, trusts the CA | `Score` answers |
//! | TLS only | plaintext HTTP/2 | connects (TCP), then the call fails with UNKNOWN "transport error": the server takes the HTTP/2 preface for a bad TLS record and closes (broken pipe or reset) |
//! | TLS only | TLS, trusts another CA | `connect` fails: the client does not trust the server's certificate (`UnknownIssuer`) |
//! | mTLS required | TLS, no client certificate | the call fails with UNKNOWN: alert `CertificateRequired` from the server |
//! | mTLS required | certificate from another CA | the call fails with UNKNOWN: alert `UnknownCA` |
//! | mTLS required | expired certificate from the CA | the call fails with UNKNOWN: alert `CertificateExpired` |
//! | mTLS required | valid certificate from the CA | `Score` answers |
//! | mTLS optional | TLS, no client certificate | `Score` answers |
//! | mTLS optional | certificate from another CA | the call fails with UNKNOWN: alert `UnknownCA` |
//! | mTLS optional | expired certificate from the CA | the call fails with UNKNOWN: alert `CertificateExpired` |
//! | mTLS optional | valid certificate from the CA | `Score` answers |
//!
//! Why a refused client certificate shows at the first call and not at `connect`: in TLS 1.3
//! the client has finished its handshake when it sends its certificate, before the server has
//! checked it; the server's alert then arrives on the open connection. What the call reports is
//! a race between the request and the alert: UNKNOWN "transport error" with the alert in the
//! error's source (the usual case), UNKNOWN with a broken pipe or reset (the server closed while
//! the request was being written), or CANCELLED "connection closed" (closed before it was
//! written). All three count as the refusal; the harness tries a refused case again (up to 20
//! times) until the alert is there, and it must be the one in the table. UNAVAILABLE is what tonic reports for a connection it could not open at all. Each
//! group ends with a client that is served: a failed handshake drops that connection only,
//! never the server.
//!
//! Loading the settings (`TlsSettings::load`) names the file: a missing certificate, a key that
//! is not PEM, a key that does not match the certificate (rustls compares the public keys), a
//! client CA file without a certificate.

mod harness;
mod loading;
pub(crate) mod pki;

use bankscore::connect::ClientTls;
use bankscore::service::{ClientAuth, TlsSettings};

use harness::{check_cases, Expect, TlsServer};
use pki::Pki;

#[tokio::test]
async fn tls_serves_a_client_that_trusts_the_ca_and_refuses_plaintext_and_other_cas() {
    let pki = Pki::generate();
    let server = TlsServer::start(&TlsSettings::new(&pki.server.cert, &pki.server.key)).await;
    let plaintext = format!("http://{}", server.address);
    let cases = [
        (
            "right CA",
            server.https(),
            Some(ClientTls::new(&pki.ca)),
            Expect::Scored,
        ),
        ("plaintext", plaintext, None, Expect::RefusedAtCall("")),
        (
            "client trusts another CA",
            server.https(),
            Some(ClientTls::new(&pki.other_ca)),
            Expect::RefusedAtConnect("UnknownIssuer"),
        ),
        (
            "right CA after the refusals",
            server.https(),
            Some(ClientTls::new(&pki.ca)),
            Expect::Scored,
        ),
    ];
    check_cases(&cases).await;
    server.stop().await;
}

#[tokio::test]
async fn required_mutual_tls_serves_only_a_valid_client_certificate_from_the_client_ca() {
    let pki = Pki::generate();
    let settings = TlsSettings::new(&pki.server.cert, &pki.server.key)
        .with_client_ca(&pki.ca, ClientAuth::Required);
    let server = TlsServer::start(&settings).await;
    let with = |pair: &pki::Pair| ClientTls::new(&pki.ca).with_identity(&pair.cert, &pair.key);
    let cases = [
        (
            "no client certificate",
            server.https(),
            Some(ClientTls::new(&pki.ca)),
            Expect::RefusedAtCall("CertificateRequired"),
        ),
        (
            "client certificate from another CA",
            server.https(),
            Some(with(&pki.wrong_ca_client)),
            Expect::RefusedAtCall("UnknownCA"),
        ),
        (
            "expired client certificate",
            server.https(),
            Some(with(&pki.expired_client)),
            Expect::RefusedAtCall("CertificateExpired"),
        ),
        (
            "valid client certificate",
            server.https(),
            Some(with(&pki.client)),
            Expect::Scored,
        ),
    ];
    check_cases(&cases).await;
    server.stop().await;
}

#[tokio::test]
async fn optional_mutual_tls_serves_a_client_without_a_certificate_but_refuses_a_wrong_ca_one() {
    let pki = Pki::generate();
    let settings = TlsSettings::new(&pki.server.cert, &pki.server.key)
        .with_client_ca(&pki.ca, ClientAuth::Optional);
    let server = TlsServer::start(&settings).await;
    let with = |pair: &pki::Pair| ClientTls::new(&pki.ca).with_identity(&pair.cert, &pair.key);
    let cases = [
        (
            "no client certificate",
            server.https(),
            Some(ClientTls::new(&pki.ca)),
            Expect::Scored,
        ),
        (
            "client certificate from another CA",
            server.https(),
            Some(with(&pki.wrong_ca_client)),
            Expect::RefusedAtCall("UnknownCA"),
        ),
        (
            "expired client certificate",
            server.https(),
            Some(with(&pki.expired_client)),
            Expect::RefusedAtCall("CertificateExpired"),
        ),
        (
            "valid client certificate",
            server.https(),
            Some(with(&pki.client)),
            Expect::Scored,
        ),
    ];
    check_cases(&cases).await;
    server.stop().await;
}

#[tokio::test]
async fn call_reaches_a_mutual_tls_server_with_the_client_flags_and_fails_without_a_certificate() {
    let pki = Pki::generate();
    let settings = TlsSettings::new(&pki.server.cert, &pki.server.key)
        .with_client_ca(&pki.ca, ClientAuth::Required);
    let server = TlsServer::start(&settings).await;
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customer.json");
    let call = |with_identity: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"));
        cmd.args(["call", "score", "--request-id", "over-mtls", "--target"])
            .arg(server.https())
            .arg("--profile")
            .arg(&profile)
            .arg("--ca-cert")
            .arg(&pki.ca)
            .args(["--tls-domain", "localhost"]);
        if with_identity {
            cmd.arg("--client-cert")
                .arg(&pki.client.cert)
                .arg("--client-key")
                .arg(&pki.client.key);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let out = call(true).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("over-mtls"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = call(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && [
                "CertificateRequired",
                "transport error",
                "connection closed"
            ]
            .iter()
            .any(|e| stderr.contains(e)),
        "{stderr}"
    );
    server.stop().await;
}

#[tokio::test]
async fn with_tls_on_health_alone_is_served_in_plaintext_on_the_health_port() {
    use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

    let pki = Pki::generate();
    let settings = TlsSettings::new(&pki.server.cert, &pki.server.key);
    let server = TlsServer::start_with(&settings, true).await;
    let health = server.health.expect("a health port");
    let channel = tonic::transport::Channel::from_shared(format!("http://{health}"))
        .unwrap()
        .connect()
        .await
        .expect("a plaintext connection to the health port");
    // What a kubelet gRPC probe asks: no TLS, no token.
    for service in ["", "bankscore.v1.ScoringService"] {
        let reply = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers in plaintext")
            .into_inner();
        assert_eq!(
            reply.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }
    // Nothing else is served there.
    let e = ScoringServiceClient::new(channel)
        .score(pb::ScoreRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented, "{}", e.message());
    // The scoring port stays TLS only.
    let cases = [
        (
            "TLS on the main port",
            server.https(),
            Some(ClientTls::new(&pki.ca)),
            Expect::Scored,
        ),
        (
            "plaintext on the main port",
            format!("http://{}", server.address),
            None,
            Expect::RefusedAtCall(""),
        ),
    ];
    check_cases(&cases).await;
    server.stop().await;
    assert!(
        std::net::TcpStream::connect(health).is_err(),
        "the health port closes with the server"
    );
}
