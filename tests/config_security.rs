//! What the configuration refuses and what `ondeck check` shows, for the connections ondeck
//! makes: one password rule for every URL, no credentials over plain http to another machine
//! unless a key named as dangerous says so, no `verify_tls = false`, no command arguments in
//! `check`, and what TLS each PostgreSQL connection gets.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::path::{Path, PathBuf};

use ondeck::config::{self, ActionSpec, ConfigError, Diagnostic, ReleaseFrom, SourceSpec};

struct Written {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn write(text: &str) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ondeck.toml");
    std::fs::write(&path, text).unwrap();
    Written { _dir: dir, path }
}

fn load_err(text: &str) -> Vec<Diagnostic> {
    let file = write(text);
    match config::load(Some(&file.path)) {
        Ok(_) => panic!("expected the configuration to be refused:\n{text}"),
        Err(ConfigError::Invalid(found)) => found,
        Err(other) => panic!("{other}"),
    }
}

fn summary_of(text: &str) -> String {
    let file = write(text);
    let loaded = config::load(Some(&file.path)).unwrap_or_else(|e| panic!("{e}"));
    config::summary(&loaded)
}

/// `line`: the 1-based line of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the text"))
        + 1
}

#[test]
fn a_literal_password_is_refused_in_every_kind_of_url() {
    let text = r#"
[store]
url = "postgres://ops:st0re-pw@db.example.com/ondeck"

[[source]]
name = "api"
kind = "http"
url = "https://ops:http-pw@api.example.com/healthz"

[[source]]
name = "prom"
kind = "prometheus"
url = "https://ops:prom-pw@prom.example.com"

[[source]]
name = "am"
kind = "alertmanager"
urls = ["https://am1.example.com", "https://ops:am-pw@am2.example.com"]

[[source]]
name = "bao"
kind = "openbao"
url = "https://ops:bao-pw@bao.example.com"

[[source]]
name = "pve"
kind = "proxmox"
url = "https://ops:pve-pw@pve.example.com:8006"
token = "env:PVE_TOKEN"

[[source]]
name = "kasm"
kind = "kasm"
url = "https://ops:kasm-pw@kasm.example.com"
api_key = "env:KASM_KEY"
api_key_secret = "env:KASM_SECRET"

[[source]]
name = "deploys"
kind = "release"
url = "https://ci:release-pw@deploy.example.com/state"

[[source]]
name = "pg"
kind = "postgres"
url = "postgres://ops:pg-pw@db.example.com/app"

[[action]]
name = "restart"
kind = "command"
argv = ["/usr/local/bin/restart-api"]
health = { url = "https://ops:health-pw@api.example.com/healthz", within = "60s" }
"#;
    let found = load_err(text);
    let expected = [
        ("st0re-pw", "store.url"),
        ("http-pw", r#"source "api".url"#),
        ("prom-pw", r#"source "prom".url"#),
        ("am-pw", r#"source "am".urls[1]"#),
        ("bao-pw", r#"source "bao".url"#),
        ("pve-pw", r#"source "pve".url"#),
        ("kasm-pw", r#"source "kasm".url"#),
        ("release-pw", r#"source "deploys".url"#),
        ("pg-pw", r#"source "pg".url"#),
        ("health-pw", r#"action "restart".health.url"#),
    ];
    for (password, key) in expected {
        let diagnostic = found
            .iter()
            .find(|d| d.key == key)
            .unwrap_or_else(|| panic!("no problem reported at {key}: {found:#?}"));
        assert_eq!(diagnostic.line, line_of(text, password), "{diagnostic}");
        assert!(diagnostic.file.ends_with("ondeck.toml"), "{diagnostic}");
        assert!(
            diagnostic.message.contains("has a password in it")
                && diagnostic.message.contains("env:NAME or file:PATH"),
            "{diagnostic}"
        );
        assert!(!diagnostic.message.contains(password), "{diagnostic}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn a_url_with_a_password_comes_from_the_environment_and_is_shown_masked() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("prom-url");
    std::fs::write(&url_file, "https://ops:pr0m-pw@prom.example.com\n").unwrap();
    let text = format!(
        "[[source]]\nname = \"prom\"\nkind = \"prometheus\"\nurl = \"file:{}\"\n",
        url_file.display()
    );
    let file = write(&text);
    let loaded = config::load(Some(&file.path)).unwrap();
    let SourceSpec::Prometheus(prometheus) = &loaded.sources[0].spec else {
        panic!("prometheus");
    };
    assert_eq!(prometheus.url, "https://ops:pr0m-pw@prom.example.com");
    let summary = config::summary(&loaded);
    assert!(
        summary.contains("https://ops:***@prom.example.com"),
        "{summary}"
    );
    assert!(!summary.contains("pr0m-pw"), "{summary}");
}

#[test]
fn credentials_over_plain_http_go_to_loopback_only_unless_declared_dangerous() {
    let dir = tempfile::tempdir().unwrap();
    let bao_url = dir.path().join("bao-url");
    std::fs::write(&bao_url, "http://ops:b4o-pw@bao2.example.com\n").unwrap();
    let text = format!(
        r#"
[[source]]
name = "api"
kind = "http"
url = "http://api.example.com/healthz"
headers = {{ x-api-key = "env:API_KEY" }}

[[source]]
name = "kasm"
kind = "kasm"
url = "http://kasm.example.com"
api_key = "env:KASM_KEY"
api_key_secret = "env:KASM_SECRET"

[[source]]
name = "pve"
kind = "proxmox"
url = "http://10.0.0.5:8006"
token = "env:PVE_TOKEN"

[[source]]
name = "bao"
kind = "openbao"
urls = ["https://bao1.example.com", "file:{bao_url}"]

[[source]]
name = "local-api"
kind = "http"
url = "http://127.0.0.1:8080/healthz"
headers = {{ x-api-key = "env:API_KEY" }}

[[source]]
name = "public"
kind = "http"
url = "http://www.example.com/"
"#,
        bao_url = bao_url.display()
    );
    let found = load_err(&text);
    let keys: Vec<(&str, usize)> = found.iter().map(|d| (d.key.as_str(), d.line)).collect();
    assert_eq!(
        keys,
        [
            (
                r#"source "api".url"#,
                line_of(&text, "http://api.example.com")
            ),
            (
                r#"source "kasm".url"#,
                line_of(&text, "http://kasm.example.com")
            ),
            (r#"source "pve".url"#, line_of(&text, "http://10.0.0.5")),
            (r#"source "bao".urls"#, line_of(&text, "bao-url")),
        ],
        "{found:#?}"
    );
    for diagnostic in &found {
        assert!(
            diagnostic
                .message
                .contains("dangerous_plain_http_credentials = true")
                && diagnostic.message.contains("https://"),
            "{diagnostic}"
        );
        assert!(!diagnostic.message.contains("b4o-pw"), "{diagnostic}");
    }

    let allowed = text.replace(
        "url = \"http://api.example.com/healthz\"",
        "url = \"http://api.example.com/healthz\"\ndangerous_plain_http_credentials = true",
    );
    // The `api` source alone, now declared dangerous.
    let summary = summary_of(allowed.split("[[source]]\nname = \"kasm\"").next().unwrap());
    let api_line = summary
        .lines()
        .find(|line| line.trim_start().starts_with("api "))
        .unwrap();
    assert!(
        api_line.contains("DANGER: credentials sent unencrypted to http://api.example.com/healthz (dangerous_plain_http_credentials)"),
        "{summary}"
    );
}

#[test]
fn verify_tls_is_refused_with_what_replaces_it() {
    let text = r#"
[[source]]
name = "pve"
kind = "proxmox"
url = "https://pve.example.com:8006"
token = "env:PVE_TOKEN"
verify_tls = false
"#;
    let found = load_err(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].key.as_str(), found[0].line),
        (r#"source "pve".verify_tls"#, line_of(text, "verify_tls"))
    );
    assert!(
        found[0].message.contains("ca_file") && found[0].message.contains("tls_pin_sha256"),
        "{}",
        found[0]
    );

    let pinned = text.replace(
        "verify_tls = false",
        "tls_pin_sha256 = \"3A:5B:7C:9D:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:12:34:56:78:9A:BC:DE:F0:0F:ED:CB:A9\"",
    );
    let summary = summary_of(&pinned);
    assert!(
        summary.contains("pinned SHA-256 3A5B7C9D11223344…"),
        "{summary}"
    );
    let bad_pin = text.replace("verify_tls = false", "tls_pin_sha256 = \"3A:5B\"");
    assert_eq!(load_err(&bad_pin)[0].key, r#"source "pve".tls_pin_sha256"#);
}

#[test]
fn check_prints_the_program_of_every_command_but_none_of_its_arguments() {
    let text = r#"
[[source]]
name = "deploys"
kind = "release"
argv = ["./scripts/deploy.py", "status", "--token=s3cret-source"]
pass_env = ["DEPLOY_TOKEN"]

[[action]]
name = "rollback"
kind = "rollback"
source = "deploys"
argv = ["./scripts/deploy.py", "rollback", "--password", "s3cret-rollback"]

[[action]]
name = "vzdump"
kind = "command"
argv = ["ssh", "--token=s3cret-command"]
"#;
    let file = write(text);
    let loaded = config::load(Some(&file.path)).unwrap();
    let summary = config::summary(&loaded);
    for argument in [
        "status",
        "s3cret-source",
        "rollback --password",
        "s3cret-rollback",
        "s3cret-command",
        "--token",
    ] {
        assert!(!summary.contains(argument), "`{argument}` in:\n{summary}");
    }
    let beside = file
        .path
        .parent()
        .unwrap()
        .join("scripts/deploy.py")
        .display()
        .to_string();
    assert!(
        summary.contains(&format!("runs {beside} (2 arguments not shown)")),
        "{summary}"
    );
    assert!(
        summary.contains("runs ssh (1 argument not shown)"),
        "{summary}"
    );

    // Relative programs are the ones beside the configuration file.
    let SourceSpec::Release(release) = &loaded.sources[0].spec else {
        panic!("release");
    };
    assert!(matches!(&release.from, ReleaseFrom::Argv(argv) if argv[0] == beside));
    assert_eq!(release.pass_env, ["DEPLOY_TOKEN"]);
    let ActionSpec::Command(command) = &loaded.actions[1].spec else {
        panic!("command");
    };
    assert_eq!(command.argv[0], "ssh", "a bare name is looked up in PATH");
}

#[test]
fn check_says_what_tls_each_postgresql_connection_gets() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let text = format!(
        r#"
[store]
url = "postgres://ondeck@db.example.com/ondeck"
ca_file = "{ca}"

[[source]]
name = "remote"
kind = "postgres"
url = "postgres://monitor@db.example.com/app"

[[source]]
name = "local"
kind = "postgres"
url = "postgres://monitor@127.0.0.1:5432/app"

[[source]]
name = "lab"
kind = "postgres"
url = "postgres://monitor@lab.example.com/app?sslmode=require"

[[source]]
name = "admin"
kind = "postgres"
url = "postgres://postgres@db.example.com/app"
ca_file = "{ca}"
"#,
        ca = ca.display()
    );
    let summary = summary_of(&text);
    let line = |name: &str| {
        summary
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {summary}"))
            .to_owned()
    };
    let store = summary.lines().find(|l| l.starts_with("store:")).unwrap();
    assert!(
        store.contains(&format!("TLS verify-full, CA file {}", ca.display())),
        "{store}"
    );
    assert!(line("remote").contains("; TLS verify-full"), "{summary}");
    assert!(line("local").contains("; plain (loopback)"), "{summary}");
    assert!(
        line("lab").contains("TLS require, certificate NOT verified"),
        "{summary}"
    );
    let admin = line("admin");
    assert!(
        admin.contains(&format!("TLS verify-full, CA file {}", ca.display())),
        "{admin}"
    );
    assert!(
        admin.contains("WARNING: connects as `postgres`, a superuser"),
        "{admin}"
    );
    assert!(!line("remote").contains("WARNING"), "{summary}");

    let missing = text.replace(&ca.display().to_string(), "/nonexistent/ca.pem");
    let found = load_err(&missing);
    let keys: Vec<&str> = found.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        ["store.ca_file", r#"source "admin".ca_file"#],
        "{found:#?}"
    );
}

#[test]
fn the_examples_trust_self_signed_certificates_without_turning_verification_off() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("verify_tls"), "{text}");
    }
}
