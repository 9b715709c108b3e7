//! `file_restore`: an archive that `file_backup` wrote, checked through before anything is
//! touched, extracted beside its destination and put in its place in one rename.
//!
//! Before the destination is touched: the archive's size and sha256 match its manifest, and
//! the archive reads through with every entry inside the tree and as the manifest lists it.
//! The destination is `target` when configured (each backed-up path under its name in it),
//! else each path where the backup took it from. A failure or a cancel before the rename
//! leaves the destination as it was; the `health` check runs after.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::backups::archive::{self, ArchiveError, Unpack};
use super::backups::{self, Listed, Selection};
use super::engine::{JobContext, Outcome, Stopped};
use super::pg_backup::blocking;
use super::pg_restore::{named_backup, newest_verified};
use super::{DEFAULT_TIMEOUT, Plan, Refusal, Subject, Target, Work, file_backup, health_step};
use crate::config::{ActionConfig, FileRestoreAction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRestoreWork {
    pub action: String,
    pub spec: FileRestoreAction,
}

/// The archives a restore chooses from.
pub fn selection(spec: &FileRestoreAction) -> Selection {
    Selection {
        kind: file_backup::KIND.to_owned(),
        action: spec.backup_of.clone(),
        subject: None,
        stray_prefix: spec
            .backup_of
            .as_ref()
            .map(|action| format!("{action}-"))
            .unwrap_or_default(),
        suffix: archive::SUFFIX.to_owned(),
    }
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &FileRestoreAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    if let Subject::Named(given) = subject
        && given.trim() != action.name
    {
        return Err(Refusal(format!(
            "`{}` restores into its configured place; the target must be its name, not `{}`",
            action.name,
            given.trim()
        )));
    }
    let dir = spec.dir.display();
    let whose = match &spec.backup_of {
        Some(by) => format!("of {by}"),
        None => "of any file backup".to_owned(),
    };
    let which = match &spec.backup {
        Some(file) => format!("{file} in {dir}"),
        None => format!("the newest archive {whose} in {dir} that verifies"),
    };
    let destination = match &spec.target {
        Some(target) => target.display().to_string(),
        None => "each backed-up path, where the backup took it from,".to_owned(),
    };
    let mut steps = vec![
        format!("take {which}: its size and sha256 must match its manifest"),
        "read it through: every entry inside the tree (no `..`, absolute path or link to go \
         through) and as the manifest lists it (type, size, sha256)"
            .to_owned(),
        format!(
            "extract it into a temporary directory beside {destination} and put that in its \
             place in one rename"
        ),
    ];
    steps.extend(spec.health.as_ref().map(health_step));
    let work = Work::FileRestore(FileRestoreWork {
        action: action.name.clone(),
        spec: spec.clone(),
    });
    Ok(Plan {
        steps,
        changes: format!("{destination} is replaced by the contents of the backup"),
        cannot_undo: Some(format!(
            "what {destination} holds now and the backup does not"
        )),
        detail: json!({
            "dir": spec.dir,
            "backup": spec.backup,
            "backup_of": spec.backup_of,
            "target": spec.target,
        }),
        ..Plan::new(
            action,
            Target {
                name: action.name.clone(),
                row: None,
            },
            work,
        )
    })
}

/// Sets its flag when dropped: the blocking reader stops when the job is cancelled or times
/// out.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Where a root (or the whole archive) goes.
#[derive(Debug, Clone)]
struct Placement {
    /// `None`: every root, into the destination directory.
    root: Option<String>,
    destination: PathBuf,
}

/// Runs the restore; see the module's documentation.
pub(super) async fn execute(work: &FileRestoreWork, context: &JobContext<'_>) -> Outcome {
    let spec = work.spec.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(stop.clone());
    let checking = {
        let stop = stop.clone();
        async move {
            let (chosen, skipped, placements) = blocking(move || Ok(check(&spec, &stop))).await??;
            for (file, problem) in skipped {
                context
                    .log(format!("skipped {file}, which does not verify: {problem}"))
                    .await;
            }
            Ok::<_, String>((chosen, placements))
        }
    };
    let (chosen, placements) = match context.interruptible(DEFAULT_TIMEOUT, checking).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(error)) => {
            return Outcome::failed(format!("refused before anything was touched: {error}"));
        }
        Err(stopped) => return stopped_outcome(stopped, "before anything was touched"),
    };
    let manifest = &chosen.manifest;
    context
        .log(format!(
            "chose {} (sha256 {}, taken {}): size, sha256 and every entry checked",
            manifest.file,
            manifest.sha256,
            manifest.time.format("%Y-%m-%d %H:%M:%SZ"),
        ))
        .await;
    context.progress(0.3).await;
    let detail = json!({
        "backup": manifest.file,
        "sha256": manifest.sha256,
        "taken": manifest.time,
        "restored": placements.iter().map(|p| &p.destination).collect::<Vec<_>>(),
    });
    let mut restored = Vec::new();
    for placement in placements {
        let archive_path = chosen.dump_path();
        let listed = chosen.clone();
        let place = placement.clone();
        let stop = stop.clone();
        let step = blocking(move || Ok(extract_and_replace(&archive_path, &listed, &place, &stop)));
        match context.interruptible(DEFAULT_TIMEOUT, step).await {
            Ok(Ok(Ok(removed))) => {
                for name in removed {
                    context
                        .log(format!(
                            "removed {name}, left by a restore that was interrupted"
                        ))
                        .await;
                }
                context
                    .log(format!(
                        "restored {} into {}",
                        manifest.file,
                        placement.destination.display()
                    ))
                    .await;
                restored.push(placement.destination);
            }
            Ok(Ok(Err(error)) | Err(error)) => {
                return Outcome::failed(format!(
                    "{error} ({} is as it was{})",
                    placement.destination.display(),
                    already(&restored)
                ))
                .with_detail(detail);
            }
            Err(stopped) => {
                return stopped_outcome(
                    stopped,
                    &format!(
                        "({} is as it was{})",
                        placement.destination.display(),
                        already(&restored)
                    ),
                )
                .with_detail(detail);
            }
        }
    }
    let outcome = match &work.spec.health {
        Some(health) => {
            context.progress(0.9).await;
            match context.health(health).await {
                Ok(()) => Outcome::succeeded(serde_json::Value::Null),
                Err(error) => Outcome::failed(error.to_string()),
            }
        }
        None => Outcome::succeeded(serde_json::Value::Null),
    };
    outcome.with_detail(detail)
}

/// `; … were restored already`, for a failure after some paths were.
fn already(restored: &[PathBuf]) -> String {
    if restored.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = restored.iter().map(|p| p.display().to_string()).collect();
    format!("; {} restored already", shown.join(", "))
}

fn stopped_outcome(stopped: Stopped, state_of_things: &str) -> Outcome {
    match stopped {
        Stopped::Cancelled => Outcome::cancelled(format!("cancelled {state_of_things}")),
        Stopped::TimedOut => Outcome::failed(format!(
            "timed out after {} {state_of_things}",
            humantime::format_duration(DEFAULT_TIMEOUT)
        )),
    }
}

type Checked = (Listed, Vec<(String, String)>, Vec<Placement>);

/// The archive to restore, verified and read through, and where each of its parts goes.
fn check(spec: &FileRestoreAction, stop: &AtomicBool) -> Result<Checked, String> {
    let selection = selection(spec);
    let (chosen, skipped) = match &spec.backup {
        Some(file) => (named_backup(&spec.dir, file, &selection), Vec::new()),
        None => newest_verified(&spec.dir, &selection)
            .map_err(|e| format!("{}: {e}", spec.dir.display()))?,
    };
    let chosen = chosen?;
    let file = &chosen.manifest.file;
    let Some(files) = &chosen.manifest.files else {
        return Err(format!("the manifest of {file} lists no files"));
    };
    archive::read(&chosen.dump_path(), files, Unpack::Check, stop)
        .map_err(|error| format!("{file}: {error}"))?;
    let placements = match &spec.target {
        Some(target) => vec![Placement {
            root: None,
            destination: target.clone(),
        }],
        None => files
            .roots
            .iter()
            .map(|root| Placement {
                root: Some(root.name.clone()),
                destination: root.path.clone(),
            })
            .collect(),
    };
    for placement in &placements {
        let destination = &placement.destination;
        let parent = destination.parent().filter(|p| !p.as_os_str().is_empty());
        if !destination.is_absolute() || parent.is_none_or(|p| !p.is_dir()) {
            return Err(format!(
                "{} is not a path whose directory exists",
                destination.display()
            ));
        }
    }
    Ok((chosen, skipped, placements))
}

/// Extracts into a temporary directory beside the destination and puts it in its place;
/// returns what interrupted restores had left there and was removed.
fn extract_and_replace(
    archive_path: &Path,
    chosen: &Listed,
    placement: &Placement,
    stop: &AtomicBool,
) -> Result<Vec<String>, String> {
    let destination = &placement.destination;
    let parent = destination.parent().unwrap_or(Path::new("/"));
    let removed = backups::remove_abandoned_partials(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    let temp = TempTree(backups::partial_path(destination));
    let expected = chosen
        .manifest
        .files
        .as_ref()
        .ok_or_else(|| "the manifest lists no files".to_owned())?;
    let unpack = match &placement.root {
        Some(name) => Unpack::Root {
            name,
            into: &temp.0,
        },
        None => {
            backups::ensure_private_dir(&temp.0)
                .map_err(|e| format!("{}: {e}", temp.0.display()))?;
            Unpack::All { into: &temp.0 }
        }
    };
    archive::read(archive_path, expected, unpack, stop).map_err(|error| match error {
        ArchiveError::Stopped => "stopped".to_owned(),
        other => format!("{}: {other}", chosen.manifest.file),
    })?;
    if placement.root.is_none()
        && let Ok(metadata) = std::fs::metadata(destination)
    {
        // The directory that holds the roots keeps the mode it had.
        std::fs::set_permissions(&temp.0, metadata.permissions())
            .map_err(|e| format!("{}: {e}", temp.0.display()))?;
    }
    if stop.load(Ordering::Relaxed) {
        return Err("stopped".to_owned());
    }
    archive::replace(&temp.0, destination)
        .map_err(|e| format!("putting {} in place: {e}", destination.display()))?;
    Ok(removed)
}

/// A temporary tree of this process, removed when dropped; after [`archive::replace`] there is
/// nothing left at its path.
struct TempTree(PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.0) {
            Ok(metadata) if metadata.is_dir() => {
                let _ = std::fs::remove_dir_all(&self.0);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&self.0);
            }
            Err(_) => {}
        }
    }
}
