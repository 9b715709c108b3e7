//! `file_backup` and `file_restore` end to end, through the binary, with a SQLite store in a
//! scratch directory: no services needed.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sha2::Digest;

/// A scratch directory with a tree to back up, and a configuration naming it.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn backups(&self) -> PathBuf {
        self.path("backups")
    }

    /// The tree `app`: nested directories, an empty file, a 1 MB file, links inside and out.
    fn tree(&self) -> PathBuf {
        let app = self.path("app");
        std::fs::create_dir_all(app.join("etc/conf.d/deep")).unwrap();
        std::fs::create_dir_all(app.join("empty-dir")).unwrap();
        std::fs::write(app.join("etc/app.toml"), "port = 8080\n").unwrap();
        std::fs::write(app.join("etc/conf.d/empty"), "").unwrap();
        std::fs::write(app.join("etc/conf.d/deep/note"), "deep\n").unwrap();
        // Incompressible-ish: each byte from a simple generator.
        let mut state = 0x2545_f491_u32;
        let big: Vec<u8> = (0..1_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        std::fs::write(app.join("data.bin"), big).unwrap();
        std::fs::set_permissions(
            app.join("etc/app.toml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::os::unix::fs::symlink("etc/app.toml", app.join("config")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", app.join("outside")).unwrap();
        app
    }

    fn config(&self, actions: &str) {
        let store = self.path("ondeck.db");
        std::fs::write(
            self.path("config.toml"),
            format!("[store]\nurl = \"sqlite://{}\"\n{actions}", store.display()),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ondeck"));
        command
            .arg("--config")
            .arg(self.path("config.toml"))
            .args(args)
            .env("XDG_DATA_HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path());
        command
    }

    fn ondeck(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        let output = self.ondeck(&["audit", "--json"]);
        assert!(output.status.success(), "{}", text(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

fn backup_action(lab: &Lab, paths: &[&Path], extra: &str) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    format!(
        "[[action]]\nname = \"backup\"\nkind = \"file_backup\"\npaths = [{}]\ndir = \"{}\"\n{extra}\n",
        paths.join(", "),
        lab.backups().display()
    )
}

fn restore_action(lab: &Lab, target: &Path, extra: &str) -> String {
    format!(
        "[[action]]\nname = \"restore\"\nkind = \"file_restore\"\nbackup_of = \"backup\"\n\
         dir = \"{}\"\ntarget = \"{}\"\n{extra}\n",
        lab.backups().display(),
        target.display()
    )
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

/// The manifests in the backups directory, oldest first.
fn manifests(lab: &Lab) -> Vec<(PathBuf, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lab.backups())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let manifest = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, manifest)
        })
        .collect()
}

fn archive_of(lab: &Lab, manifest: &Value) -> PathBuf {
    lab.backups().join(manifest["file"].as_str().unwrap())
}

/// Every path under `root` (relative), with what it is: `dir`, `file SIZE SHA256 MODE`,
/// `link TARGET`.
fn tree_of(root: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let shown = if metadata.is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if metadata.is_dir() {
                pending.push(path);
                "dir".to_owned()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!(
                    "file {} {} {:o}",
                    bytes.len(),
                    sha256_hex(&bytes),
                    metadata.permissions().mode() & 0o777
                )
            };
            found.insert(relative, shown);
        }
    }
    found
}

fn back_up(lab: &Lab) {
    let output = lab.ondeck(&["run", "backup", "--target", "backup", "--yes"]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn a_tree_backed_up_and_restored_into_an_empty_directory_is_identical() {
    let lab = Lab::new();
    let app = lab.tree();
    let restored = lab.path("restored");
    std::fs::create_dir(&restored).unwrap();
    lab.config(&format!(
        "{}{}",
        backup_action(&lab, &[&app], ""),
        restore_action(&lab, &restored, "")
    ));
    back_up(&lab);

    let manifests = manifests(&lab);
    assert_eq!(manifests.len(), 1);
    let manifest = &manifests[0].1;
    let archive = archive_of(&lab, manifest);
    assert_eq!(manifest["kind"], "file_backup");
    assert_eq!(manifest["sha256"].as_str().unwrap(), sha256sum(&archive));
    assert_eq!(manifest["size"], std::fs::metadata(&archive).unwrap().len());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&archive), 0o600);
    // Every file with its size and sha256; links as links.
    let entries = manifest["files"]["entries"].as_array().unwrap();
    let entry = |path: &str| {
        entries
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in {entries:?}"))
    };
    assert_eq!(entry("app/data.bin")["size"], 1_000_000);
    assert_eq!(
        entry("app/data.bin")["sha256"].as_str().unwrap(),
        sha256sum(&app.join("data.bin"))
    );
    assert_eq!(entry("app/etc/conf.d/empty")["size"], 0);
    assert_eq!(entry("app/config")["type"], "symlink");
    assert_eq!(entry("app/outside")["link"], "/etc/hostname");
    assert_eq!(entry("app/empty-dir")["type"], "dir");

    let listed = lab.ondeck(&["backups", "backup", "--verify"]);
    assert!(
        text(&listed).contains("1 backups, all good"),
        "{}",
        text(&listed)
    );

    let output = lab.ondeck(&["run", "restore", "--target", "restore", "--yes"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(tree_of(&restored.join("app")), tree_of(&app));
    assert_eq!(tree_of(&restored).len(), tree_of(&app).len() + 1);
    let record = lab
        .audit()
        .into_iter()
        .rev()
        .find(|r| r["action"] == "restore" && r["outcome"] != "REQUESTED")
        .unwrap();
    assert_eq!(record["outcome"], "SUCCEEDED", "{record}");
}

#[test]
fn a_restore_without_a_target_replaces_the_backed_up_path_in_one_step() {
    let lab = Lab::new();
    let app = lab.tree();
    lab.config(&format!(
        "{}[[action]]\nname = \"restore\"\nkind = \"file_restore\"\ndir = \"{}\"\n",
        backup_action(&lab, &[&app], ""),
        lab.backups().display()
    ));
    let before = tree_of(&app);
    back_up(&lab);
    std::fs::remove_file(app.join("data.bin")).unwrap();
    std::fs::write(app.join("etc/app.toml"), "port = 1\n").unwrap();
    std::fs::write(app.join("new-since"), "x").unwrap();

    let output = lab.ondeck(&["run", "restore", "--target", "restore", "--yes"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(tree_of(&app), before);
    let left: Vec<String> = std::fs::read_dir(lab.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "temporary trees left: {left:?}");
}

/// A tar with one entry that leads out of the tree, zstd-compressed.
fn escaping_archive() -> Vec<u8> {
    let mut raw = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut raw);
        let mut header = tar::Header::new_gnu();
        header.set_size(4);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `set_path` refuses `..`: the name goes into the header's bytes directly.
        let name = b"app/../../escape";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        builder.append(&header, &b"evil"[..]).unwrap();
        builder.finish().unwrap();
    }
    zstd::encode_all(&raw[..], 3).unwrap()
}

#[test]
fn corrupt_archives_are_refused_before_the_target_is_touched() {
    type Corruption = fn(&mut Vec<u8>, &mut Value);
    let cases: [(&str, &str, Corruption); 6] = [
        ("flipped byte", "sha256", |archive, _| {
            let middle = archive.len() / 2;
            archive[middle] ^= 0x40;
        }),
        ("truncated", "bytes, its manifest says", |archive, _| {
            archive.truncate(archive.len() / 2)
        }),
        ("wrong sha256 in the manifest", "sha256", |_, manifest| {
            manifest["sha256"] = Value::from("0".repeat(64));
        }),
        ("missing manifest", "there are none", |_, manifest| {
            *manifest = Value::Null
        }),
        (
            "not an archive",
            "not a readable archive",
            |archive, manifest| {
                *archive = b"just some text, not a tar at all\n".repeat(100);
                manifest["size"] = Value::from(archive.len());
                manifest["sha256"] = Value::from(sha256_hex(archive));
            },
        ),
        (
            "an entry that escapes",
            "leads out of the tree",
            |archive, manifest| {
                *archive = escaping_archive();
                manifest["size"] = Value::from(archive.len());
                manifest["sha256"] = Value::from(sha256_hex(archive));
                manifest["files"]["entries"] = serde_json::json!([
                    {"path": "app/../../escape", "type": "file", "size": 4, "sha256": sha256_hex(b"evil")}
                ]);
            },
        ),
    ];
    for (case, why, corrupt) in cases {
        let lab = Lab::new();
        let app = lab.tree();
        let target = lab.path("live");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("precious"), "still here").unwrap();
        lab.config(&format!(
            "{}{}",
            backup_action(&lab, &[&app], ""),
            restore_action(&lab, &target, "")
        ));
        back_up(&lab);
        let (manifest_path, mut manifest) = manifests(&lab).remove(0);
        let archive = archive_of(&lab, &manifest);
        let mut bytes = std::fs::read(&archive).unwrap();
        corrupt(&mut bytes, &mut manifest);
        std::fs::write(&archive, &bytes).unwrap();
        if manifest.is_null() {
            std::fs::remove_file(&manifest_path).unwrap();
        } else {
            std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        }
        let target_before = tree_of(&target);

        let output = lab.ondeck(&["run", "restore", "--target", "restore", "--yes"]);
        assert!(!output.status.success(), "{case}: {}", text(&output));
        assert!(
            text(&output).contains("refused before anything was touched")
                && text(&output).contains(why),
            "{case}: {}",
            text(&output)
        );
        assert_eq!(tree_of(&target), target_before, "{case}");
        assert!(
            !lab.path("escape").exists() && !lab.dir.path().join("../escape").exists(),
            "{case}"
        );
        let partials: Vec<String> = std::fs::read_dir(lab.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(partials.is_empty(), "{case}: {partials:?}");
        // What its manifest does not vouch for is listed as bad; an archive forged with a
        // manifest to match passes the hash and is refused by the restore's read-through.
        let vouched = !matches!(case, "not an archive" | "an entry that escapes");
        let listed = lab.ondeck(&["backups", "backup", "--verify"]);
        assert_eq!(
            listed.status.code() == Some(1),
            vouched,
            "{case}: {}",
            text(&listed)
        );
    }
}

#[test]
fn retention_keeps_the_newest_n_and_never_the_only_good_one() {
    let lab = Lab::new();
    let app = lab.tree();
    lab.config(&backup_action(&lab, &[&app], "retention = { keep = 2 }"));
    for _ in 0..4 {
        back_up(&lab);
    }
    let kept: Vec<String> = manifests(&lab)
        .iter()
        .map(|(_, m)| m["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let deletions = lab
        .audit()
        .into_iter()
        .filter(|r| r["action"] == "delete-backup")
        .count();
    assert_eq!(deletions, 2, "every deletion audited");

    // The newest is cut short: it does not verify, is kept and reported, and the one good
    // backup left is never removed, whatever `keep` says.
    lab.config(&backup_action(&lab, &[&app], "retention = { keep = 1 }"));
    let (_, newest) = manifests(&lab).pop().unwrap();
    let archive = archive_of(&lab, &newest);
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    back_up(&lab);
    let files: Vec<String> = manifests(&lab)
        .iter()
        .map(|(_, m)| m["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "the new good one and the bad one: {files:?}"
    );
    assert!(files.contains(&newest["file"].as_str().unwrap().to_owned()));
    let listed = lab.ondeck(&["backups", "backup"]);
    assert_eq!(listed.status.code(), Some(1), "{}", text(&listed));
    assert!(
        text(&listed).contains("2 backups, 1 bad"),
        "{}",
        text(&listed)
    );
}

/// A tree large enough that archiving it takes a while: many files of incompressible bytes.
fn large_tree(lab: &Lab) -> PathBuf {
    let root = lab.path("large");
    std::fs::create_dir(&root).unwrap();
    let mut state = 0x9e37_79b9_u32;
    let mut chunk = vec![0u8; 1 << 20];
    for n in 0..100 {
        for byte in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        let mut file = std::fs::File::create(root.join(format!("part-{n:03}"))).unwrap();
        file.write_all(&chunk).unwrap();
    }
    root
}

#[test]
fn a_backup_killed_mid_archive_is_interrupted_unlisted_and_its_temporary_file_removed() {
    let lab = Lab::new();
    let large = large_tree(&lab);
    lab.config(&backup_action(&lab, &[&large], ""));
    let mut child = lab
        .command(&["run", "backup", "--target", "backup", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = || -> Vec<String> {
        std::fs::read_dir(lab.backups())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".partial"))
                    .collect()
            })
            .unwrap_or_default()
    };
    for _ in 0..200 {
        if !partial().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(partial().len(), 1, "the archive is being written");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(partial().len(), 1, "left behind by the killed backup");

    let listed = lab.ondeck(&["backups", "backup"]);
    assert!(text(&listed).contains("no backups"), "{}", text(&listed));
    let output = lab.ondeck(&["run", "backup", "--target", "backup", "--dry-run"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("of a backup that was interrupted"),
        "{}",
        text(&output)
    );
    assert!(partial().is_empty(), "{:?}", partial());
    let interrupted = lab
        .audit()
        .iter()
        .any(|r| r["action"] == "backup" && r["outcome"] == "INTERRUPTED");
    assert!(interrupted, "the killed job is recorded INTERRUPTED");
}
