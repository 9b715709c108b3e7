//! `ondeck backups ACTION [--verify]`: the backups of a backup or restore action (`pg_backup`,
//! `pg_restore`, `file_backup`, `file_restore`), from their manifests, with whether each verifies, for a person or a cron job. `--verify`
//! re-hashes every dump or archive; without it the size is checked. Exit 1 when any is bad, or there is
//! none: no backup is not a good state to report as one.

use std::io::Write;

use bytesize::ByteSize;

use crate::actions::backups::postgres::PgDatabase;
use crate::actions::backups::{self, Depth, Selection};
use crate::actions::pg_backup::KIND;
use crate::actions::{file_backup, file_restore};
use crate::config::{ActionSpec, Config};
use crate::printable::printable;

/// Prints the listing; `Ok(true)` when every backup is good and there is at least one.
pub async fn backups(config: &Config, action: &str, verify: bool) -> Result<bool, String> {
    let configured = config
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| format!("no action named `{action}` is configured"))?;
    let (dir, selection) = match &configured.spec {
        ActionSpec::PgBackup(spec) => (
            spec.dir.clone(),
            Selection::of_database(KIND, &PgDatabase::resolve(&spec.database)?.name),
        ),
        ActionSpec::PgRestore(spec) => (
            spec.dir.clone(),
            Selection::of_database(KIND, &PgDatabase::resolve(&spec.database)?.name),
        ),
        ActionSpec::FileBackup(spec) => (spec.dir.clone(), file_backup::selection(action, None)),
        ActionSpec::FileRestore(spec) => (spec.dir.clone(), file_restore::selection(spec)),
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
    let bad = listing.bad();
    lines.push(match (listing.backups.len(), bad) {
        (0, _) => "no backups".to_owned(),
        (total, 0) => format!("{total} backups, all good"),
        (total, bad) => format!("{total} backups, {bad} bad"),
    });
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{}", printable(&line));
    }
    Ok(bad == 0 && !listing.backups.is_empty())
}
