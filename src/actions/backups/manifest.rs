//! The JSON manifest written beside every dump: what it is, where it came from, and the size
//! and sha256 a restore checks before it touches anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;
/// `app-20251120T120000Z.dump` → `app-20251120T120000Z.dump.manifest.json`.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// The table the sentinel row is written to, in the backed-up database.
pub const SENTINEL_TABLE: &str = "ondeck_backup_sentinel";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The action kind that wrote it (`pg_backup`, `file_backup`).
    pub kind: String,
    /// The `[[action]]` that wrote it.
    pub action: String,
    /// The dump's file name, beside the manifest.
    pub file: String,
    /// When the dump started, UTC.
    pub time: DateTime<Utc>,
    pub source: Source,
    pub size: u64,
    /// Of the file's bytes, in lower-case hex.
    pub sha256: String,
    pub tool: Tool,
    pub duration_ms: u64,
    /// Rows per table (`schema.table`) in the dump's snapshot.
    pub tables: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<Sentinel>,
    /// What a `file_backup` archive holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<FileList>,
}

/// The paths a file backup was given and every entry of its archive, in archive order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileList {
    pub roots: Vec<Root>,
    pub entries: Vec<FileEntry>,
}

/// A path given to a file backup: its tree is in the archive under `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// In the archive: `ROOT/dir/file`.
    pub path: String,
    #[serde(flatten)]
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryKind {
    Dir,
    File {
        size: u64,
        sha256: String,
    },
    /// Stored as a link, never followed.
    Symlink {
        link: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The database dumped; for a file backup, the name its archives are listed under (its
    /// action's, or the path it was given when it has no `paths` of its own).
    pub database: String,
    /// The connection URL with its password masked; for a file backup, its paths.
    pub url: String,
    /// Empty for a file backup.
    pub server_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// The row written just before the dump: a restored copy that has it is the dump of that
/// moment, not an older one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentinel {
    pub table: String,
    pub id: String,
    pub written_at: DateTime<Utc>,
}

/// Where the manifest of `dump` is.
pub fn manifest_path(dump: &Path) -> PathBuf {
    let mut name = dump.file_name().unwrap_or_default().to_owned();
    name.push(MANIFEST_SUFFIX);
    dump.with_file_name(name)
}

impl Manifest {
    /// Reads and checks a manifest file: the format is known and the file it names is a plain
    /// name beside it (never a path that leads elsewhere).
    pub fn read(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read(path).map_err(|e| format!("unreadable manifest: {e}"))?;
        Manifest::parse(&text)
    }

    /// Checks a manifest's bytes as [`Manifest::read`] does.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(text).map_err(|e| format!("not a manifest: {e}"))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "manifest format {} is not the one this version reads ({FORMAT})",
                manifest.format
            ));
        }
        let plain_name = Path::new(&manifest.file).file_name()
            == Some(std::ffi::OsStr::new(&manifest.file))
            && !manifest.file.starts_with('.');
        if !plain_name {
            return Err(format!(
                "the manifest names {:?}, which is not a file beside it",
                manifest.file
            ));
        }
        Ok(manifest)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings, numbers and maps with string keys always serialises.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
