//! `file_backup`: the configured paths (or the path given as the target, when the action has
//! none) as a zstd-compressed tar in the backup directory.
//!
//! The same discipline as `pg_backup`: a private temporary file, hashed as it is written (no
//! second read), fsynced and renamed into place, then the JSON manifest beside it — with every
//! file of the archive, its size and sha256. Retention runs after a successful backup only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytesize::ByteSize;
use chrono::Utc;
use serde_json::json;

use super::backups::archive::{self, ArchiveError};
use super::backups::manifest::{self, EntryKind, Manifest, Root};
use super::backups::{self, Partial, Selection};
use super::engine::{JobContext, Outcome, Stopped};
use super::pg_backup::{apply_retention, blocking, prepare, retention_step};
use super::{DEFAULT_TIMEOUT, Plan, Refusal, Subject, Target, Work};
use crate::config::{ActionConfig, FileBackupAction};
use crate::store::SUMMARY_KEY;

/// What manifests of this kind say they are.
pub const KIND: &str = "file_backup";
/// How often the bytes archived so far are logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBackupWork {
    pub action: String,
    /// The configured paths, or the one given as the target.
    pub roots: Vec<Root>,
    /// What the archives are listed under: the action's name, or the path given.
    pub subject: String,
    pub spec: FileBackupAction,
}

/// The backups of one action (of one path, for an action given its path as the target).
pub fn selection(action: &str, subject: Option<&str>) -> Selection {
    Selection {
        kind: KIND.to_owned(),
        action: Some(action.to_owned()),
        subject: subject.map(str::to_owned),
        stray_prefix: format!("{action}-"),
        suffix: archive::SUFFIX.to_owned(),
    }
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &FileBackupAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let (paths, target) = if spec.paths.is_empty() {
        let Subject::Named(given) = subject else {
            return Err(Refusal(format!(
                "`{}` has no `paths`: it backs up the path given as its target (ondeck run {} \
                 --target /srv/app)",
                action.name, action.name
            )));
        };
        let path = PathBuf::from(given.trim());
        if !path.is_absolute() {
            return Err(Refusal(format!(
                "`{}` backs up the path given as its target, which must be absolute, not `{}`",
                action.name,
                given.trim()
            )));
        }
        let name = path.display().to_string();
        (vec![path], name)
    } else {
        if let Subject::Named(given) = subject
            && given.trim() != action.name
        {
            return Err(Refusal(format!(
                "`{}` backs up its configured paths; the target must be its name, not `{}`",
                action.name,
                given.trim()
            )));
        }
        (spec.paths.clone(), action.name.clone())
    };
    let roots = roots(&paths)?;
    let dir = spec.dir.display();
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut steps = vec![
        format!("check that {dir} has room for an archive as large as the last one"),
        format!(
            "archive {} (links kept as links, never followed) as a zstd-compressed tar into \
             {dir}, its sha256 computed as it is written; fsync, rename",
            shown.join(", ")
        ),
        "write its manifest (time, size, sha256, every file with its size and sha256) beside it"
            .to_owned(),
    ];
    steps.extend(retention_step(&spec.retention));
    let work = Work::FileBackup(FileBackupWork {
        action: action.name.clone(),
        roots,
        subject: target.clone(),
        spec: spec.clone(),
    });
    Ok(Plan {
        steps,
        changes: format!("a new backup of {} in {dir}", shown.join(", ")),
        cannot_undo: retention_step(&spec.retention)
            .map(|_| "the backups retention removes are gone".to_owned()),
        detail: json!({
            "paths": shown,
            "dir": spec.dir,
            "retention": {
                "keep": spec.retention.keep,
                "max_age": spec.retention.max_age.map(|d| humantime::format_duration(d).to_string()),
            },
        }),
        ..Plan::new(
            action,
            Target {
                name: target,
                row: None,
            },
            work,
        )
    })
}

/// Each path as a root of the archive, named by its last component; two of one name could
/// not be told apart in it.
fn roots(paths: &[PathBuf]) -> Result<Vec<Root>, Refusal> {
    let mut roots: Vec<Root> = Vec::with_capacity(paths.len());
    for path in paths {
        let Some(name) = archive::root_name(path) else {
            return Err(Refusal(format!(
                "{} has no last component to name it in the archive",
                path.display()
            )));
        };
        if let Some(other) = roots.iter().find(|r| r.name == name) {
            return Err(Refusal(format!(
                "{} and {} would both be `{name}` in the archive; back them up in two actions",
                other.path.display(),
                path.display()
            )));
        }
        roots.push(Root {
            name,
            path: path.clone(),
        });
    }
    Ok(roots)
}

/// Runs the backup; see the module's documentation.
pub(super) async fn execute(work: &FileBackupWork, context: &JobContext<'_>) -> Outcome {
    let made = match context
        .interruptible(DEFAULT_TIMEOUT, back_up(work, context))
        .await
    {
        Ok(Ok(made)) => made,
        Ok(Err(error)) => return Outcome::failed(error),
        Err(Stopped::Cancelled) => {
            return Outcome::cancelled("cancelled; the unfinished archive was removed".to_owned());
        }
        Err(Stopped::TimedOut) => {
            return Outcome::failed(format!(
                "timed out after {}; the unfinished archive was removed",
                humantime::format_duration(DEFAULT_TIMEOUT)
            ));
        }
    };
    let files = made.files.as_ref().map_or(0, |f| {
        f.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .count()
    });
    context
        .log(format!(
            "backup {} written: {}, sha256 {}, {files} files, in {:.1}s",
            made.file,
            ByteSize(made.size),
            made.sha256,
            made.duration_ms as f64 / 1000.0
        ))
        .await;
    let applied = apply_retention(
        &work.spec.dir,
        selection(&work.action, Some(&work.subject)),
        &work.spec.retention,
        &work.action,
        context,
    )
    .await;
    let detail = json!({
        "file": made.file,
        "size": made.size,
        "sha256": made.sha256,
        "files": files,
        "duration_ms": made.duration_ms,
        "removed": applied.removed,
        "not_verifying": applied.reported,
        SUMMARY_KEY: format!("{}, {files} files", ByteSize(made.size)),
    });
    match applied.error {
        Some(error) => Outcome::failed(format!(
            "the backup {} is written and verifies, but retention failed: {error}",
            made.file
        ))
        .with_detail(detail),
        None => Outcome::succeeded(detail),
    }
}

/// Sets its flag when dropped: the blocking writer stops when the job is cancelled or times
/// out, as dropping a `pg_dump` stops it.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The archive and its manifest, up to the moment both are in place.
async fn back_up(work: &FileBackupWork, context: &JobContext<'_>) -> Result<Manifest, String> {
    let dir = &work.spec.dir;
    prepare(
        dir,
        selection(&work.action, Some(&work.subject)),
        &work.subject,
        context,
    )
    .await?;
    let time = Utc::now();
    let started = Instant::now();
    let file = format!(
        "{}-{}{}",
        work.action,
        time.format("%Y%m%dT%H%M%S%3fZ"),
        archive::SUFFIX
    );
    let path = dir.join(&file);
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(stop.clone());
    let (progress_tx, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let roots = work.roots.clone();
    let archive_path = path.clone();
    let mut writing = tokio::task::spawn_blocking(move || {
        let partial = Partial::beside(&archive_path);
        let out = backups::create_private(partial.path())
            .map_err(|error| format!("creating {}: {error}", partial.path().display()))?;
        let mut reported = Instant::now();
        let written = archive::write(&roots, out, &stop, &mut |done, total| {
            if reported.elapsed() >= PROGRESS_EVERY {
                reported = Instant::now();
                let _ = progress_tx.send((done, total));
            }
        })
        .map_err(|error| match error {
            ArchiveError::Stopped => "stopped".to_owned(),
            other => other.to_string(),
        })?;
        Ok::<_, String>((written, partial))
    });
    let (written, partial) = loop {
        tokio::select! {
            finished = &mut writing => break finished.map_err(|e| e.to_string())??,
            Some((done, total)) = progress.recv() => {
                context.log(format!("archived {} of {}", ByteSize(done), ByteSize(total))).await;
                if total > 0 {
                    context.progress((done as f64 / total as f64).min(0.95)).await;
                }
            }
        }
    };
    for skipped in &written.skipped {
        context
            .log(format!(
                "skipped {}: not a directory, a file or a link",
                skipped.display()
            ))
            .await;
    }
    let shown: Vec<String> = work
        .roots
        .iter()
        .map(|r| r.path.display().to_string())
        .collect();
    let manifest = Manifest {
        format: manifest::FORMAT,
        kind: KIND.to_owned(),
        action: work.action.clone(),
        file: file.clone(),
        time,
        source: manifest::Source {
            database: work.subject.clone(),
            url: shown.join(", "),
            server_version: String::new(),
        },
        size: written.size,
        sha256: written.sha256,
        tool: manifest::Tool {
            name: "ondeck (tar, zstd)".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        tables: Default::default(),
        sentinel: None,
        files: Some(written.files),
    };
    let json = manifest.to_json();
    blocking(move || put_in_place(partial, &path, &json))
        .await
        .map_err(|e| format!("putting {file} in place: {e}"))?;
    Ok(manifest)
}

/// Renames the archive into place, never over another, then writes its manifest.
fn put_in_place(partial: Partial, path: &Path, manifest: &[u8]) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    partial.rename_to(path)?;
    backups::write_atomically(&manifest::manifest_path(path), manifest)
}
