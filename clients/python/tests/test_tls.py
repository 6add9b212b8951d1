"""TLS and mutual TLS against a server with `[tls]` settings (throw-away certificates from openssl)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import bankscore
from conftest import start_server, stop_server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
SERVER_NAME = "scoring.bankscore.test"  # the only name in the server's certificate


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """ca.pem signs server.pem (DNS:scoring.bankscore.test) and client.pem; other-ca.pem signs nothing used."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-days", "2", "-subj", f"/CN=bankscore test {ca}", "-keyout", f"{ca}.key",
                "-out", f"{ca}.pem", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, ext in (("server", f"subjectAltName=DNS:{SERVER_NAME}\nextendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        openssl("req", *ec, "-subj", f"/CN=bankscore test {name}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        (d / f"{name}.ext").write_text(ext)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def tls_server(binary, tokens, tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    make_pki(d)
    config = d / "tls.toml"
    config.write_text(
        tokens["auth"]
        + f'\n[tls]\ncert = "{d / "server.pem"}"\nkey = "{d / "server.key"}"\nclient_ca = "{d / "ca.pem"}"\n'
        + 'client_auth = "required"\n'
    )
    server = start_server(binary, config, d / "serve.log")
    try:
        yield server, d
    finally:
        stop_server(server.process)


def test_mutual_tls(tls_server, tokens, customer):
    server, d = tls_server
    tls = bankscore.TlsConfig(ca_cert=d / "ca.pem", client_cert=d / "client.pem", client_key=str(d / "client.key"),
                              server_name=SERVER_NAME)
    with bankscore.Client(server.target, token=tokens["scorer"], tls=tls) as c:
        assert c.score(customer)["decision"]["best"]["action_id"] == "resolve_complaint"
        assert len(list(c.score_stream([customer] * 3))) == 3
    # The same as a dict of TlsConfig fields, with the certificates as bytes and an https:// target.
    as_bytes = {"ca_cert": (d / "ca.pem").read_bytes(), "client_cert": (d / "client.pem").read_bytes(),
                "client_key": (d / "client.key").read_bytes(), "server_name": SERVER_NAME}
    with bankscore.Client(f"https://{server.target}", token=tokens["scorer"], tls=as_bytes) as c:
        assert c.ready()


def test_refused_tls_setups(tls_server, tokens, customer):
    server, d = tls_server
    refused = [
        bankscore.TlsConfig(ca_cert=d / "ca.pem", server_name=SERVER_NAME),  # no client certificate
        bankscore.TlsConfig(ca_cert=d / "other-ca.pem", client_cert=d / "client.pem", client_key=d / "client.key",
                            server_name=SERVER_NAME),  # the server's certificate is not trusted
        bankscore.TlsConfig(ca_cert=d / "ca.pem", client_cert=d / "client.pem", client_key=d / "client.key"),
        # ^ no server_name: 127.0.0.1 is not in the server's certificate
        False,  # plaintext to a TLS port
    ]
    for tls in refused:
        with bankscore.Client(server.target, token=tokens["scorer"], tls=tls, timeout=5) as c:
            with pytest.raises(bankscore.BankscoreError) as info:
                c.score(customer)
            assert info.value.code.name in ("UNAVAILABLE", "UNKNOWN", "CANCELLED"), info.value


def test_tls_arguments_are_checked():
    with pytest.raises(ValueError, match="http://"):
        bankscore.Client("http://127.0.0.1:1", tls=True)
    with pytest.raises(ValueError, match="https://"):
        bankscore.Client("https://127.0.0.1:1", tls=False)
    with pytest.raises(ValueError, match="client_cert and client_key"):
        bankscore.Client("127.0.0.1:1", tls=bankscore.TlsConfig(client_cert=b"x"))
    with pytest.raises(ValueError, match="cannot read"):
        bankscore.Client("127.0.0.1:1", tls={"ca_cert": "/nonexistent/ca.pem"})
    with pytest.raises(TypeError):
        bankscore.Client("127.0.0.1:1", tls="yes")
    with pytest.raises(ValueError, match="token"):
        bankscore.Client("127.0.0.1:1", token=" padded ")
