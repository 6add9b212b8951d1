//! `bankscore serve` settings through the real binary: the printed configuration, and start-up
//! refused with the bad setting named.

use std::process::Command;

use crate::helpers::shipped_models;

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");

fn serve(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("serve")
        .args(args)
        .arg("--models-dir")
        .arg(shipped_models());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn print_config_shows_the_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bankscore.toml");
    std::fs::write(
        &config,
        "[server]\nrequest_timeout = \"3s\"\n\n[audit]\npath = \"/var/log/bankscore/audit.jsonl\"\n",
    )
    .unwrap();
    let out = serve(
        &[
            "--no-auth",
            "--print-config",
            "--config",
            config.to_str().unwrap(),
        ],
        &[
            ("BANKSCORE_AUDIT_HASH_KEY", "do-not-print-me"),
            ("BANKSCORE_SERVER_MAX_CONCURRENT_REQUESTS", "99"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("request_timeout = \"3s\""), "{shown}");
    assert!(shown.contains("max_concurrent_requests = 99"), "{shown}");
    assert!(shown.contains("enabled = false"), "{shown}");
    assert!(!shown.contains("do-not-print-me"), "{shown}");
    assert!(shown.contains("hash_key = \"********\""), "{shown}");
}

#[test]
fn start_up_stops_on_a_bad_setting_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("typo.toml");
    std::fs::write(&config, "[server]\nmax_concurent_requests = 5\n").unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (&[], &[], "setting `auth.tokens`"),
        (
            &["--no-auth", "--config", config.to_str().unwrap()],
            &[],
            "setting `server.max_concurent_requests`",
        ),
        (
            &["--no-auth"],
            &[("BANKSCORE_SERVER_REQUEST_TIMEOUT", "forever")],
            "setting `server.request_timeout` (from BANKSCORE_SERVER_REQUEST_TIMEOUT)",
        ),
        (
            &["--no-auth", "--audit-log", "audit.jsonl"],
            &[],
            "setting `audit.hash_key`",
        ),
    ];
    for (args, env, expected) in cases {
        let out = serve(args, env);
        assert!(!out.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn serving_without_authentication_is_logged_as_a_warning() {
    let mut server = crate::serve_process::ServeProcess::local(&shipped_models(), &[], &[]);
    server.address();
    assert!(
        server
            .log
            .iter()
            .any(|l| l.contains("WARN") && l.contains("authentication is OFF")),
        "{}",
        server.log.join("\n")
    );
}
