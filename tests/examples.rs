//! Every configuration in `examples/` loads and validates, through the library and through the
//! real `ondeck check`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ondeck::config::{self, QueryTarget, SourceSpec};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_passes_check() {
    let files = examples();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // One per stack in SPEC.md's first table.
    for stack in [
        "certificate-hub.toml",
        "fastapi-mfa.toml",
        "flask-ec2.toml",
        "node-openbao-prometheus.toml",
        "proxmox-kasm.toml",
    ] {
        assert!(names.iter().any(|n| n == stack), "missing {stack}");
    }
    for file in &files {
        // Secrets are references resolved only when polled, so no environment is needed.
        match config::load(Some(file)) {
            Ok(loaded) => {
                assert!(
                    !loaded.sources.is_empty(),
                    "{} has no source",
                    file.display()
                );
                assert!(
                    !loaded.actions.is_empty(),
                    "{} has no action",
                    file.display()
                );
            }
            Err(error) => panic!("{} does not load:\n{error}", file.display()),
        }
    }
}

/// `ondeck check --config FILE` with a private home and no environment but `env`.
fn ondeck_check(file: &Path, env: &[(String, String)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["check", "--config"])
        .arg(file)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("USER", "alice")
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .envs(env.iter().cloned())
        .output()
        .expect("ondeck runs")
}

/// The variables a configuration names as `env:NAME`.
fn env_references(text: &str) -> BTreeSet<String> {
    text.split("env:")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn ondeck_check_accepts_every_example_with_or_without_its_secrets() {
    for file in examples() {
        let shown = file.display();
        let names = env_references(&std::fs::read_to_string(&file).unwrap());

        // Secrets are read when used, so a machine that lacks them still has a valid file:
        // exit 0, with a warning naming each missing variable.
        let bare = ondeck_check(&file, &[]);
        let stdout = String::from_utf8_lossy(&bare.stdout);
        let stderr = String::from_utf8_lossy(&bare.stderr);
        assert_eq!(bare.status.code(), Some(0), "{shown}:\n{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("configuration: {shown}")),
            "{shown}: {stdout}"
        );
        for name in &names {
            assert!(
                stderr.contains(&format!("`{name}` is not set")),
                "{shown}: no warning about {name}:\n{stderr}"
            );
        }

        // With every secret set: no warning, and no value printed back.
        let env: Vec<(String, String)> = names
            .iter()
            .map(|name| {
                let value = format!("postgres://ondeck:dummy-{name}@127.0.0.1:5432/ondeck");
                (name.clone(), value)
            })
            .collect();
        let full = ondeck_check(&file, &env);
        let stdout = String::from_utf8_lossy(&full.stdout);
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(0), "{shown}:\n{stdout}{stderr}");
        assert!(!stderr.contains("warning"), "{shown}:\n{stderr}");
        assert!(
            !stdout.contains("dummy-") && !stderr.contains("dummy-"),
            "{shown} printed a secret:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn examples_use_placeholder_endpoints_only() {
    for file in examples() {
        let text = std::fs::read_to_string(&file).unwrap();
        for url in text
            .split(['"', '\'', ' ', '\n'])
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
        {
            let host = url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', ':']).next())
                .unwrap();
            assert!(
                host == "127.0.0.1" || host == "example.com" || host.ends_with(".example.com"),
                "{}: {url} is not an example endpoint",
                file.display()
            );
        }
    }
}

#[test]
fn the_certificate_hub_example_maps_its_tables_onto_three_panes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/certificate-hub.toml");
    let loaded = config::load(Some(&path)).unwrap();
    let Some(SourceSpec::Postgres(db)) = loaded.source("certhub-db").map(|s| &s.spec) else {
        panic!("certhub-db is a postgres source");
    };
    let targets: Vec<(&str, QueryTarget)> = db
        .queries
        .iter()
        .map(|q| (q.name.as_str(), q.maps_to))
        .collect();
    assert_eq!(
        targets,
        [
            ("devices", QueryTarget::Hosts),
            ("cleanup-18h", QueryTarget::Hosts),
            ("install-jobs", QueryTarget::Jobs),
            ("audit", QueryTarget::Audit),
        ]
    );
    assert_eq!(db.max_connections_warn, Some(150));
    assert_eq!(db.url.to_string(), "env:CERTHUB_DATABASE_URL");
}
