//! `pg_backup`: `pg_dump -Fc` of the database named in the URL into the backup directory.
//!
//! The dump streams through ondeck into a private temporary file while its sha256 is computed
//! (no second read); the file is fsynced and renamed into place, and a JSON manifest is written
//! beside it. The per-table row counts are taken in the very snapshot `pg_dump` dumps
//! (`pg_export_snapshot`), so a drill can compare them exactly. Retention runs after a
//! successful backup only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytesize::ByteSize;
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Executor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::backups::manifest::{self, Manifest, SENTINEL_TABLE};
use super::backups::postgres::{self, PgDatabase};
use super::backups::remote::Remote;
use super::backups::retention::{self, Candidate};
use super::backups::{self, Depth, Partial, Selection};
use super::engine::{JobContext, Outcome, Stopped};
use super::{DEFAULT_TIMEOUT, Plan, Refusal, Subject, Work, database_target};
use crate::config::{ActionConfig, PgBackupAction, Retention};
use crate::store::SUMMARY_KEY;

/// What manifests of this kind say they are.
pub const KIND: &str = "pg_backup";
/// The audit action of a backup retention removed.
pub const RETENTION_AUDIT_ACTION: &str = "delete-backup";
/// How often the bytes dumped so far are logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Read from pg_dump at once.
const CHUNK: usize = 1 << 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBackupWork {
    pub action: String,
    pub spec: PgBackupAction,
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &PgBackupAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let database = PgDatabase::resolve(&spec.database).map_err(Refusal)?;
    let target = database_target(action, &database, subject)?;
    let dir = spec.dir.display();
    let mut steps = vec![format!(
        "check that {dir} has room for a dump as large as the last one"
    )];
    if spec.sentinel {
        steps.push(format!(
            "write a sentinel row into {SENTINEL_TABLE} in {}",
            database.name
        ));
    }
    steps.extend([
        "count the rows of every table in the snapshot the dump is taken of".to_owned(),
        format!(
            "{} --format=custom of {} into {dir}, its sha256 computed as it streams; fsync, rename",
            postgres::tool(spec.bin_dir.as_deref(), "pg_dump"),
            database.shown
        ),
        "write its manifest (time, size, sha256, row counts) beside it".to_owned(),
    ]);
    steps.extend(copy_steps(spec.copy_to.as_ref()));
    steps.extend(retention_step(&spec.retention));
    if let Some(copy) = &spec.copy_to {
        steps.extend(
            retention_step(&spec.retention).map(|step| format!("{step}; in {} too", copy.url)),
        );
    }
    let work = Work::PgBackup(PgBackupWork {
        action: action.name.clone(),
        spec: spec.clone(),
    });
    Ok(Plan {
        steps,
        changes: if spec.sentinel {
            format!(
                "a new backup of {} in {dir}; a row in its {SENTINEL_TABLE} table",
                database.name
            )
        } else {
            format!("a new backup of {} in {dir}", database.name)
        },
        cannot_undo: retention_step(&spec.retention)
            .map(|_| "the backups retention removes are gone".to_owned()),
        detail: json!({
            "database": database.shown,
            "dir": spec.dir,
            "sentinel": spec.sentinel,
            "copy_to": spec.copy_to.as_ref().map(|copy| &copy.url),
            "retention": {
                "keep": spec.retention.keep,
                "max_age": spec.retention.max_age.map(|d| humantime::format_duration(d).to_string()),
            },
        }),
        ..Plan::new(action, target, work)
    })
}

/// The plan's lines for an off-site copy; any backup kind with a `copy_to` shows them.
pub(super) fn copy_steps(copy_to: Option<&crate::config::RemoteCopy>) -> Option<String> {
    copy_to.map(|copy| {
        format!(
            "copy the dump and then its manifest to {}: read once, its sha256 compared with the \
             manifest's before the upload completes, each request's checked by the store",
            copy.url
        )
    })
}

pub(super) fn retention_step(retention: &Retention) -> Option<String> {
    let limits: Vec<String> = retention
        .keep
        .map(|keep| format!("the newest {keep}"))
        .into_iter()
        .chain(
            retention
                .max_age
                .map(|age| format!("those younger than {}", humantime::format_duration(age))),
        )
        .collect();
    (!limits.is_empty()).then(|| {
        format!(
            "retention: keep {} of the backups that verify, and always the newest of them",
            limits.join(" and ")
        )
    })
}

/// Runs the backup; see the module's documentation.
pub(super) async fn execute(work: &PgBackupWork, context: &JobContext<'_>) -> Outcome {
    let database = match PgDatabase::resolve(&work.spec.database) {
        Ok(database) => database,
        Err(error) => return Outcome::failed(error),
    };
    let timeout = work.spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let made = match context
        .interruptible(timeout, dump(work, &database, context))
        .await
    {
        Ok(Ok(made)) => made,
        Ok(Err(error)) => return Outcome::failed(error),
        Err(Stopped::Cancelled) => {
            return Outcome::cancelled(
                "cancelled; pg_dump was stopped and its unfinished file removed".to_owned(),
            );
        }
        Err(Stopped::TimedOut) => {
            return Outcome::failed(format!(
                "timed out after {}; pg_dump was stopped and its unfinished file removed",
                humantime::format_duration(timeout)
            ));
        }
    };
    context
        .log(format!(
            "backup {} written: {}, sha256 {}, {} tables, {} rows, in {:.1}s",
            made.file,
            ByteSize(made.size),
            made.sha256,
            made.tables.len(),
            made.tables.values().sum::<i64>(),
            made.duration_ms as f64 / 1000.0
        ))
        .await;
    // The copy has a `timeout` of its own: a large dump to a slow link takes longer to send
    // than to write.
    let remote = match &work.spec.copy_to {
        None => None,
        Some(copy) => {
            let copied = context
                .interruptible(timeout, copy_off_site(copy, &work.spec.dir, &made, context))
                .await;
            let kept = format!("the backup {} is written and verifies", made.file);
            match copied {
                Ok(Ok(remote)) => Some(remote),
                Ok(Err(error)) => {
                    return Outcome::failed(format!(
                        "{kept}, but its off-site copy failed: {error}; retention was not applied"
                    ));
                }
                Err(Stopped::Cancelled) => {
                    return Outcome::cancelled(format!(
                        "cancelled during the off-site copy; {kept}"
                    ));
                }
                Err(Stopped::TimedOut) => {
                    return Outcome::failed(format!(
                        "{kept}, but its off-site copy timed out after {}",
                        humantime::format_duration(timeout)
                    ));
                }
            }
        }
    };
    let mut applied = apply_retention(
        &work.spec.dir,
        Selection::of_database(KIND, &database.name),
        &work.spec.retention,
        &work.action,
        context,
    )
    .await;
    if let Some(remote) = &remote
        && applied.error.is_none()
    {
        let audit = (RETENTION_AUDIT_ACTION, work.action.as_str());
        match remote
            .apply_retention(KIND, &database.name, &work.spec.retention, audit, context)
            .await
        {
            Ok(removed) => applied.removed_remote = removed,
            Err(error) => applied.error = Some(error),
        }
    }
    let detail = json!({
        "file": made.file,
        "size": made.size,
        "sha256": made.sha256,
        "tables": made.tables.len(),
        "rows": made.tables.values().sum::<i64>(),
        "duration_ms": made.duration_ms,
        "sentinel": made.sentinel.as_ref().map(|s| &s.id),
        "removed": applied.removed,
        "not_verifying": applied.reported,
        "copied_to": remote.as_ref().map(|remote| remote.shown(&made.file)),
        "removed_remote": applied.removed_remote,
        SUMMARY_KEY: format!(
            "{}, {} tables, {} rows{}",
            ByteSize(made.size),
            made.tables.len(),
            made.tables.values().sum::<i64>(),
            if remote.is_some() { ", copied off-site" } else { "" }
        ),
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

/// Uploads a backup that is in place and verifies to its `copy_to`; returns the remote for
/// its retention. Any backup kind calls this after its own dump and manifest are written.
pub(super) async fn copy_off_site(
    copy: &crate::config::RemoteCopy,
    dir: &Path,
    made: &Manifest,
    context: &JobContext<'_>,
) -> Result<Remote, String> {
    let remote = Remote::open(copy)?;
    context.progress(0.5).await;
    remote.upload(&dir.join(&made.file), made, context).await?;
    Ok(remote)
}

/// Runs a blocking file-system step off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    step: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(step).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(join) => Err(join.to_string()),
    }
}

/// The dump and its manifest, up to the moment both are in place.
async fn dump(
    work: &PgBackupWork,
    database: &PgDatabase,
    context: &JobContext<'_>,
) -> Result<Manifest, String> {
    let spec = &work.spec;
    let last_size = prepare(
        &spec.dir,
        Selection::of_database(KIND, &database.name),
        &database.name,
        context,
    )
    .await?;

    let pg_dump = postgres::tool(spec.bin_dir.as_deref(), "pg_dump");
    let tool_version = postgres::tool_version(&pg_dump).await?;
    let mut connection = database.connect().await?;
    let server_version = postgres::server_version(&mut connection).await?;
    if let Some(problem) = postgres::version_problem("pg_dump", &tool_version, &server_version) {
        return Err(problem);
    }
    let sentinel = if spec.sentinel {
        let id = uuid::Uuid::new_v4().to_string();
        let written_at = postgres::write_sentinel(&mut connection, &id, context.job_id()).await?;
        context
            .log(format!("sentinel {id} written to {SENTINEL_TABLE}"))
            .await;
        Some(manifest::Sentinel {
            table: SENTINEL_TABLE.to_owned(),
            id,
            written_at,
        })
    } else {
        None
    };
    // The counts and the dump see the same snapshot: the transaction that exported it stays
    // open until pg_dump has finished.
    connection
        .execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(|e| e.to_string())?;
    let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let tables = postgres::table_counts(&mut connection).await?;

    let time = Utc::now();
    let started = Instant::now();
    let file = format!(
        "{}{}{}",
        backups::dump_prefix(&database.name),
        time.format("%Y%m%dT%H%M%SZ"),
        backups::DUMP_SUFFIX
    );
    let path = spec.dir.join(&file);
    let (size, sha256, partial) =
        stream_dump(&pg_dump, database, &snapshot, &path, last_size, context).await?;
    let _ = connection.execute("ROLLBACK").await;
    let manifest = Manifest {
        format: manifest::FORMAT,
        kind: KIND.to_owned(),
        action: work.action.clone(),
        file: file.clone(),
        time,
        source: manifest::Source {
            database: database.name.clone(),
            url: database.shown.clone(),
            server_version,
        },
        size,
        sha256,
        tool: manifest::Tool {
            name: "pg_dump".to_owned(),
            version: tool_version,
        },
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        tables,
        sentinel,
        files: None,
    };
    let json = manifest.to_json();
    blocking(move || {
        partial.rename_to(&path)?;
        backups::write_atomically(&manifest::manifest_path(&path), &json)
    })
    .await
    .map_err(|e| format!("putting {file} in place: {e}"))?;
    Ok(manifest)
}

/// Readies `dir` for a new backup of what `selection` picks (of `what`): creates it, removes
/// what interrupted backups left there, and checks there is room for one as large as the
/// newest good one, whose size it returns.
pub(super) async fn prepare(
    dir: &Path,
    selection: Selection,
    what: &str,
    context: &JobContext<'_>,
) -> Result<Option<u64>, String> {
    let prepared_dir = dir.to_owned();
    let (removed, listing) = blocking(move || {
        backups::ensure_private_dir(&prepared_dir)?;
        let removed = backups::remove_abandoned_partials(&prepared_dir)?;
        let listing = backups::list_selected(&prepared_dir, &selection, Depth::Size)?;
        Ok((removed, listing))
    })
    .await
    .map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in removed {
        context
            .log(format!(
                "removed {file}, left by a backup that was interrupted"
            ))
            .await;
    }
    let last_size = listing
        .backups
        .iter()
        .find(|b| b.problem.is_none())
        .map(|b| b.manifest.size);
    if let Some(last_size) = last_size {
        let free_dir = dir.to_owned();
        let free = blocking(move || backups::free_bytes(&free_dir)).await?;
        if free < last_size {
            return Err(format!(
                "not enough free space in {}: {} free, and the last backup of {what} took {}",
                dir.display(),
                ByteSize(free),
                ByteSize(last_size)
            ));
        }
    }
    Ok(last_size)
}

/// Runs pg_dump into a temporary file beside `path`, hashing and counting the bytes as they
/// pass; returns the size, the sha256 and the fsynced temporary file.
async fn stream_dump(
    pg_dump: &str,
    database: &PgDatabase,
    snapshot: &str,
    path: &Path,
    expected_size: Option<u64>,
    context: &JobContext<'_>,
) -> Result<(u64, String, Partial), String> {
    let partial = Partial::beside(path);
    let temp: PathBuf = partial.path().to_owned();
    let file = blocking(move || backups::create_private(&temp))
        .await
        .map_err(|e| format!("creating {}: {e}", partial.path().display()))?;
    let mut file = tokio::fs::File::from_std(file);
    let argv = [
        pg_dump.to_owned(),
        "--format=custom".to_owned(),
        format!("--snapshot={snapshot}"),
        "--no-password".to_owned(),
    ];
    let env = database.tool_env()?;
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let mut running =
        crate::process::stream_bytes(crate::process::Command::new(&argv, &env), line_tx)
            .map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; CHUNK];
    let mut size = 0u64;
    let mut reported = Instant::now();
    let mut said = Vec::new();
    loop {
        let read = running
            .stdout
            .read(&mut buffer)
            .await
            .map_err(|e| format!("reading pg_dump's output: {e}"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        file.write_all(&buffer[..read])
            .await
            .map_err(|e| format!("writing {}: {e}", partial.path().display()))?;
        size += read as u64;
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            while let Ok(line) = lines.try_recv() {
                context.log(format!("pg_dump: {line}")).await;
                said.push(line);
            }
            context.log(format!("dumped {}", ByteSize(size))).await;
            if let Some(expected) = expected_size.filter(|e| *e > 0) {
                context
                    .progress((size as f64 / expected as f64).min(0.95))
                    .await;
            }
        }
    }
    let status = running.wait().await.map_err(|e| e.to_string())?;
    while let Ok(line) = lines.try_recv() {
        context.log(format!("pg_dump: {line}")).await;
        said.push(line);
    }
    if !status.success() {
        let mismatch = said.iter().any(|l| l.contains("server version mismatch"));
        let why = said
            .iter()
            .find(|l| l.contains("error"))
            .or(said.last())
            .cloned()
            .unwrap_or_else(|| "no reason given".to_owned());
        return Err(if mismatch {
            format!(
                "pg_dump is older than the server and refused to dump it ({why}); set `bin_dir` \
                 to the server's version of the client tools"
            )
        } else {
            format!("pg_dump failed ({status}): {why}")
        });
    }
    file.flush().await.map_err(|e| e.to_string())?;
    file.sync_all()
        .await
        .map_err(|e| format!("fsync of {}: {e}", partial.path().display()))?;
    Ok((size, hex::encode(hasher.finalize()), partial))
}

/// What retention did.
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub removed: Vec<String>,
    pub removed_remote: Vec<String>,
    pub reported: Vec<String>,
    pub error: Option<String>,
}

/// Removes what retention says of the backups `selection` picks in `dir`, each removal
/// audited as done `by` an action; reports the backups that do not verify.
pub(super) async fn apply_retention(
    dir: &Path,
    selection: Selection,
    retention: &Retention,
    by: &str,
    context: &JobContext<'_>,
) -> Applied {
    let mut applied = Applied::default();
    let retention_set = *retention != Retention::default();
    let listed_dir = dir.to_owned();
    let listing = match blocking(move || {
        backups::list_selected(&listed_dir, &selection, Depth::Size)
    })
    .await
    {
        Ok(listing) => listing,
        Err(error) => {
            applied.error = Some(error);
            return applied;
        }
    };
    for (path, problem) in &listing.strays {
        context
            .log(format!(
                "not a usable backup, left alone: {}: {problem}",
                path.display()
            ))
            .await;
    }
    let candidates: Vec<Candidate> = listing
        .backups
        .iter()
        .map(|b| Candidate {
            time: b.manifest.time,
            verifies: b.problem.is_none(),
        })
        .collect();
    let decision = retention::decide(&candidates, retention, Utc::now());
    for index in decision.reported {
        let backup = &listing.backups[index];
        let problem = backup.problem.clone().unwrap_or_default();
        context
            .log(format!(
                "retention: kept {}, which does not verify: {problem}",
                backup.manifest.file
            ))
            .await;
        applied.reported.push(backup.manifest.file.clone());
    }
    if !retention_set {
        return applied;
    }
    for index in decision.remove {
        let backup = listing.backups[index].clone();
        let manifest = &backup.manifest;
        // Recorded before the files go, like every action's intent: a removal the audit log
        // does not know of never happens.
        let detail = json!({
            "by": by,
            "file": manifest.file,
            "time": manifest.time,
            "size": manifest.size,
            "sha256": manifest.sha256,
        });
        if let Err(error) = context.audit(RETENTION_AUDIT_ACTION, detail).await {
            applied.error = Some(format!(
                "{} was not removed: its audit record failed: {error}",
                manifest.file
            ));
            return applied;
        }
        let (dump, manifest_path) = (backup.dump_path(), backup.manifest_path.clone());
        let removed = blocking(move || {
            // The dump first: a manifest left without its dump is reported, never restored.
            std::fs::remove_file(&dump)?;
            std::fs::remove_file(&manifest_path)?;
            backups::sync_dir(manifest_path.parent().unwrap_or(Path::new(".")))
        })
        .await;
        if let Err(error) = removed {
            applied.error = Some(format!("removing {}: {error}", manifest.file));
            return applied;
        }
        context
            .log(format!(
                "retention: removed {} of {}",
                manifest.file,
                manifest.time.format("%Y-%m-%d %H:%M:%SZ")
            ))
            .await;
        applied.removed.push(manifest.file.clone());
    }
    applied
}
