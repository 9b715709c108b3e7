//! `file_backup`'s archives: a tar stream of the given paths, zstd-compressed, hashed as it is
//! written; and the reading back of one, checked entry by entry against its manifest before
//! (and while) anything is extracted.
//!
//! Each path given to a backup is a root: its tree is in the archive under the path's last
//! component (`/srv/app` → `app/…`). Symbolic links are stored as links and never followed;
//! only directories, regular files and links are archived (a socket or a device is skipped
//! and said so).
//!
//! Reading refuses, before anything is written: an entry with `..`, an absolute path, a path
//! that goes through a link stored earlier (what would write outside the tree), an entry of
//! another type, a path twice, and any difference from the manifest's list (path, type, size,
//! sha256, link). Blocking throughout: run it off the async workers.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::manifest::{EntryKind, FileEntry, FileList, Root};

/// What `file_backup` names its archives with.
pub const SUFFIX: &str = ".tar.zst";
/// zstd's default: most of the ratio of the higher levels at a fraction of their time.
const LEVEL: i32 = 3;
const CHUNK: usize = 1 << 16;

/// An archive written: its size and sha256 (of the compressed bytes, as on disk) and what is
/// in it.
#[derive(Debug)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
    pub files: FileList,
    /// Paths that are neither a directory, a regular file nor a link, left out.
    pub skipped: Vec<PathBuf>,
}

/// What stops an archive being written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("stopped")]
    Stopped,
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
}

fn io_at(path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> ArchiveError {
    let path = path.as_ref().display().to_string();
    move |error| ArchiveError::Io { path, error }
}

/// The name a path is archived under: its last component.
pub fn root_name(path: &Path) -> Option<String> {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
}

/// A file system entry to archive, found by the walk.
struct Found {
    source: PathBuf,
    name: String,
    metadata: std::fs::Metadata,
}

/// Every entry under `roots`, parents before children, each directory's entries by name.
fn walk(roots: &[Root]) -> Result<(Vec<Found>, Vec<PathBuf>), ArchiveError> {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = roots
        .iter()
        .rev()
        .map(|root| (root.path.clone(), root.name.clone()))
        .collect();
    while let Some((source, name)) = pending.pop() {
        // Never followed: a link is archived as a link.
        let metadata = std::fs::symlink_metadata(&source).map_err(io_at(&source))?;
        let kind = metadata.file_type();
        if kind.is_dir() {
            let mut children: Vec<_> = std::fs::read_dir(&source)
                .map_err(io_at(&source))?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<io::Result<_>>()
                .map_err(io_at(&source))?;
            children.sort();
            // Popped in order: pushed last to first.
            for child in children.into_iter().rev() {
                pending.push((
                    source.join(&child),
                    format!("{name}/{}", child.to_string_lossy()),
                ));
            }
        } else if !kind.is_file() && !kind.is_symlink() {
            skipped.push(source);
            continue;
        }
        found.push(Found {
            source,
            name,
            metadata,
        });
    }
    Ok((found, skipped))
}

/// Writes the archive of `roots` to `out`: `progress` hears the bytes of files read so far
/// and their total; `stop` ends it between two reads.
pub fn write(
    roots: &[Root],
    out: File,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Written, ArchiveError> {
    let (found, skipped) = walk(roots)?;
    let total: u64 = found
        .iter()
        .filter(|f| f.metadata.is_file())
        .map(|f| f.metadata.len())
        .sum();
    let hashing = HashingWriter::new(out);
    let encoder = zstd::Encoder::new(hashing, LEVEL).map_err(io_at("zstd"))?;
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    let mut entries = Vec::with_capacity(found.len());
    let mut done = 0u64;
    for item in found {
        if stop.load(Ordering::Relaxed) {
            return Err(ArchiveError::Stopped);
        }
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&item.metadata);
        let kind = item.metadata.file_type();
        let entry = if kind.is_symlink() {
            let link = std::fs::read_link(&item.source).map_err(io_at(&item.source))?;
            header.set_size(0);
            builder
                .append_link(&mut header, &item.name, &link)
                .map_err(io_at(&item.source))?;
            EntryKind::Symlink {
                link: link.to_string_lossy().into_owned(),
            }
        } else if kind.is_dir() {
            header.set_size(0);
            builder
                .append_data(&mut header, &item.name, io::empty())
                .map_err(io_at(&item.source))?;
            EntryKind::Dir
        } else {
            let size = item.metadata.len();
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                .open(&item.source)
                .map_err(io_at(&item.source))?;
            let before = done;
            let mut reader = FileReader {
                file: file.take(size),
                hasher: Sha256::new(),
                read: 0,
                stop,
                progress: &mut |read| progress(before + read, total),
            };
            builder
                .append_data(&mut header, &item.name, &mut reader)
                .map_err(|error| match stop.load(Ordering::Relaxed) {
                    true => ArchiveError::Stopped,
                    false => io_at(&item.source)(error),
                })?;
            // tar pads a short read with nothing: the archive would be broken.
            if reader.read != size {
                return Err(ArchiveError::Refused(format!(
                    "{} changed while it was archived ({size} bytes, then {})",
                    item.source.display(),
                    reader.read
                )));
            }
            let sha256 = hex::encode(reader.hasher.finalize());
            done += size;
            EntryKind::File { size, sha256 }
        };
        entries.push(FileEntry {
            path: item.name,
            kind: entry,
        });
    }
    let encoder = builder.into_inner().map_err(io_at("tar"))?;
    let mut hashing = encoder.finish().map_err(io_at("zstd"))?;
    hashing.flush().map_err(io_at("archive"))?;
    hashing.inner.sync_all().map_err(io_at("archive"))?;
    Ok(Written {
        size: hashing.written,
        sha256: hex::encode(hashing.hasher.finalize()),
        files: FileList {
            roots: roots.to_vec(),
            entries,
        },
        skipped,
    })
}

/// The bytes written through it, counted and hashed.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file being archived: hashed as tar reads it, and stoppable between reads.
struct FileReader<'a> {
    file: io::Take<File>,
    hasher: Sha256,
    read: u64,
    stop: &'a AtomicBool,
    progress: &'a mut dyn FnMut(u64),
}

impl Read for FileReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("stopped"));
        }
        let read = self.file.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.read += read as u64;
        (self.progress)(self.read);
        Ok(read)
    }
}

/// Where [`read`] puts what it reads.
pub enum Unpack<'a> {
    /// Nowhere: the archive is only checked.
    Check,
    /// Every root into the directory `into` (created), each under its name.
    All { into: &'a Path },
    /// The root `name` as `into` itself (created): its directory, or its file.
    Root { name: &'a str, into: &'a Path },
}

/// Reads the archive at `path` through, checking every entry against `expected`, and
/// unpacks it as `unpack` says. Returns the number of entries.
pub fn read(
    path: &Path,
    expected: &FileList,
    unpack: Unpack<'_>,
    stop: &AtomicBool,
) -> Result<usize, ArchiveError> {
    let file = File::open(path).map_err(io_at(path))?;
    let decoder = zstd::Decoder::new(file).map_err(io_at(path))?;
    let mut archive = tar::Archive::new(decoder);
    let roots: HashSet<&str> = expected.roots.iter().map(|r| r.name.as_str()).collect();
    let mut seen = HashSet::new();
    let mut links: Vec<String> = Vec::new();
    // Directory modes are set last, deepest first: a read-only one must not stop its files.
    let mut directories: Vec<(PathBuf, u32, Option<SystemTime>)> = Vec::new();
    let mut wanted = expected.entries.iter();
    let not_an_archive =
        |error: io::Error| ArchiveError::Refused(format!("not a readable archive: {error}"));
    for (index, entry) in archive.entries().map_err(not_an_archive)?.enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Err(ArchiveError::Stopped);
        }
        let mut entry = entry.map_err(not_an_archive)?;
        let name = checked_name(&entry.path_bytes(), &roots, &links, &mut seen)?;
        let Some(manifest_entry) = wanted.next() else {
            return Err(ArchiveError::Refused(format!(
                "entry {} ({name}) is not in the manifest",
                index + 1
            )));
        };
        if manifest_entry.path != name {
            return Err(ArchiveError::Refused(format!(
                "entry {} is {name}, the manifest says {}",
                index + 1,
                manifest_entry.path
            )));
        }
        let header = entry.header().clone();
        let mode = header.mode().unwrap_or(0o600) & 0o777;
        let mtime = header
            .mtime()
            .ok()
            .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        let destination = destination(&unpack, &name);
        let kind = match header.entry_type() {
            tar::EntryType::Directory => {
                if let Some(destination) = &destination {
                    create_private_dir(destination)?;
                    directories.push((destination.clone(), mode, mtime));
                }
                EntryKind::Dir
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_default();
                if let Some(destination) = &destination {
                    std::os::unix::fs::symlink(&link, destination).map_err(io_at(destination))?;
                }
                links.push(name.clone());
                EntryKind::Symlink { link }
            }
            tar::EntryType::Regular => {
                let (size, sha256) = copy_file(&mut entry, destination.as_deref(), mode, mtime)?;
                EntryKind::File { size, sha256 }
            }
            other => {
                return Err(ArchiveError::Refused(format!(
                    "{name} is a {other:?} entry; only directories, files and links are restored"
                )));
            }
        };
        if manifest_entry.kind != kind {
            return Err(ArchiveError::Refused(format!(
                "{name} differs from the manifest: {kind:?} in the archive, {:?} in the manifest",
                manifest_entry.kind
            )));
        }
    }
    if let Some(missing) = wanted.next() {
        return Err(ArchiveError::Refused(format!(
            "the archive ends before {}, which the manifest lists",
            missing.path
        )));
    }
    for (directory, mode, mtime) in directories.into_iter().rev() {
        std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(mode))
            .map_err(io_at(&directory))?;
        if let Some(mtime) = mtime {
            // Best effort, like `cp -p`: a time that does not apply changes no content.
            let _ = File::open(&directory).and_then(|d| d.set_modified(mtime));
        }
    }
    Ok(expected.entries.len())
}

/// The entry's name if it is one to unpack: relative, without `..`, under a root, not through
/// a link stored before it, and not seen before.
fn checked_name(
    raw: &[u8],
    roots: &HashSet<&str>,
    links: &[String],
    seen: &mut HashSet<String>,
) -> Result<String, ArchiveError> {
    let text = String::from_utf8_lossy(raw);
    let name = text.trim_end_matches('/').to_owned();
    let refused = |why: &str| Err(ArchiveError::Refused(format!("entry {text:?} {why}")));
    let path = Path::new(&name);
    if path.is_absolute() {
        return refused("is an absolute path");
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return refused("leads out of the tree (`..`, `.` or a root)");
    }
    let root = name.split('/').next().unwrap_or_default();
    if !roots.contains(root) {
        return refused("is under none of the backup's paths");
    }
    if links
        .iter()
        .any(|link| name.starts_with(link.as_str()) && name[link.len()..].starts_with('/'))
    {
        return refused("goes through a symbolic link");
    }
    if !seen.insert(name.clone()) {
        return refused("is in the archive twice");
    }
    Ok(name)
}

/// Where the entry `name` goes, if anywhere.
fn destination(unpack: &Unpack<'_>, name: &str) -> Option<PathBuf> {
    match unpack {
        Unpack::Check => None,
        Unpack::All { into } => Some(into.join(name)),
        Unpack::Root { name: root, into } => match name.strip_prefix(root) {
            Some("") => Some(into.to_path_buf()),
            Some(rest) => rest.strip_prefix('/').map(|rest| into.join(rest)),
            None => None,
        },
    }
}

fn create_private_dir(path: &Path) -> Result<(), ArchiveError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(io_at(path))
}

/// Reads a file's bytes out of the archive, hashing them, into `destination` if there is one
/// (a new file, never through a link).
fn copy_file(
    entry: &mut impl Read,
    destination: Option<&Path>,
    mode: u32,
    mtime: Option<SystemTime>,
) -> Result<(u64, String), ArchiveError> {
    let mut out = match destination {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                .open(path)
                .map_err(io_at(path))?,
        ),
        None => None,
    };
    let at = destination.unwrap_or(Path::new("archive")).to_path_buf();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = entry
            .read(&mut buffer)
            .map_err(|error| ArchiveError::Refused(format!("not a readable archive: {error}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
        if let Some(out) = &mut out {
            out.write_all(&buffer[..read]).map_err(io_at(&at))?;
        }
    }
    if let Some(out) = out {
        out.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io_at(&at))?;
        if let Some(mtime) = mtime {
            let _ = out.set_modified(mtime);
        }
        out.sync_all().map_err(io_at(&at))?;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Puts `fresh` in the place of `target`, in one step when `target` exists (the two are
/// exchanged, then the old one removed), so that no reader ever sees half of either.
pub fn replace(fresh: &Path, target: &Path) -> io::Result<()> {
    let parent = target.parent().unwrap_or(Path::new("."));
    match std::fs::symlink_metadata(target) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            std::fs::rename(fresh, target)?;
        }
        Err(error) => return Err(error),
        Ok(_) => {
            nix::fcntl::renameat2(
                nix::fcntl::AT_FDCWD,
                fresh,
                nix::fcntl::AT_FDCWD,
                target,
                nix::fcntl::RenameFlags::RENAME_EXCHANGE,
            )
            .map_err(io::Error::from)?;
            // `fresh` now holds what `target` was.
            let old = std::fs::symlink_metadata(fresh)?;
            if old.is_dir() {
                make_removable(fresh)?;
                std::fs::remove_dir_all(fresh)?;
            } else {
                std::fs::remove_file(fresh)?;
            }
        }
    }
    super::sync_dir(parent)
}

/// Gives the owner write access to every directory under `dir`, so that a read-only one does
/// not stop its removal.
fn make_removable(dir: &Path) -> io::Result<()> {
    let metadata = std::fs::symlink_metadata(dir)?;
    if !metadata.is_dir() {
        return Ok(());
    }
    let mode = metadata.mode() | 0o700;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    for entry in std::fs::read_dir(dir)? {
        make_removable(&entry?.path())?;
    }
    Ok(())
}
