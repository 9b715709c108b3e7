//! Every configuration in `examples/` loads and validates, as `ondeck check` would.

use std::path::{Path, PathBuf};

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
