//! `ondeck backups ACTION [--verify]`: the backups of a `pg_backup` or `pg_restore` action,
//! from their manifests, with whether each verifies, for a person or a cron job. `--verify`
//! re-hashes every dump; without it the size is checked. Exit 1 when any is bad, or there is
//! none: no backup is not a good state to report as one.

use std::io::Write;

use bytesize::ByteSize;

use crate::actions::backups::postgres::PgDatabase;
use crate::actions::backups::{self, Depth};
use crate::actions::pg_backup::KIND;
use crate::config::{ActionSpec, Config};
use crate::printable::printable;

/// Prints the listing; `Ok(true)` when every backup is good and there is at least one.
pub async fn backups(config: &Config, action: &str, verify: bool) -> Result<bool, String> {
    let configured = config
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| format!("no action named `{action}` is configured"))?;
    let (secret, dir) = match &configured.spec {
        ActionSpec::PgBackup(spec) => (&spec.database, spec.dir.clone()),
        ActionSpec::PgRestore(spec) => (&spec.database, spec.dir.clone()),
        _ => {
            return Err(format!(
                "`{action}` is a `{}` action; backups are listed for pg_backup and pg_restore actions",
                configured.kind
            ));
        }
    };
    let database = PgDatabase::resolve(secret)?.name;
    let depth = if verify { Depth::Hash } else { Depth::Size };
    let listed_dir = dir.clone();
    let listed_database = database.clone();
    let listing = tokio::task::spawn_blocking(move || {
        backups::list(&listed_dir, KIND, &listed_database, depth)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("{}: {e}", dir.display()))?;

    let checked = if verify { "sha256 ok" } else { "size ok" };
    let mut lines = vec![format!(
        "backups of {database} in {} ({} checked)",
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
