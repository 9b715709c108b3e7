//! `ondeck backups ACTION [--verify]`: the backups of a backup or restore action (`pg_backup`,
//! `pg_restore`, `file_backup`, `file_restore`), from their manifests, with whether each verifies, for a person or a cron job. `--verify`
//! re-hashes every dump or archive; without it the size is checked. Exit 1 when any is bad, or there is
//! none: no backup is not a good state to report as one. An action with `copy_to` lists the
//! off-site copies too, checked the same way (`--verify` downloads each to re-hash it, writing
//! nothing); an off-site copy that cannot be listed is bad.

use std::io::Write;

use bytesize::ByteSize;

use crate::actions::backups::postgres::PgDatabase;
use crate::actions::backups::remote::Remote;
use crate::actions::backups::{self, Depth, Selection};
use crate::actions::pg_backup::KIND;
use crate::actions::{file_backup, file_restore};
use crate::config::{ActionSpec, Config, RemoteCopy};
use crate::printable::printable;

/// Prints the listing; `Ok(true)` when every backup is good and there is at least one.
pub async fn backups(config: &Config, action: &str, verify: bool) -> Result<bool, String> {
    let configured = config
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| format!("no action named `{action}` is configured"))?;
    let (dir, selection, off_site) = match &configured.spec {
        ActionSpec::PgBackup(spec) => {
            let database = PgDatabase::resolve(&spec.database)?.name;
            (
                spec.dir.clone(),
                Selection::of_database(KIND, &database),
                spec.copy_to.as_ref().map(|copy| (copy, database)),
            )
        }
        ActionSpec::PgRestore(spec) => {
            let database = PgDatabase::resolve(&spec.database)?.name;
            (
                spec.dir.clone(),
                Selection::of_database(KIND, &database),
                spec.copy_to.as_ref().map(|copy| (copy, database)),
            )
        }
        ActionSpec::FileBackup(spec) => {
            (spec.dir.clone(), file_backup::selection(action, None), None)
        }
        ActionSpec::FileRestore(spec) => (spec.dir.clone(), file_restore::selection(spec), None),
        _ => {
            return Err(format!(
                "`{action}` is a `{}` action; backups are listed for backup and restore actions",
                configured.kind
            ));
        }
    };
    let depth = if verify { Depth::Hash } else { Depth::Size };
    let listed_dir = dir.clone();
    let listed = selection.clone();
    let listing =
        tokio::task::spawn_blocking(move || backups::list_selected(&listed_dir, &listed, depth))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{}: {e}", dir.display()))?;

    let checked = if verify { "sha256 ok" } else { "size ok" };
    let mut lines = vec![format!(
        "backups ({selection}) in {} ({} checked)",
        dir.display(),
        if verify {
            "size and sha256"
        } else {
            "size only; --verify re-hashes"
        }
    )];
    for backup in &listing.backups {
        let manifest = &backup.manifest;
        lines.push(format!(
            "{}  {}  {:>10}  {}  {}",
            manifest.time.format("%Y-%m-%dT%H:%M:%SZ"),
            manifest.file,
            ByteSize(manifest.size).to_string(),
            manifest.sha256.get(..12).unwrap_or(&manifest.sha256),
            match &backup.problem {
                None => checked.to_owned(),
                Some(problem) => format!("BAD: {problem}"),
            }
        ));
    }
    for (path, problem) in &listing.strays {
        lines.push(format!("{}  BAD: {problem}", path.display()));
    }
    let mut total = listing.backups.len();
    let mut bad = listing.bad();
    if let Some((copy, database)) = off_site {
        let (remote_total, remote_bad) =
            list_remote(copy, &database, verify, checked, &mut lines).await;
        total += remote_total;
        bad += remote_bad;
    }
    lines.push(match (total, bad) {
        (0, _) => "no backups".to_owned(),
        (total, 0) => format!("{total} backups, all good"),
        (total, bad) => format!("{total} backups, {bad} bad"),
    });
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{}", printable(&line));
    }
    Ok(bad == 0 && total > 0)
}

/// The off-site backups' lines; returns how many there are and how many are bad (a remote
/// that cannot be listed is one bad entry).
async fn list_remote(
    copy: &RemoteCopy,
    database: &str,
    verify: bool,
    checked: &str,
    lines: &mut Vec<String>,
) -> (usize, usize) {
    let listed = match Remote::open(copy) {
        Ok(remote) => remote.list(KIND, database).await.map(|l| (remote, l)),
        Err(error) => Err(error),
    };
    let (remote, listing) = match listed {
        Ok(listed) => listed,
        Err(error) => {
            lines.push(format!("{}  BAD: {error}", copy.url));
            return (0, 1);
        }
    };
    lines.push(format!("off-site copies in {}", copy.url));
    let mut bad = listing.strays.len();
    for backup in &listing.backups {
        let manifest = &backup.manifest;
        let problem = match &backup.problem {
            None if verify => remote.verify(manifest).await,
            problem => problem.clone(),
        };
        bad += usize::from(problem.is_some());
        lines.push(format!(
            "{}  {}  {:>10}  {}  {}",
            manifest.time.format("%Y-%m-%dT%H:%M:%SZ"),
            remote.shown(&manifest.file),
            ByteSize(manifest.size).to_string(),
            manifest.sha256.get(..12).unwrap_or(&manifest.sha256),
            match problem {
                None => checked.to_owned(),
                Some(problem) => format!("BAD: {problem}"),
            }
        ));
    }
    for (object, problem) in &listing.strays {
        lines.push(format!("{object}  BAD: {problem}"));
    }
    (listing.backups.len(), bad)
}
