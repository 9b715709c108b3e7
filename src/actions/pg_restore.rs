//! `pg_restore`: a dump that `pg_backup` wrote, checked before anything is touched, restored
//! into its database — or, with `drill = true`, into a scratch database that is checked against
//! the manifest and dropped.
//!
//! Before the target is touched: the dump's size and sha256 match its manifest, `pg_restore
//! --list` reads it, and it is a dump of the configured database. The restore runs in one
//! transaction that stops at the first error, so a failed or cancelled restore leaves the
//! database as it was.

use std::time::{Duration, Instant};

use bytesize::ByteSize;
use chrono::Utc;
use serde_json::json;

use super::backups::postgres::{self, PgDatabase};
use super::backups::remote::Remote;
use super::backups::{self, Depth, Listed, Manifest, Selection, manifest_path};
use super::engine::{JobContext, Outcome, Stopped};
use super::pg_backup::{KIND, blocking};
use super::{DEFAULT_TIMEOUT, Plan, Refusal, Subject, Work, database_target, health_step};
use crate::config::{ActionConfig, ActionSpec, PgRestoreAction};
use crate::process;
use crate::store::{SUMMARY_KEY, Store};

/// How often a scratch database's drop is tried before the drill reports it left behind.
const DROP_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRestoreWork {
    pub action: String,
    pub spec: PgRestoreAction,
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &PgRestoreAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let database = PgDatabase::resolve(&spec.database).map_err(Refusal)?;
    let target = database_target(action, &database, subject)?;
    let dir = spec.dir.display();
    let source = backup_of(spec, &database.name);
    let which = match &spec.backup {
        Some(file) => format!("{file} in {dir}"),
        None => format!("the newest backup of {source} in {dir} that verifies"),
    };
    let pg_restore = postgres::tool(spec.bin_dir.as_deref(), "pg_restore");
    let mut steps = vec![
        format!("take {which}: its size and sha256 must match its manifest"),
        format!("check that {pg_restore} --list reads it and that it is a dump of {source}"),
    ];
    if let Some(copy) = &spec.copy_to {
        steps.insert(
            0,
            format!(
                "when that backup is not in {dir}, pull it from {}, its size and sha256 checked \
                 against its manifest as it arrives",
                copy.url
            ),
        );
    }
    let (changes, cannot_undo) = if spec.drill {
        steps.extend([
            format!(
                "create a scratch database {}_drill_<time> on the same server",
                database.name
            ),
            format!("{pg_restore} --single-transaction --exit-on-error into it"),
            "compare its row counts and sentinel with the manifest; record the restore time"
                .to_owned(),
            "drop the scratch database, also when the drill fails or is cancelled".to_owned(),
        ]);
        (
            format!(
                "nothing in {}: a scratch copy is restored, checked and dropped",
                database.name
            ),
            None,
        )
    } else {
        steps.extend(
            spec.stop
                .iter()
                .map(|argv| format!("run {}", argv.join(" "))),
        );
        steps.push(format!(
            "{pg_restore} --clean --if-exists --single-transaction --exit-on-error into {} ({})",
            database.name, database.shown
        ));
        steps.extend(
            spec.start
                .iter()
                .map(|argv| format!("run {} (whatever the restore's outcome)", argv.join(" "))),
        );
        steps.extend(spec.health.as_ref().map(health_step));
        (
            format!(
                "{} is replaced by the contents of the backup",
                database.name
            ),
            Some(format!(
                "what {} holds now and the backup does not (rows written since it was taken)",
                database.name
            )),
        )
    };
    let work = Work::PgRestore(PgRestoreWork {
        action: action.name.clone(),
        spec: spec.clone(),
    });
    Ok(Plan {
        steps,
        changes,
        cannot_undo,
        detail: json!({
            "database": database.shown,
            "dir": spec.dir,
            "backup": spec.backup,
            "backup_of": source,
            "drill": spec.drill,
        }),
        ..Plan::new(action, target, work)
    })
}

/// The dumps a restore of `database` chooses from.
pub fn selection(spec: &PgRestoreAction, database: &str) -> Selection {
    Selection::of_database(KIND, backup_of(spec, database))
}

/// The database whose dumps are restored: `backup_of`, or the target itself.
fn backup_of<'a>(spec: &'a PgRestoreAction, database: &'a str) -> &'a str {
    spec.backup_of.as_deref().unwrap_or(database)
}

/// Runs the restore or the drill; see the module's documentation.
pub(super) async fn execute(work: &PgRestoreWork, context: &JobContext<'_>) -> Outcome {
    let spec = &work.spec;
    let database = match PgDatabase::resolve(&spec.database) {
        Ok(database) => database,
        Err(error) => return Outcome::failed(error),
    };
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let pg_restore = postgres::tool(spec.bin_dir.as_deref(), "pg_restore");
    let started = Instant::now();
    let chosen = match context
        .interruptible(timeout, choose(spec, &database, &pg_restore, context))
        .await
    {
        Ok(Ok(chosen)) => chosen,
        Ok(Err(error)) => {
            return Outcome::failed(format!(
                "refused before {} was touched: {error}",
                if spec.drill {
                    "anything"
                } else {
                    &database.name
                }
            ));
        }
        Err(stopped) => return stopped_outcome(stopped, timeout, "before anything was touched"),
    };
    let manifest = &chosen.manifest;
    context
        .log(format!(
            "chose {} ({}, sha256 {}, taken {}): size, sha256 and archive checked",
            manifest.file,
            ByteSize(manifest.size),
            manifest.sha256,
            manifest.time.format("%Y-%m-%d %H:%M:%SZ"),
        ))
        .await;
    let remaining = timeout.saturating_sub(started.elapsed());
    if spec.drill {
        drill(&chosen, &database, &pg_restore, remaining, started, context).await
    } else {
        restore(spec, &chosen, &database, &pg_restore, remaining, context).await
    }
}

fn stopped_outcome(stopped: Stopped, timeout: Duration, state_of_things: &str) -> Outcome {
    match stopped {
        Stopped::Cancelled => Outcome::cancelled(format!("cancelled {state_of_things}")),
        Stopped::TimedOut => Outcome::failed(format!(
            "timed out after {} {state_of_things}",
            humantime::format_duration(timeout)
        )),
    }
}

/// The backup to restore, verified: the one configured, or the newest that verifies.
async fn choose(
    spec: &PgRestoreAction,
    database: &PgDatabase,
    pg_restore: &str,
    context: &JobContext<'_>,
) -> Result<Listed, String> {
    let source = backup_of(spec, &database.name).to_owned();
    if let Some(copy) = &spec.copy_to {
        pull_if_gone(copy, spec, &source, context).await;
    }
    let dir = spec.dir.clone();
    let selection = selection(spec, &database.name);
    let configured = spec.backup.clone();
    let (chosen, skipped) = blocking(move || {
        Ok(match configured {
            Some(file) => (named_backup(&dir, &file, &selection), Vec::new()),
            None => newest_verified(&dir, &selection)?,
        })
    })
    .await?;
    for (file, problem) in skipped {
        context
            .log(format!("skipped {file}, which does not verify: {problem}"))
            .await;
    }
    let chosen = chosen?;
    postgres::check_archive(pg_restore, &chosen.dump_path(), &source)
        .await
        .map_err(|problem| format!("{}: {problem}", chosen.manifest.file))?;
    Ok(chosen)
}

/// Pulls from the off-site copy the backup this restore would take when it is there and not
/// here: the configured one when neither its dump nor its manifest is in `dir`, else the newest
/// remote one newer than every local backup that verifies by size. What it pulls is verified as
/// it arrives and then chosen like any local backup; what fails is logged, and the choice goes
/// on with what is here.
async fn pull_if_gone(
    copy: &crate::config::RemoteCopy,
    spec: &PgRestoreAction,
    database: &str,
    context: &JobContext<'_>,
) {
    let remote = match Remote::open(copy) {
        Ok(remote) => remote,
        Err(error) => {
            context
                .log(format!("the off-site copy is not used: {error}"))
                .await;
            return;
        }
    };
    let dir = spec.dir.clone();
    let name = database.to_owned();
    let local = match blocking(move || backups::list(&dir, KIND, &name, Depth::Size)).await {
        Ok(listing) => listing,
        Err(error) => {
            context
                .log(format!("{}: {error}", spec.dir.display()))
                .await;
            return;
        }
    };
    let here =
        |file: &str| spec.dir.join(file).exists() || manifest_path(&spec.dir.join(file)).exists();
    let newest_here = local
        .backups
        .iter()
        .find(|b| b.problem.is_none())
        .map(|b| b.manifest.time);
    let wanted = |manifest: &Manifest| match &spec.backup {
        Some(file) => manifest.file == *file,
        None => newest_here.is_none_or(|time| manifest.time > time),
    };
    if spec.backup.as_deref().is_some_and(here) {
        return;
    }
    let listing = match remote.list(KIND, database).await {
        Ok(listing) => listing,
        Err(error) => {
            context
                .log(format!("the off-site copy is not used: {error}"))
                .await;
            return;
        }
    };
    for backup in listing.backups {
        let manifest = &backup.manifest;
        if !wanted(manifest) || here(&manifest.file) {
            continue;
        }
        let shown = remote.shown(&manifest.file);
        if let Some(problem) = &backup.problem {
            context
                .log(format!("skipped {shown}, which does not verify: {problem}"))
                .await;
            continue;
        }
        context
            .log(format!(
                "{} is not in {}: pulling it from {shown}",
                manifest.file,
                spec.dir.display()
            ))
            .await;
        match remote.pull(manifest, &spec.dir).await {
            Ok(_) => {
                context
                    .log(format!(
                        "pulled {} ({}), size and sha256 match its manifest",
                        manifest.file,
                        ByteSize(manifest.size)
                    ))
                    .await;
                return;
            }
            Err(error) => context.log(format!("not pulled: {error}")).await,
        }
    }
}

/// The backup `file` in `dir`, if its manifest is there, names it, is one `selection` picks
/// and verifies.
pub(super) fn named_backup(
    dir: &std::path::Path,
    file: &str,
    selection: &Selection,
) -> Result<Listed, String> {
    let dump = dir.join(file);
    let manifest_path = manifest_path(&dump);
    if !manifest_path.exists() {
        return Err(format!(
            "{file} has no manifest ({} is missing), so nothing vouches for it",
            manifest_path.display()
        ));
    }
    let manifest = Manifest::read(&manifest_path).map_err(|e| format!("{file}: {e}"))?;
    if manifest.file != file {
        return Err(format!(
            "the manifest of {file} describes {} instead",
            manifest.file
        ));
    }
    if !selection.selects(&manifest) {
        return Err(format!(
            "{file} is a {} backup of {}, not {selection}",
            manifest.kind, manifest.source.database
        ));
    }
    if let Some(problem) = backups::check(&dump, &manifest, Depth::Hash) {
        return Err(problem);
    }
    Ok(Listed {
        manifest_path,
        manifest,
        problem: None,
    })
}

/// The newest backup `selection` picks whose file matches its manifest, re-hashed; and the
/// newer ones that did not, with why.
#[allow(clippy::type_complexity)]
pub(super) fn newest_verified(
    dir: &std::path::Path,
    selection: &Selection,
) -> std::io::Result<(Result<Listed, String>, Vec<(String, String)>)> {
    let listing = backups::list_selected(dir, selection, Depth::Size)?;
    let mut skipped = Vec::new();
    for mut backup in listing.backups {
        if backup.problem.is_none() {
            backup.problem = backups::check(&backup.dump_path(), &backup.manifest, Depth::Hash);
        }
        match backup.problem.take() {
            None => return Ok((Ok(backup), skipped)),
            Some(problem) => skipped.push((backup.manifest.file, problem)),
        }
    }
    Ok((
        Err(format!(
            "no backup in {} verifies ({selection}){}",
            dir.display(),
            match skipped.first() {
                None => " (there are none)".to_owned(),
                Some((file, problem)) => format!("; the newest, {file}: {problem}"),
            }
        )),
        skipped,
    ))
}

/// `pg_restore` of `dump` into `database`, in one transaction that stops at the first error.
async fn run_pg_restore(
    pg_restore: &str,
    database: &PgDatabase,
    dump: &std::path::Path,
    clean: bool,
    context: &JobContext<'_>,
) -> Result<(), String> {
    let mut argv = vec![
        pg_restore.to_owned(),
        "--single-transaction".to_owned(),
        "--exit-on-error".to_owned(),
        "--no-password".to_owned(),
    ];
    if clean {
        argv.extend(["--clean".to_owned(), "--if-exists".to_owned()]);
    }
    // A conninfo rather than a bare name, so that no database name is read as one.
    argv.push(format!(
        "--dbname=dbname='{}'",
        conninfo_quoted(&database.name)
    ));
    argv.push(dump.display().to_string());
    let env = database.tool_env()?;
    run_logged(&argv, &env, "pg_restore", context).await
}

/// `'` and `\` escaped for a conninfo value in single quotes.
fn conninfo_quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Runs `argv` (never through a shell), its lines in the job's log.
async fn run_logged(
    argv: &[String],
    env: &[(String, String)],
    label: &str,
    context: &JobContext<'_>,
) -> Result<(), String> {
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let command = process::Command::new(argv, env);
    let running = process::stream(command, line_tx);
    tokio::pin!(running);
    let mut last = None;
    let status = loop {
        tokio::select! {
            status = &mut running => break status,
            Some(line) = lines.recv() => {
                context.log(format!("{label}: {line}")).await;
                last = Some(line);
            }
        }
    };
    while let Ok(line) = lines.try_recv() {
        context.log(format!("{label}: {line}")).await;
        last = Some(line);
    }
    let status = status.map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{label} failed ({status}){}",
            last.map(|l| format!(": {l}")).unwrap_or_default()
        ))
    }
}

/// A hook (`stop`, `start`) with the action's variables.
async fn run_hook(
    argv: &[String],
    which: &str,
    database: &PgDatabase,
    context: &JobContext<'_>,
) -> Result<(), String> {
    let env = [
        ("ONDECK_JOB_ID".to_owned(), context.job_id().to_owned()),
        ("ONDECK_TARGET".to_owned(), database.name.clone()),
    ];
    context
        .log(format!("{which} hook: {}", argv.join(" ")))
        .await;
    run_logged(argv, &env, which, context).await
}

/// The real restore: stop hook, pg_restore, start hook whatever happened, health check.
async fn restore(
    spec: &PgRestoreAction,
    chosen: &Listed,
    database: &PgDatabase,
    pg_restore: &str,
    timeout: Duration,
    context: &JobContext<'_>,
) -> Outcome {
    let detail = json!({
        "backup": chosen.manifest.file,
        "sha256": chosen.manifest.sha256,
        "taken": chosen.manifest.time,
    });
    let restored = context
        .interruptible(timeout, async {
            if let Some(stop) = &spec.stop {
                run_hook(stop, "stop", database, context).await?;
            }
            context.progress(0.2).await;
            let started = Instant::now();
            run_pg_restore(pg_restore, database, &chosen.dump_path(), true, context).await?;
            Ok::<_, String>(started.elapsed())
        })
        .await;
    let start = match &spec.start {
        // The old data is still in place when the restore failed: what was stopped must run
        // again either way.
        Some(start) => run_hook(start, "start", database, context).await.err(),
        None => None,
    };
    let outcome = match restored {
        Err(stopped) => stopped_outcome(
            stopped,
            timeout,
            &format!(
                "({} is as it was: the restore is one transaction)",
                database.name
            ),
        ),
        Ok(Err(error)) => Outcome::failed(format!(
            "{error} ({} is as it was: the restore is one transaction)",
            database.name
        )),
        Ok(Ok(took)) => {
            context
                .log(format!(
                    "restored {} into {} in {:.1}s",
                    chosen.manifest.file,
                    database.name,
                    took.as_secs_f64()
                ))
                .await;
            match start {
                Some(error) => {
                    Outcome::failed(format!("restored, but the start hook failed: {error}"))
                }
                None => match &spec.health {
                    Some(check) => {
                        context.progress(0.9).await;
                        match context.health(check).await {
                            Ok(()) => Outcome::succeeded(serde_json::Value::Null),
                            Err(error) => Outcome::failed(error.to_string()),
                        }
                    }
                    None => Outcome::succeeded(serde_json::Value::Null),
                },
            }
        }
    };
    outcome.with_detail(detail)
}

/// The drill: restore into a scratch database, compare it with the manifest, drop it.
async fn drill(
    chosen: &Listed,
    database: &PgDatabase,
    pg_restore: &str,
    timeout: Duration,
    started: Instant,
    context: &JobContext<'_>,
) -> Outcome {
    let manifest = &chosen.manifest;
    let scratch = postgres::drill_database(&database.name, Utc::now());
    let mut admin = match database.connect().await {
        Ok(connection) => connection,
        Err(error) => return Outcome::failed(error),
    };
    // This job holds the target, so no other drill of this database runs: any scratch
    // database of one is left over from a drill that was interrupted.
    if let Ok(leftovers) = postgres::drill_databases(&mut admin, &database.name).await {
        for (name, _) in leftovers {
            if postgres::drop_database(&mut admin, &name).await.is_ok() {
                context
                    .log(format!(
                        "dropped {name}, left by a drill that was interrupted"
                    ))
                    .await;
            }
        }
    }
    if let Err(error) =
        postgres::create_drill_database(&mut admin, &scratch, context.job_id()).await
    {
        // CREATE and COMMENT are two statements: a half-made scratch database goes too.
        let _ = postgres::drop_database(&mut admin, &scratch).await;
        return Outcome::failed(format!("creating the scratch database {scratch}: {error}"));
    }
    context
        .log(format!("created the scratch database {scratch}"))
        .await;
    context.progress(0.2).await;
    let target = database.with_name(&scratch);
    let checked = context
        .interruptible(timeout, async {
            let restore_started = Instant::now();
            run_pg_restore(pg_restore, &target, &chosen.dump_path(), false, context).await?;
            let restore_ms = restore_started.elapsed().as_millis();
            context.progress(0.8).await;
            let mut connection = target.connect().await?;
            let counts = postgres::table_counts(&mut connection).await?;
            let sentinel = match &manifest.sentinel {
                Some(sentinel) => {
                    Some(postgres::has_sentinel(&mut connection, &sentinel.id).await?)
                }
                None => None,
            };
            let _ = sqlx::Connection::close(connection).await;
            Ok::<_, String>((restore_ms, counts, sentinel))
        })
        .await;
    let rto = started.elapsed();
    let dropped = drop_with_retries(&mut admin, &scratch).await;
    let _ = sqlx::Connection::close(admin).await;
    let mut outcome = match checked {
        Err(stopped) => stopped_outcome(
            stopped,
            timeout,
            &format!("during the drill ({} was not touched)", database.name),
        ),
        Ok(Err(error)) => Outcome::failed(format!("drill failed: {error}")),
        Ok(Ok((restore_ms, counts, sentinel))) => {
            let mismatches = compare_counts(&manifest.tables, &counts);
            let rows: i64 = counts.values().sum();
            let sentinel_state = match sentinel {
                Some(true) => "found",
                Some(false) => "missing",
                None => "not recorded",
            };
            let passed = mismatches.is_empty() && sentinel != Some(false);
            let summary = format!(
                "drill {}: {} tables, {rows} rows{}; sentinel {sentinel_state}; restored in \
                 {:.1}s, RTO {:.1}s (verify, restore and check)",
                if passed { "passed" } else { "FAILED" },
                counts.len(),
                if mismatches.is_empty() {
                    " match the manifest".to_owned()
                } else {
                    format!(", differing: {}", mismatches.join("; "))
                },
                restore_ms as f64 / 1000.0,
                rto.as_secs_f64()
            );
            context.log(summary.clone()).await;
            let detail = json!({
                "backup": manifest.file,
                "sha256": manifest.sha256,
                "taken": manifest.time,
                "scratch": scratch,
                "result": if passed { "passed" } else { "failed" },
                "tables": counts.len(),
                "rows": rows,
                "mismatches": mismatches,
                "sentinel": sentinel_state,
                "restore_ms": restore_ms,
                "rto_ms": rto.as_millis(),
                SUMMARY_KEY: format!(
                    "drill {} · RTO {:.1}s · {} tables, {rows} rows, sentinel {sentinel_state}",
                    if passed { "passed" } else { "FAILED" },
                    rto.as_secs_f64(),
                    counts.len(),
                ),
            });
            if passed {
                Outcome::succeeded(detail)
            } else {
                Outcome::failed(summary).with_detail(detail)
            }
        }
    };
    match dropped {
        Ok(()) => {
            context
                .log(format!("dropped the scratch database {scratch}"))
                .await
        }
        Err(error) => {
            let note = format!(
                "the scratch database {scratch} could not be dropped ({error}); the next start \
                 of ondeck drops it"
            );
            context.log(note.clone()).await;
            outcome = Outcome {
                state: crate::store::ActionState::Failed,
                error: Some(match outcome.error {
                    Some(error) => format!("{error}; {note}"),
                    None => note,
                }),
                detail: outcome.detail,
            };
        }
    }
    if outcome.detail.is_null() {
        outcome.detail = json!({ "backup": manifest.file, "scratch": scratch, "result": "failed" });
    }
    outcome
}

async fn drop_with_retries(admin: &mut sqlx::PgConnection, scratch: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..DROP_ATTEMPTS {
        match postgres::drop_database(admin, scratch).await {
            Ok(()) => return Ok(()),
            Err(error) => last = error,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last)
}

/// The tables whose counts differ between the manifest and the restored copy.
pub fn compare_counts(
    expected: &std::collections::BTreeMap<String, i64>,
    restored: &std::collections::BTreeMap<String, i64>,
) -> Vec<String> {
    let mut differing = Vec::new();
    for (table, rows) in expected {
        match restored.get(table) {
            Some(found) if found == rows => {}
            Some(found) => {
                differing.push(format!("{table}: {rows} in the manifest, {found} restored"))
            }
            None => differing.push(format!("{table}: {rows} in the manifest, missing")),
        }
    }
    for (table, found) in restored {
        if !expected.contains_key(table) {
            differing.push(format!("{table}: not in the manifest, {found} restored"));
        }
    }
    differing
}

/// What ondeck removes at start-up of what interrupted backups and drills left behind:
/// temporary dump files of processes that are gone, and drill databases whose job has ended
/// (or that name none the store knows). Returns a line for each thing removed.
pub async fn remove_leftovers(actions: &[ActionConfig], store: &Store) -> Vec<String> {
    let mut removed = Vec::new();
    for action in actions {
        match &action.spec {
            ActionSpec::PgBackup(_) | ActionSpec::FileBackup(_) => {
                let Some(dir) = backup_dir(&action.spec) else {
                    continue;
                };
                let shown = dir.display().to_string();
                match blocking(move || backups::remove_abandoned_partials(&dir)).await {
                    Ok(files) => removed.extend(files.into_iter().map(|file| {
                        format!("removed {file} in {shown}, of a backup that was interrupted")
                    })),
                    Err(error) => {
                        tracing::warn!(%error, action = action.name, "looking for unfinished dumps")
                    }
                }
            }
            ActionSpec::PgRestore(spec) if spec.drill => {
                match remove_leftover_drills(spec, store).await {
                    Ok(dropped) => removed.extend(dropped),
                    Err(error) => {
                        tracing::warn!(%error, action = action.name, "looking for leftover drill databases")
                    }
                }
            }
            _ => {}
        }
    }
    removed
}

fn backup_dir(spec: &ActionSpec) -> Option<std::path::PathBuf> {
    match spec {
        ActionSpec::PgBackup(spec) => Some(spec.dir.clone()),
        ActionSpec::FileBackup(spec) => Some(spec.dir.clone()),
        _ => None,
    }
}

async fn remove_leftover_drills(
    spec: &PgRestoreAction,
    store: &Store,
) -> Result<Vec<String>, String> {
    let database = PgDatabase::resolve(&spec.database)?;
    let mut admin = database.connect().await?;
    let mut dropped = Vec::new();
    for (name, job) in postgres::drill_databases(&mut admin, &database.name).await? {
        let running = match &job {
            Some(job) => store
                .job_is_unfinished(job)
                .await
                .map_err(|e| e.to_string())?,
            None => false,
        };
        if !running {
            postgres::drop_database(&mut admin, &name).await?;
            dropped.push(format!(
                "dropped {name}, left by a drill that was interrupted"
            ));
        }
    }
    let _ = sqlx::Connection::close(admin).await;
    Ok(dropped)
}
