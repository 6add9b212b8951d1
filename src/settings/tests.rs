use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn no_auth() -> SettingsBuilder {
    SettingsBuilder::new().flag("auth.enabled", false, "--no-auth")
}

#[test]
fn each_layer_overrides_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bankscore.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:7000\"\nmax_concurrent_requests = 10\nrequest_timeout = \"2s\"\n\n[auth]\nenabled = false\n",
    )
    .unwrap();
    let s = SettingsBuilder::new()
        .file(&file)
        .unwrap()
        .env(env(&[
            ("BANKSCORE_SERVER_MAX_CONCURRENT_REQUESTS", "20"),
            ("BANKSCORE_SERVER_LISTEN", "127.0.0.1:7001"),
            ("BANKSCORE_TOKEN", "a client's token, not a setting"),
            ("BANKSCORE_MODELS_DIR", "/srv/models"),
        ]))
        .flag("server.listen", "127.0.0.1:7002", "--listen")
        .build()
        .unwrap();
    assert_eq!(
        s.server.listen,
        "127.0.0.1:7002".parse().unwrap(),
        "flag over env"
    );
    assert_eq!(s.server.max_concurrent_requests, 20, "env over file");
    assert_eq!(
        s.server.request_timeout,
        Duration::from_secs(2),
        "file over defaults"
    );
    assert_eq!(s.models.dir, PathBuf::from("/srv/models"));
    assert_eq!(s.server.drain_timeout, Duration::from_secs(30), "default");
    assert!(!s.auth.enabled);
}

#[test]
fn a_bad_setting_is_named_with_where_it_came_from() {
    let cases: Vec<(SettingsBuilder, &str, &str)> = vec![
        (
            no_auth().env(env(&[("BANKSCORE_SERVER_LISTEN", "not-an-address")])),
            "server.listen",
            "BANKSCORE_SERVER_LISTEN",
        ),
        (
            no_auth().env(env(&[("BANKSCORE_SERVER_COLOUR", "blue")])),
            "server.colour",
            "BANKSCORE_SERVER_COLOUR",
        ),
        (
            no_auth().flag("server.request_timeout", "soon", "--request-timeout"),
            "server.request_timeout",
            "flag --request-timeout",
        ),
        (
            no_auth().flag(
                "server.max_concurrent_requests",
                0,
                "--max-concurrent-requests",
            ),
            "server.max_concurrent_requests",
            "flag --max-concurrent-requests",
        ),
        (SettingsBuilder::new(), "auth.tokens", "the defaults"),
        (
            no_auth().flag("audit.path", "audit.jsonl", "--audit-log"),
            "audit.hash_key",
            "the defaults",
        ),
        (
            no_auth().env(env(&[("BANKSCORE_OUTCOMES_PATH", "outcomes.jsonl")])),
            "outcomes.path",
            "BANKSCORE_OUTCOMES_PATH",
        ),
        (
            no_auth().flag("outcomes.fsync", "yes", "--test"),
            "outcomes.fsync",
            "flag --test",
        ),
    ];
    for (builder, key, origin) in cases {
        let e = builder.build().unwrap_err().to_string();
        assert!(e.contains(&format!("`{key}")), "{key}: {e}");
        assert!(e.contains(origin), "{key}: {e}");
    }
}

#[test]
fn an_unknown_key_in_the_file_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nmax_conections = 5\n").unwrap();
    let e = no_auth()
        .file(&file)
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("max_conections") && e.contains("bad.toml"),
        "{e}"
    );
    std::fs::write(&file, "[server\n").unwrap();
    let e = no_auth().file(&file).unwrap_err().to_string();
    assert!(e.contains("not valid TOML"), "{e}");
}

#[test]
fn the_printed_config_masks_secrets_and_reads_back() {
    let s = SettingsBuilder::new()
        .env(env(&[
            ("BANKSCORE_AUDIT_HASH_KEY", "very-secret-key"),
            ("BANKSCORE_AUDIT_PATH", "/var/log/bankscore/audit.jsonl"),
        ]))
        .flag(
            "auth.tokens",
            toml::Value::Array(vec![toml::Value::Table(toml::toml! {
                name = "core"
                sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                roles = ["scorer"]
            })]),
            "--test",
        )
        .build()
        .unwrap();
    let shown = s.to_masked_toml();
    assert!(!shown.contains("very-secret-key"), "{shown}");
    assert!(!shown.contains("9f86d081884c7d659a2f"), "{shown}");
    assert!(
        shown.contains("[server]") && shown.contains("request_timeout = \"10s\""),
        "{shown}"
    );
    let back: Settings = toml::from_str(&shown).unwrap();
    assert_eq!(back.server, s.server);
}

#[test]
fn outcomes_are_set_like_the_audit_log_and_need_its_hash_key() {
    let s = no_auth()
        .env(env(&[
            ("BANKSCORE_AUDIT_HASH_KEY", "k"),
            (
                "BANKSCORE_OUTCOMES_PATH",
                "/var/log/bankscore/outcomes.jsonl",
            ),
            ("BANKSCORE_OUTCOMES_FSYNC", "true"),
        ]))
        .build()
        .unwrap();
    assert_eq!(
        s.outcomes.path,
        Some(PathBuf::from("/var/log/bankscore/outcomes.jsonl"))
    );
    assert!(s.outcomes.fsync);
    assert_eq!(
        s.audit.path, None,
        "outcomes need the key, not the audit log"
    );

    let e = no_auth()
        .flag("outcomes.path", "outcomes.jsonl", "--outcomes-log")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`outcomes.path`")
            && e.contains("flag --outcomes-log")
            && e.contains("audit.hash_key"),
        "{e}"
    );
}

#[test]
fn typed_serve_flags_override_the_environment_and_name_their_flag() {
    let flags = ServeFlags {
        listen: Some("127.0.0.1:7003".parse().unwrap()),
        watch_poll: Some(Duration::from_millis(250)),
        worker_threads: Some(3),
        audit_fsync: true,
        no_auth: true,
        ..ServeFlags::default()
    };
    let s = SettingsBuilder::new()
        .env(env(&[
            ("BANKSCORE_SERVER_LISTEN", "not-an-address"),
            ("BANKSCORE_SERVER_WORKER_THREADS", "8"),
        ]))
        .flags(flags)
        .build()
        .unwrap();
    assert_eq!(
        s.server.listen,
        "127.0.0.1:7003".parse().unwrap(),
        "the flag replaces a bad value"
    );
    assert_eq!(s.server.worker_threads, Some(3));
    assert_eq!(s.models.watch_poll, Duration::from_millis(250));
    assert!(s.audit.fsync && !s.auth.enabled);
    assert_eq!(
        s.models.dir,
        PathBuf::from("models"),
        "flags not given leave the defaults"
    );

    // A flag whose value the checks refuse is named as the flag.
    let e = SettingsBuilder::new()
        .flags(ServeFlags {
            worker_threads: Some(0),
            no_auth: true,
            ..ServeFlags::default()
        })
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "setting `server.worker_threads` (from flag --worker-threads): must be at least 1"
    );
    let e = SettingsBuilder::new()
        .flags(ServeFlags {
            audit_log: Some("audit.jsonl".into()),
            no_auth: true,
            ..ServeFlags::default()
        })
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`audit.hash_key`") && e.contains("the defaults"),
        "{e}"
    );
}
