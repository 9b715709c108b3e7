//! The configuration, theme and keymap loaders through the library API, on the shipped files
//! and on broken fixtures: every problem must name the file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ondeck::config::keymap::{KeyContext, Keymap};
use ondeck::config::theme::{Role, Theme};
use ondeck::config::{
    self, ActionSpec, ConfigError, ConfirmPolicy, QueryTarget, ReleaseFrom, Secret, SourceSpec,
};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn load_err(path: &str) -> (PathBuf, ConfigError) {
    let path = fixture(path);
    let error = config::load(Some(&path)).expect_err("the fixture is broken on purpose");
    (path, error)
}

/// (line, key) of every problem, in file order.
fn lines_and_keys(error: &ConfigError) -> Vec<(usize, String)> {
    error
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.key.clone()))
        .collect()
}

#[test]
fn the_embedded_default_loads_with_the_local_source_and_a_sqlite_store() {
    let config = config::load(None).unwrap();
    assert_eq!(config.path, None);
    assert_eq!(config.console.theme, "default");
    assert_eq!(config.console.keymap, "default");
    assert!(!config.console.operator.is_empty());
    assert!(!config.console.read_only);
    assert!(
        config.store.url.starts_with("sqlite://"),
        "{}",
        config.store.url
    );
    assert!(
        config.store.url.ends_with("ondeck.db"),
        "{}",
        config.store.url
    );
    assert!(
        !config.store.url.contains('~'),
        "~ is expanded: {}",
        config.store.url
    );

    let local = config.source("local").expect("a local source");
    assert_eq!(local.kind(), "local");
    assert_eq!(local.every, Duration::from_secs(5));
    let SourceSpec::Local(thresholds) = &local.spec else {
        panic!("local spec")
    };
    assert_eq!(*thresholds, config::LocalSource::default());

    let kinds: Vec<&str> = config.actions.iter().map(|a| a.kind.name()).collect();
    assert_eq!(kinds, ["file_backup", "file_restore"]);
    let restore = config.action("restore-files").unwrap();
    assert_eq!(restore.confirm, ConfirmPolicy::TypeTarget);
}

#[test]
fn the_printed_default_is_the_text_that_loads() {
    let text = config::default_config_text();
    assert!(text.contains("[[source]]") && text.contains("kind = \"local\""));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let config = config::load(Some(&path)).unwrap();
    assert_eq!(config.path.as_deref(), Some(path.as_path()));
    assert_eq!(config.sources.len(), 1);
}

#[test]
fn every_source_and_action_kind_reads_into_its_typed_spec() {
    let config = config::load(Some(&fixture("config/full.toml"))).unwrap();
    let kinds: Vec<&str> = config.sources.iter().map(|s| s.kind()).collect();
    assert_eq!(
        kinds,
        [
            "local",
            "http",
            "prometheus",
            "alertmanager",
            "openbao",
            "postgres",
            "proxmox",
            "kasm",
            "release"
        ]
    );

    let SourceSpec::Http(http) = &config.source("api-prod").unwrap().spec else {
        panic!("http")
    };
    assert_eq!(http.expect_status, 200);
    assert_eq!(
        http.expect_json.as_ref().unwrap()["checks"],
        serde_json::json!({ "db": true })
    );
    assert_eq!(http.latency_warn, Some(Duration::from_millis(150)));
    assert_eq!(
        http.headers["Authorization"],
        Secret::Env("ONDECK_TEST_API_TOKEN".into())
    );

    let SourceSpec::Alertmanager(am) = &config.source("am").unwrap().spec else {
        panic!("alertmanager")
    };
    assert_eq!(am.urls.len(), 2);

    let pg_source = config.source("certhub-db").unwrap();
    assert_eq!(pg_source.every, Duration::from_secs(10), "default interval");
    assert_eq!(pg_source.timeout, Duration::from_secs(3), "default timeout");
    let SourceSpec::Postgres(pg) = &pg_source.spec else {
        panic!("postgres")
    };
    assert_eq!(pg.max_connections_warn, Some(150));
    assert_eq!(pg.queries[0].maps_to, QueryTarget::Hosts);
    assert_eq!(pg.queries[0].columns["last_seen"], "last_heartbeat_at");
    assert_eq!(pg.queries[1].maps_to, QueryTarget::Jobs);

    let SourceSpec::Kasm(kasm) = &config.source("kasm").unwrap().spec else {
        panic!("kasm")
    };
    assert_eq!(kasm.session_limit, 5, "the runbook's default limit");

    let SourceSpec::Release(release) = &config.source("deploy-prod").unwrap().spec else {
        panic!("release")
    };
    // Beside the configuration file, wherever ondeck is started from.
    let beside = fixture("config/scripts/deploy.py").display().to_string();
    assert!(matches!(&release.from, ReleaseFrom::Argv(argv) if argv[0] == beside));

    let action_kinds: Vec<&str> = config.actions.iter().map(|a| a.kind.name()).collect();
    for kind in [
        "pg_backup",
        "pg_restore",
        "file_backup",
        "file_restore",
        "unseal",
        "rollback",
        "command",
        "silence",
        "terminate_session",
        "approve",
        "deny",
    ] {
        assert!(action_kinds.contains(&kind), "no {kind} action read");
    }
    let drill = config.action("drill-db").unwrap();
    assert!(matches!(&drill.spec, ActionSpec::PgRestore(r) if r.drill));
    assert_eq!(
        drill.confirm,
        ConfirmPolicy::Enter,
        "a drill touches nothing live"
    );
    assert_eq!(
        config.action("restore-db").unwrap().confirm,
        ConfirmPolicy::TypeTarget,
        "a real restore asks for the target by default"
    );
    assert_eq!(config.action("unseal-bao").unwrap().source(), Some("bao"));
    assert_eq!(
        config.action("approve-install").unwrap().confirm,
        ConfirmPolicy::Totp
    );
}

#[test]
fn secrets_from_the_environment_never_appear_in_debug_or_summary() {
    let config = config::load(Some(&fixture("config/full.toml"))).unwrap();
    let SourceSpec::Postgres(pg) = &config.source("certhub-db").unwrap().spec else {
        panic!("postgres")
    };
    // PATH is set in every test environment, so the secret really resolves to something.
    let value = pg.url.resolve().unwrap();
    assert!(!value.is_empty());

    let debug = format!("{config:?}");
    let summary = config::summary(&config);
    for shown in [&debug, &summary] {
        assert!(!shown.contains(&value), "the resolved secret leaked");
        assert!(shown.contains("env:PATH"), "the reference is shown instead");
    }
    assert!(summary.contains("sources: 9"), "{summary}");
    assert!(summary.contains("1 postgres"), "{summary}");
    assert!(summary.contains("approve-install"), "{summary}");
    assert!(
        summary.contains("sqlite:///var/lib/ondeck/ondeck.db"),
        "{summary}"
    );
}

#[test]
fn a_store_password_is_masked_in_debug_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // A store URL with a password must come from the environment; PATH stands in for it here
    // and is refused as "not a store URL" without being shown.
    std::fs::write(&path, "[store]\nurl = \"env:PATH\"\n").unwrap();
    let error = config::load(Some(&path)).unwrap_err();
    let path_value = std::env::var("PATH").unwrap();
    assert!(!error.to_string().contains(&path_value), "{error}");
    assert!(error.to_string().contains("env:PATH"), "{error}");

    std::fs::write(
        &path,
        "[store]\nurl = \"postgres://ondeck:hunter2@db.example.com/ondeck\"\n",
    )
    .unwrap();
    let error = config::load(Some(&path)).unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert_eq!(lines_and_keys(&error), [(2, "store.url".to_owned())]);

    std::fs::write(
        &path,
        "[store]\nurl = \"postgres://ondeck@db.example.com/ondeck\"\n",
    )
    .unwrap();
    let config = config::load(Some(&path)).unwrap();
    assert!(config::summary(&config).contains("postgres://ondeck@db.example.com/ondeck"));
}

#[test]
fn malformed_toml_names_the_file_and_line() {
    let (path, error) = load_err("config/malformed.toml");
    let found = error.diagnostics();
    assert!(!found.is_empty());
    assert_eq!(found[0].file, path.display().to_string());
    assert_eq!(found[0].line, 6, "{error}");
    assert!(error.to_string().contains("not valid TOML"), "{error}");
}

#[test]
fn an_unknown_key_suggests_the_right_one() {
    let (path, error) = load_err("config/unknown_key.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(5, r#"source "api".expect_stauts"#.to_owned())]
    );
    let message = error.to_string();
    assert!(
        message.contains("Did you mean `expect_status`?"),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("{}:5:1:", path.display())),
        "{message}"
    );
}

#[test]
fn wrong_types_are_each_reported_with_what_was_expected() {
    let (_, error) = load_err("config/wrong_type.toml");
    assert_eq!(
        lines_and_keys(&error),
        [
            (2, "console.read_only".to_owned()),
            (8, r#"source "api".expect_status"#.to_owned())
        ]
    );
    let found = error.diagnostics();
    assert!(
        found[0].message.contains("true or false"),
        "{}",
        found[0].message
    );
    assert!(
        found[1].message.contains("such as 200"),
        "{}",
        found[1].message
    );
    assert!(
        found[1].message.contains("found a string"),
        "{}",
        found[1].message
    );
}

#[test]
fn a_bad_duration_names_the_key_and_shows_an_example() {
    let (_, error) = load_err("config/bad_duration.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(9, r#"source "api".every"#.to_owned())]
    );
    let message = &error.diagnostics()[0].message;
    assert!(message.contains("\"10s\""), "{message}");
    assert_eq!(error.diagnostics()[0].column, 9);
}

#[test]
fn a_source_may_not_take_a_name_the_console_uses_for_its_own_rows() {
    let (_, error) = load_err("config/reserved_name.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(6, r#"source "store".name"#.to_owned())]
    );
    let message = &error.diagnostics()[0].message;
    assert!(message.contains("`store` is reserved"), "{message}");
    assert!(message.contains("`ondeck`"), "{message}");
}

#[test]
fn every_interval_is_between_a_second_and_a_day() {
    let (_, error) = load_err("config/every_too_long.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(9, r#"source "api-prod".every"#.to_owned())]
    );
    assert!(error.to_string().contains("at most \"1d\""), "{error}");
    let (_, error) = load_err("config/every_too_short.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(5, r#"source "api-prod".every"#.to_owned())]
    );
    assert!(error.to_string().contains("at least \"1s\""), "{error}");
}

#[test]
fn every_duration_key_has_a_range() {
    let (_, error) = load_err("config/durations_out_of_range.toml");
    assert_eq!(
        lines_and_keys(&error),
        [
            (5, r#"source "api-prod".timeout"#),
            (6, r#"source "api-prod".latency_warn"#),
            (12, r#"source "certhub-db".replication_lag_warn"#),
            (18, r#"source "certhub-db".query "agents".down_after"#),
            (29, r#"action "hush".duration"#),
            (35, r#"action "backup-files".retention.max_age"#),
            (41, r#"action "deploy".timeout"#),
            (42, r#"action "deploy".health.within"#),
        ]
        .map(|(line, key)| (line, key.to_owned())),
        "{error}"
    );
}

#[test]
fn a_source_without_a_usable_name_is_named_by_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[source]]\nname = \"local\"\nkind = \"local\"\n\n[[source]]\nkind = \"local\"\nevery = \"0s\"\n",
    )
    .unwrap();
    let error = config::load(Some(&path)).unwrap_err();
    assert_eq!(
        lines_and_keys(&error),
        [
            (5, "source[1].name".to_owned()),
            (7, "source[1].every".to_owned())
        ],
        "{error}"
    );
}

#[test]
fn an_unknown_kind_suggests_a_known_one() {
    let (_, error) = load_err("config/unknown_kind.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(3, r#"source "api".kind"#.to_owned())]
    );
    assert!(
        error.to_string().contains("Did you mean `http`?"),
        "{error}"
    );
}

#[test]
fn a_duplicate_name_names_both_lines() {
    let (_, error) = load_err("config/duplicate_name.toml");
    assert_eq!(
        lines_and_keys(&error),
        [(7, r#"source "api".name"#.to_owned())]
    );
    assert!(error.to_string().contains("line 2"), "{error}");
}

#[test]
fn an_action_must_name_a_configured_source_of_the_right_kind() {
    let (_, error) = load_err("config/unknown_source.toml");
    assert_eq!(
        lines_and_keys(&error),
        [
            (14, r#"action "unseal".source"#.to_owned()),
            (19, r#"action "unseal-api".source"#.to_owned())
        ]
    );
    let found = error.diagnostics();
    assert!(
        found[0].message.contains("Did you mean `bao`?"),
        "{}",
        found[0].message
    );
    assert!(
        found[1].message.contains("`openbao`"),
        "{}",
        found[1].message
    );
}

#[test]
fn every_problem_is_reported_at_once_and_no_secret_is_echoed() {
    let (_, error) = load_err("config/many_problems.toml");
    assert_eq!(
        lines_and_keys(&error),
        [
            (1, "consle".to_owned()),
            (7, r#"source "pg".url"#.to_owned()),
            (8, r#"source "pg".max_connections_warn"#.to_owned()),
            (10, r#"source "kasm".api_key_secret"#.to_owned()),
            (13, r#"source "kasm".url"#.to_owned()),
            (14, r#"source "kasm".api_key"#.to_owned()),
            (16, r#"action "backup".database"#.to_owned()),
            (16, r#"action "backup".dir"#.to_owned()),
            (19, r#"action "backup".confirm"#.to_owned()),
        ],
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("Did you mean `console`?"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!message.contains("abc123"), "{message}");
    // One paragraph per problem.
    assert_eq!(message.split("\n\n").count(), error.diagnostics().len());
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let error = config::load(Some(Path::new("no/such/ondeck.toml"))).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("no/such/ondeck.toml"), "{error}");
}

#[test]
fn an_unknown_theme_in_the_config_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[console]\nkeymap = \"vim\"\ntheme = \"solarised-dark\"\n",
    )
    .unwrap();
    let error = config::load(Some(&path)).unwrap_err();
    assert_eq!(lines_and_keys(&error), [(3, "console.theme".to_owned())]);
    assert!(
        error.to_string().contains("solarized-dark"),
        "lists what exists: {error}"
    );
}

#[test]
fn every_shipped_theme_and_keymap_loads_from_its_file_and_by_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in Theme::builtin_names() {
        let by_name = Theme::load(name).unwrap();
        let path = root.join(format!("themes/{name}.toml"));
        let by_path = Theme::load(path.to_str().unwrap()).unwrap();
        assert_eq!(
            by_name.style(Role::AlertCritical),
            by_path.style(Role::AlertCritical)
        );
    }
    for name in Keymap::builtin_names() {
        let by_name = Keymap::load(name).unwrap();
        let path = root.join(format!("keymaps/{name}.toml"));
        let by_path = Keymap::load(path.to_str().unwrap()).unwrap();
        assert_eq!(by_name.bindings.len(), by_path.bindings.len());
        for &context in KeyContext::ALL {
            for command in context.required_commands() {
                assert!(
                    !by_name.keys_for(context, *command).is_empty(),
                    "{name}: nothing bound to {} in [{}]",
                    command.name(),
                    context.name()
                );
            }
        }
    }
    let shipped: Vec<_> = std::fs::read_dir(root.join("themes")).unwrap().collect();
    assert_eq!(
        shipped.len(),
        Theme::builtin_names().count(),
        "every theme file is built in"
    );
}

#[test]
fn a_bad_theme_colour_names_file_line_and_key() {
    let path = fixture("themes/bad_colour.toml");
    let error = Theme::load(path.to_str().unwrap()).unwrap_err();
    let found: Vec<(usize, &str)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.key.as_str()))
        .collect();
    assert_eq!(
        found,
        [(2, "border_focused.fg"), (3, "alert_warning.fg")],
        "{error}"
    );
    assert_eq!(error.diagnostics()[0].file, path.display().to_string());
    assert!(
        error.to_string().contains("Did you mean `yellow`?"),
        "{error}"
    );
}

#[test]
fn a_keymap_with_an_unknown_command_suggests_one() {
    let path = fixture("keymaps/unknown_command.toml");
    let error = Keymap::load(path.to_str().unwrap()).unwrap_err();
    let found = error.diagnostics();
    assert_eq!(found.len(), 1, "{error}");
    assert_eq!((found[0].line, found[0].key.as_str()), (4, "global.\"x\""));
    assert_eq!(found[0].file, path.display().to_string());
    assert!(
        found[0].message.contains("Did you mean `quit`?"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_key_bound_twice_names_both_lines() {
    let path = fixture("keymaps/duplicate_binding.toml");
    let error = Keymap::load(path.to_str().unwrap()).unwrap_err();
    let found = error.diagnostics();
    assert_eq!(found.len(), 1, "{error}");
    assert_eq!(
        (found[0].line, found[0].key.as_str()),
        (6, "global.\"ctrl-X\"")
    );
    assert!(found[0].message.contains("line 4"), "{}", found[0].message);
}

#[test]
fn unknown_theme_and_keymap_names_list_what_is_available() {
    let theme = Theme::load("no-such-theme").unwrap_err().to_string();
    assert!(
        theme.contains("high-contrast") && theme.contains("monochrome"),
        "{theme}"
    );
    let keymap = Keymap::load("no-such-keymap").unwrap_err().to_string();
    assert!(
        keymap.contains("emacs") && keymap.contains("vim"),
        "{keymap}"
    );
}

#[test]
fn unresolvable_secrets_are_listed_by_where_they_are_configured() {
    let config = config::load(Some(&fixture("config/full.toml"))).unwrap();
    let labels: Vec<String> = config.secrets().into_iter().map(|(l, _)| l).collect();
    assert!(
        labels.contains(&"source `kasm` api_key".to_owned()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"action `backup-db` database".to_owned()),
        "{labels:?}"
    );

    let problems = config::unresolvable_secrets(&config);
    // PATH is set; KASM_API_KEY is not in a test environment.
    assert!(
        problems
            .iter()
            .all(|p| !p.starts_with("source `certhub-db` url")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("source `kasm` api_key:") && p.contains("KASM_API_KEY")),
        "{problems:?}"
    );
}

#[test]
fn release_sources_are_not_counted_as_alert_sources() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flask-ec2.toml");
    let config = config::load(Some(&path)).unwrap();
    let mut kinds_seen = (false, false);
    for source in &config.sources {
        let is_release = matches!(source.spec, SourceSpec::Release(_));
        assert_eq!(source.raises_alerts(), !is_release, "{}", source.name);
        if is_release {
            kinds_seen.0 = true;
        } else {
            kinds_seen.1 = true;
        }
    }
    assert_eq!(kinds_seen, (true, true), "the example has both kinds");
}

#[test]
fn openbao_standbys_count_as_up_only_when_the_config_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bao.toml");
    std::fs::write(
        &path,
        "[[source]]\nname = \"single\"\nkind = \"openbao\"\nurl = \"http://127.0.0.1:8200\"\n\n\
         [[source]]\nname = \"cluster\"\nkind = \"vault\"\nurls = [\"http://127.0.0.1:8200\"]\nstandby_ok = true\n",
    )
    .unwrap();
    let config = config::load(Some(&path)).unwrap();
    let standby_ok = |name: &str| match &config.source(name).unwrap().spec {
        SourceSpec::OpenBao(spec) => spec.standby_ok,
        other => panic!("{other:?}"),
    };
    assert!(!standby_ok("single"));
    assert!(standby_ok("cluster"));
}

#[test]
fn postgres_connection_share_is_a_percentage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pg.toml");
    std::fs::write(
        &path,
        "[[source]]\nname = \"db\"\nkind = \"postgres\"\nurl = \"postgres://ops@127.0.0.1/app\"\nconnections_warn_pct = 80\n",
    )
    .unwrap();
    match &config::load(Some(&path))
        .unwrap()
        .source("db")
        .unwrap()
        .spec
    {
        SourceSpec::Postgres(pg) => assert_eq!(pg.connections_warn_pct, Some(80.0)),
        other => panic!("{other:?}"),
    }
    std::fs::write(
        &path,
        "[[source]]\nname = \"db\"\nkind = \"postgres\"\nurl = \"postgres://ops@127.0.0.1/app\"\nconnections_warn_pct = 180\n",
    )
    .unwrap();
    let error = config::load(Some(&path)).unwrap_err();
    assert_eq!(
        lines_and_keys(&error),
        [(5, r#"source "db".connections_warn_pct"#.to_owned())]
    );
}

#[test]
fn copy_to_reads_an_s3_location_and_refuses_plain_http_off_this_machine_and_literal_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let action = |name: &str, keys: &str| {
        format!(
            "[[action]]\nname = \"{name}\"\nkind = \"pg_backup\"\n\
             database = \"postgres://ondeck@127.0.0.1/app\"\ndir = \"/var/backups/app\"\n{keys}\n"
        )
    };
    let s3 = |endpoint: &str, secret: &str| {
        format!(
            "s3 = {{ endpoint = \"{endpoint}\", access_key_id = \"env:S3_KEY_ID\", \
             secret_access_key = \"{secret}\" }}"
        )
    };
    let good = action(
        "good",
        &format!(
            "copy_to = \"s3://backups/app/nightly/\"\n{}",
            s3("http://127.0.0.1:9000", "env:S3_SECRET")
        ),
    );
    std::fs::write(&path, &good).unwrap();
    let config = config::load(Some(&path)).unwrap();
    let ActionSpec::PgBackup(backup) = &config.action("good").unwrap().spec else {
        panic!("pg_backup")
    };
    let copy = backup.copy_to.as_ref().unwrap();
    assert_eq!(
        (
            copy.bucket.as_str(),
            copy.prefix.as_str(),
            copy.region.as_str()
        ),
        ("backups", "app/nightly", "us-east-1")
    );
    assert_eq!(copy.secret_access_key, Secret::Env("S3_SECRET".to_owned()));

    let broken = [
        action(
            "remote-http",
            &format!(
                "copy_to = \"s3://backups/app\"\n{}",
                s3("http://s3.example.com", "env:S3_SECRET")
            ),
        ),
        action(
            "literal-secret",
            &format!(
                "copy_to = \"s3://backups/app\"\n{}",
                s3("https://s3.example.com", "s3cr3t-in-the-file")
            ),
        ),
        action("not-s3", "copy_to = \"gs://backups/app\"\ns3 = {}"),
        action("no-copy-to", &s3("https://s3.example.com", "env:S3_SECRET")),
        action("no-s3", "copy_to = \"s3://backups/app\""),
    ];
    std::fs::write(&path, broken.concat()).unwrap();
    let error = config::load(Some(&path)).expect_err("each action is broken");
    let keys: Vec<String> = error.diagnostics().iter().map(|d| d.key.clone()).collect();
    assert_eq!(
        keys,
        [
            r#"action "remote-http".s3.endpoint"#,
            r#"action "literal-secret".s3.secret_access_key"#,
            r#"action "not-s3".copy_to"#,
            r#"action "no-copy-to".s3"#,
            r#"action "no-s3".s3"#,
        ],
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("unencrypted"), "{message}");
    assert!(!message.contains("s3cr3t-in-the-file"), "{message}");
}
