use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};

use super::manifest::{self, Manifest};
use super::*;

fn manifest_for(file: &str, bytes: &[u8], database: &str, age_days: i64) -> Manifest {
    Manifest {
        format: manifest::FORMAT,
        kind: "pg_backup".to_owned(),
        action: "backup-app-db".to_owned(),
        file: file.to_owned(),
        time: Utc::now() - TimeDelta::days(age_days),
        source: manifest::Source {
            database: database.to_owned(),
            url: "postgres://ops:***@127.0.0.1:5432/app".to_owned(),
            server_version: "15.18".to_owned(),
        },
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        tool: manifest::Tool {
            name: "pg_dump".to_owned(),
            version: "15.18".to_owned(),
        },
        duration_ms: 12,
        tables: BTreeMap::from([("public.items".to_owned(), 3)]),
        sentinel: None,
        files: None,
    }
}

/// A dump with its manifest in `dir`.
fn write_backup(dir: &Path, file: &str, bytes: &[u8], database: &str, age_days: i64) -> Manifest {
    let manifest = manifest_for(file, bytes, database, age_days);
    std::fs::write(dir.join(file), bytes).unwrap();
    write_atomically(&manifest_path(&dir.join(file)), &manifest.to_json()).unwrap();
    manifest
}

#[test]
fn a_manifest_reads_back_as_written_and_names_only_a_file_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_backup(dir.path(), "app-1.dump", b"dump", "app", 0);
    let path = manifest_path(&dir.path().join("app-1.dump"));
    assert_eq!(path.file_name().unwrap(), "app-1.dump.manifest.json");
    assert_eq!(Manifest::read(&path).unwrap(), written);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"sha256\": \""), "{text}");
    assert!(!text.contains("sentinel"), "no sentinel, no key: {text}");

    for file in [
        "../etc/passwd",
        "/etc/passwd",
        ".hidden.partial",
        "sub/app.dump",
    ] {
        let mut bad = written.clone();
        bad.file = file.to_owned();
        std::fs::write(&path, bad.to_json()).unwrap();
        let error = Manifest::read(&path).unwrap_err();
        assert!(error.contains("not a file beside it"), "{file}: {error}");
    }
    std::fs::write(&path, b"{\"format\": 1}").unwrap();
    assert!(
        Manifest::read(&path)
            .unwrap_err()
            .starts_with("not a manifest")
    );
}

#[test]
fn files_are_private_and_written_whole() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("backups/app");
    ensure_private_dir(&dir).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join("x.json");
    write_atomically(&file, b"{}").unwrap();
    assert_eq!(mode(&file), 0o600);
    assert_eq!(std::fs::read(&file).unwrap(), b"{}");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["x.json"], "no temporary file left beside it");
    // Never an existing file, nor through a link.
    assert!(create_private(&file).is_err());
    std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
    assert!(create_private(&dir.join("link")).is_err());
}

#[test]
fn a_listing_is_newest_first_and_checks_each_backup() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_backup(dir, "app-old.dump", b"old dump", "app", 3);
    write_backup(dir, "app-new.dump", b"new dump", "app", 1);
    write_backup(dir, "other-1.dump", b"another database", "other", 0);
    // Same size, one byte flipped: only a re-hash sees it.
    let flipped = write_backup(dir, "app-flipped.dump", b"flipped!", "app", 2);
    std::fs::write(dir.join("app-flipped.dump"), b"flipped?").unwrap();
    // Cut short.
    write_backup(dir, "app-cut.dump", b"truncated dump", "app", 4);
    std::fs::write(dir.join("app-cut.dump"), b"trunc").unwrap();
    // A dump without a manifest, a manifest that is not one, and a temporary file.
    std::fs::write(dir.join("app-orphan.dump"), b"orphan").unwrap();
    std::fs::write(dir.join("app-junk.dump.manifest.json"), b"junk").unwrap();
    std::fs::write(dir.join(".app-x.dump.1.partial"), b"partial").unwrap();

    let quick = list(dir, "pg_backup", "app", Depth::Size).unwrap();
    let files: Vec<&str> = quick
        .backups
        .iter()
        .map(|b| b.manifest.file.as_str())
        .collect();
    assert_eq!(
        files,
        [
            "app-new.dump",
            "app-flipped.dump",
            "app-old.dump",
            "app-cut.dump"
        ]
    );
    let problems: Vec<bool> = quick.backups.iter().map(|b| b.problem.is_some()).collect();
    assert_eq!(
        problems,
        [false, false, false, true],
        "size only: {quick:?}"
    );
    let strays: Vec<String> = quick
        .strays
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(strays, ["app-junk.dump.manifest.json", "app-orphan.dump"]);
    assert_eq!(quick.bad(), 3);

    let full = list(dir, "pg_backup", "app", Depth::Hash).unwrap();
    let problem = full.backups[1].problem.clone().unwrap();
    assert!(problem.contains(&flipped.sha256), "{problem}");
    assert_eq!(full.bad(), 4);
    assert!(
        list(&dir.join("none"), "pg_backup", "app", Depth::Hash).unwrap() == Listing::default()
    );
}

#[test]
fn temporary_files_of_processes_that_are_gone_are_removed_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mine = Partial::beside(&dir.path().join("app-1.dump"));
    std::fs::write(mine.path(), b"being written").unwrap();
    // A pid no process has: above the kernel's limit.
    let gone = dir.path().join(".app-2.dump.99999999.partial");
    std::fs::write(&gone, b"abandoned").unwrap();
    let removed = remove_abandoned_partials(dir.path()).unwrap();
    assert_eq!(removed, [".app-2.dump.99999999.partial"]);
    assert!(mine.path().exists());
    let path = mine.path().to_owned();
    drop(mine);
    assert!(
        !path.exists(),
        "a temporary file not renamed is removed when dropped"
    );
}
