//! What the backup kinds share: the directory of dumps and their manifests, how a dump is
//! written (temporary file, hashed as it streams, fsynced, renamed), how one is verified, and
//! which are listed.
//!
//! A backup is a dump with its manifest beside it. Everything else in the directory is either
//! a temporary file (`.NAME.PID.partial`, removed once its process is gone) or something that
//! is reported and never restored: a manifest whose dump is missing or differs, a dump without
//! a manifest.

pub mod archive;
pub mod manifest;
pub mod postgres;
pub mod remote;
pub mod retention;
pub mod status;

use std::fs::DirBuilder;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use manifest::{MANIFEST_SUFFIX, Manifest, manifest_path};

/// Backups are private to the account running ondeck, like its store and log files.
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;
/// A dump being written: `.NAME.PID.partial`.
const PARTIAL_SUFFIX: &str = ".partial";
/// What `pg_backup` names its dumps with.
pub const DUMP_SUFFIX: &str = ".dump";

/// How far a listing checks each backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The manifest reads and the dump has its size: cheap, for retention and a quick list.
    Size,
    /// Also re-hash the dump and compare its sha256.
    Hash,
}

/// One manifest of the directory, and what is wrong with its backup, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
    pub problem: Option<String>,
}

impl Listed {
    pub fn dump_path(&self) -> PathBuf {
        self.manifest_path.with_file_name(&self.manifest.file)
    }
}

/// The backups of one database in a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Newest first.
    pub backups: Vec<Listed>,
    /// Files that look like this database's backups and are not usable: unreadable manifests,
    /// dumps without one. Never restored, never removed by retention.
    pub strays: Vec<(PathBuf, String)>,
}

impl Listing {
    /// How many entries are bad: backups with a problem and strays.
    pub fn bad(&self) -> usize {
        self.backups.iter().filter(|b| b.problem.is_some()).count() + self.strays.len()
    }
}

/// Lists the `kind` backups of `database` in `dir`, checking each to `depth`. A directory that
/// does not exist yet has no backups. Blocking: call it off the async workers.
pub fn list(dir: &Path, kind: &str, database: &str, depth: Depth) -> std::io::Result<Listing> {
    list_selected(dir, &Selection::of_database(kind, database), depth)
}

/// Which backups of a directory a listing is about: several kinds and subjects share one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The kind that wrote them (`pg_backup`, `file_backup`).
    pub kind: String,
    /// Only those written by this `[[action]]`.
    pub action: Option<String>,
    /// Only those of this database, or of these paths for a file backup.
    pub subject: Option<String>,
    /// Files named like this kind's backups (`app-…`, `….dump`) that no manifest describes are
    /// reported as strays.
    pub stray_prefix: String,
    pub suffix: String,
}

impl Selection {
    /// The dumps of one database.
    pub fn of_database(kind: &str, database: &str) -> Selection {
        Selection {
            kind: kind.to_owned(),
            action: None,
            subject: Some(database.to_owned()),
            stray_prefix: dump_prefix(database),
            suffix: DUMP_SUFFIX.to_owned(),
        }
    }

    pub fn selects(&self, manifest: &Manifest) -> bool {
        manifest.kind == self.kind
            && self.action.as_ref().is_none_or(|a| *a == manifest.action)
            && self
                .subject
                .as_ref()
                .is_none_or(|s| *s == manifest.source.database)
    }

    fn names_a_backup(&self, name: &str) -> bool {
        name.starts_with(&self.stray_prefix) && name.ends_with(&self.suffix)
    }
}

/// `a pg_backup backup of app`, `a file_backup backup by etc`.
impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {} backup", self.kind)?;
        if let Some(subject) = &self.subject {
            write!(f, " of {subject}")?;
        }
        if let Some(action) = &self.action {
            write!(f, " by {action}")?;
        }
        Ok(())
    }
}

/// Lists the backups of `dir` that `selection` picks, checking each to `depth`. A directory
/// that does not exist yet has no backups. Blocking: call it off the async workers.
pub fn list_selected(dir: &Path, selection: &Selection, depth: Depth) -> std::io::Result<Listing> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Listing::default());
        }
        Err(error) => return Err(error),
    };
    let mut listing = Listing::default();
    let mut dumps = Vec::new();
    let mut described = std::collections::HashSet::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if name.ends_with(MANIFEST_SUFFIX) {
            match Manifest::read(&path) {
                Ok(manifest) => {
                    // Described by a manifest, of this selection or another: never a stray.
                    described.insert(manifest.file.clone());
                    if selection.selects(&manifest) {
                        let problem = check(&path.with_file_name(&manifest.file), &manifest, depth);
                        listing.backups.push(Listed {
                            manifest_path: path,
                            manifest,
                            problem,
                        });
                    }
                }
                Err(problem) if name.starts_with(&selection.stray_prefix) => {
                    listing.strays.push((path, problem));
                }
                Err(_) => {}
            }
        } else if selection.names_a_backup(name) {
            dumps.push((name.to_owned(), path));
        }
    }
    for (name, path) in dumps {
        if !described.contains(&name) {
            listing.strays.push((
                path,
                "no manifest: never finished or its manifest was removed; not restorable"
                    .to_owned(),
            ));
        }
    }
    listing
        .backups
        .sort_by_key(|backup| std::cmp::Reverse(backup.manifest.time));
    listing.strays.sort();
    Ok(listing)
}

/// `app-` for the database `app`: the start of its dumps' names.
pub fn dump_prefix(database: &str) -> String {
    format!("{database}-")
}

/// What is wrong with the dump a manifest describes, if anything.
pub fn check(dump: &Path, manifest: &Manifest, depth: Depth) -> Option<String> {
    let size = match std::fs::metadata(dump) {
        Ok(metadata) => metadata.len(),
        Err(error) => return Some(format!("{}: {error}", manifest.file)),
    };
    if size != manifest.size {
        return Some(format!(
            "{} has {size} bytes, its manifest says {}",
            manifest.file, manifest.size
        ));
    }
    if depth == Depth::Hash {
        match sha256_of(dump) {
            Ok(sha256) if sha256 == manifest.sha256 => {}
            Ok(sha256) => {
                return Some(format!(
                    "{} has sha256 {sha256}, its manifest says {}",
                    manifest.file, manifest.sha256
                ));
            }
            Err(error) => return Some(format!("{}: {error}", manifest.file)),
        }
    }
    None
}

/// The sha256 of a file, in lower-case hex.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

/// Creates `dir` (and its parents) private to this account if it is missing.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
}

/// A file of this account only, created new (never an existing one, nor through a link).
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
}

/// Makes the directory's entries (a rename, a removal) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` all or nothing: a private temporary file beside it, fsynced,
/// renamed over it, the directory fsynced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temp = Partial::beside(path);
    let mut file = create_private(temp.path())?;
    file.write_all(bytes)?;
    file.sync_all()?;
    temp.rename_to(path)
}

/// `.NAME.PID.partial` beside `path`: hidden from listings, and recognisable as left by a
/// process that is gone.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}{PARTIAL_SUFFIX}", std::process::id()))
}

/// A temporary file of this process, removed when dropped unless it was renamed into place.
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    renamed: bool,
}

impl Partial {
    /// A temporary file beside `path` ([`partial_path`]).
    pub fn beside(path: &Path) -> Partial {
        Partial {
            path: partial_path(path),
            renamed: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `path` and makes that durable.
    pub fn rename_to(mut self, path: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, path)?;
        self.renamed = true;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.renamed {
            // Never created, or already gone: nothing to clean.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the temporary files and directories in `dir` whose process is gone (killed while it
/// wrote a dump or extracted a restore), and returns their names. Those of a live process are left alone.
pub fn remove_abandoned_partials(dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(pid) = partial_owner(name) else {
            continue;
        };
        if !process_alive(pid) {
            // A restore extracts into a directory of that name.
            if std::fs::symlink_metadata(&path)?.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
            removed.push(name.to_owned());
        }
    }
    Ok(removed)
}

/// The pid in `.NAME.PID.partial`.
fn partial_owner(name: &str) -> Option<i32> {
    let inner = name.strip_prefix('.')?.strip_suffix(PARTIAL_SUFFIX)?;
    let (_, pid) = inner.rsplit_once('.')?;
    pid.parse().ok()
}

fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        // It exists, and belongs to someone else.
        Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// The bytes free for this account in the file system of `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    // Both are `u64` on Linux and narrower elsewhere.
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
}

#[cfg(test)]
mod tests;
