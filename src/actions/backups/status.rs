//! Each backup action as a row of the Hosts pane: the age of its newest good backup and of its
//! last drill that passed, each a warning when older than the action allows
//! (`max_backup_age`, `max_drill_age`).
//!
//! The backup's age comes from the manifests in the action's directory, not from the job
//! ledger: a backup that was removed or no longer has its manifest's size since its job
//! succeeded is not a good backup, and backups a cron job took with `ondeck run` count the same.
//! A drill leaves no file, so its age comes from the job ledger: the last SUCCEEDED job of a
//! drill action restoring this action's backups (same `dir`, same database). What cannot be
//! read is shown unknown, never up.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::postgres::PgDatabase;
use super::{Depth, list};
use crate::actions::pg_backup::KIND;
use crate::columns::format::age;
use crate::config::{ActionSpec, Config};
use crate::model::{AlertRow, HostRow, HostStatus, Severity, host_fields};
use crate::store::Store;

/// The `source` of the backup rows and their alerts.
pub const SOURCE: &str = "backups";
/// The alert of a backup action whose newest good backup is too old, or missing.
pub const BACKUP_ALERT: &str = "BackupTooOld";
/// The alert of a backup action whose last passed drill is too old, or missing.
pub const DRILL_ALERT: &str = "DrillTooOld";

/// A backup action whose row is shown, and where its state is read.
#[derive(Debug, Clone)]
pub struct Watched {
    action: String,
    /// The database backed up, or why its URL cannot be read.
    database: Result<String, String>,
    dir: PathBuf,
    /// The drill actions that restore its backups.
    drills: Vec<String>,
    max_backup_age: Option<Duration>,
    max_drill_age: Option<Duration>,
}

/// The backup actions of `config`, each with the drills of its backups.
pub fn watched(config: &Config) -> Vec<Watched> {
    let name_of = |secret| PgDatabase::resolve(secret).map(|database| database.name);
    config
        .actions
        .iter()
        .filter_map(|action| match &action.spec {
            ActionSpec::PgBackup(spec) => Some((action, spec)),
            _ => None,
        })
        .map(|(action, spec)| {
            let database = name_of(&spec.database);
            let drills = config
                .actions
                .iter()
                .filter(|drill| match &drill.spec {
                    ActionSpec::PgRestore(restore) if restore.drill && restore.dir == spec.dir => {
                        let restores = restore
                            .backup_of
                            .clone()
                            .map_or_else(|| name_of(&restore.database).ok(), Some);
                        restores.is_some() && restores.as_ref() == database.as_ref().ok()
                    }
                    _ => false,
                })
                .map(|drill| drill.name.clone())
                .collect();
            Watched {
                action: action.name.clone(),
                database,
                dir: spec.dir.clone(),
                drills,
                max_backup_age: spec.max_backup_age,
                max_drill_age: spec.max_drill_age,
            }
        })
        .collect()
}

/// What was read of one action: the time of its newest good backup and of its last passed
/// drill (`None`: there is none), or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub backup: Result<Option<DateTime<Utc>>, String>,
    pub drill: Result<Option<DateTime<Utc>>, String>,
}

/// Reads every watched action: the manifests off the async workers, the drills from `store`
/// (`None`: not open, so the drills are unknown).
pub async fn read(watched: &[Watched], store: Option<&Store>) -> Vec<Reading> {
    let mut readings = Vec::with_capacity(watched.len());
    for one in watched {
        let backup = match &one.database {
            Err(error) => Err(error.clone()),
            Ok(database) => {
                let (dir, database) = (one.dir.clone(), database.clone());
                match tokio::task::spawn_blocking(move || list(&dir, KIND, &database, Depth::Size))
                    .await
                {
                    Ok(Ok(listing)) => Ok(listing
                        .backups
                        .iter()
                        .find(|backup| backup.problem.is_none())
                        .map(|backup| backup.manifest.time)),
                    Ok(Err(error)) => Err(format!("{}: {error}", one.dir.display())),
                    Err(join) => Err(join.to_string()),
                }
            }
        };
        let drill = match store {
            None => Err("the store is not open".to_owned()),
            Some(store) => {
                let mut last = Ok(None);
                for drill in &one.drills {
                    match store.last_succeeded(drill).await {
                        Ok(time) => last = last.map(|newest: Option<_>| newest.max(time)),
                        Err(error) => {
                            last = Err(error.to_string());
                            break;
                        }
                    }
                }
                last
            }
        };
        readings.push(Reading { backup, drill });
    }
    readings
}

/// The rows and alerts of `readings` (in the order of `watched`) at `now`.
pub fn rows(
    watched: &[Watched],
    readings: &[Reading],
    now: DateTime<Utc>,
) -> (Vec<HostRow>, Vec<AlertRow>) {
    let mut hosts = Vec::with_capacity(watched.len());
    let mut alerts = Vec::new();
    for (one, reading) in watched.iter().zip(readings) {
        let target = one.database.clone().unwrap_or_else(|_| one.action.clone());
        let mut problems = Vec::new();
        let mut unknown = Vec::new();
        let backup_shown = match &reading.backup {
            Err(error) => {
                unknown.push(format!("backups unknown: {error}"));
                "unknown".to_owned()
            }
            Ok(None) => {
                problems.push((BACKUP_ALERT, "no backup that verifies".to_owned()));
                "none".to_owned()
            }
            Ok(Some(time)) => {
                if let Some(limit) = too_old(*time, one.max_backup_age, now) {
                    problems.push((
                        BACKUP_ALERT,
                        format!(
                            "the newest good backup is {} old, over {limit}",
                            age(now, *time)
                        ),
                    ));
                }
                age(now, *time)
            }
        };
        let drill_shown = match &reading.drill {
            _ if one.drills.is_empty() => {
                if one.max_drill_age.is_some() {
                    problems.push((
                        DRILL_ALERT,
                        "no drill action restores these backups".to_owned(),
                    ));
                }
                "none configured".to_owned()
            }
            Err(error) => {
                unknown.push(format!("drills unknown: {error}"));
                "unknown".to_owned()
            }
            Ok(None) => {
                if one.max_drill_age.is_some() {
                    problems.push((DRILL_ALERT, "no drill has passed".to_owned()));
                }
                "never".to_owned()
            }
            Ok(Some(time)) => {
                if let Some(limit) = too_old(*time, one.max_drill_age, now) {
                    problems.push((
                        DRILL_ALERT,
                        format!(
                            "the last passed drill is {} old, over {limit}",
                            age(now, *time)
                        ),
                    ));
                }
                age(now, *time)
            }
        };
        let status = if !unknown.is_empty() {
            HostStatus::Unknown
        } else if !problems.is_empty() {
            HostStatus::Degraded
        } else {
            HostStatus::Up
        };
        let reasons: Vec<&str> = unknown
            .iter()
            .map(String::as_str)
            .chain(problems.iter().map(|(_, why)| why.as_str()))
            .collect();
        let mut host = HostRow {
            source: SOURCE.to_owned(),
            name: one.action.clone(),
            kind: KIND.to_owned(),
            status,
            latency_ms: None,
            cpu_pct: None,
            mem_pct: None,
            disk_pct: None,
            load1: None,
            uptime_s: None,
            version: Some(format!("backup {backup_shown} · drill {drill_shown}")),
            observed_at: now,
            fields: Default::default(),
        };
        if !reasons.is_empty() {
            host.fields.insert(
                host_fields::REASON.to_owned(),
                serde_json::Value::from(reasons.join("; ")),
            );
        }
        hosts.push(host);
        for (name, why) in problems {
            alerts.push(AlertRow::raised(
                SOURCE,
                name,
                Severity::Warning,
                target.clone(),
                format!("{}: {why}", one.action),
                now,
            ));
        }
    }
    (hosts, alerts)
}

/// What the backup actions of `watched` say now, as a source's answer would: their rows and
/// alerts.
pub async fn observe(watched: &[Watched], store: Option<&Store>) -> crate::model::Observation {
    let readings = read(watched, store).await;
    let (hosts, alerts) = rows(watched, &readings, Utc::now());
    crate::model::Observation {
        hosts,
        alerts,
        ..Default::default()
    }
}

/// The limit `time` is past at `now`, shown, if any.
fn too_old(time: DateTime<Utc>, limit: Option<Duration>, now: DateTime<Utc>) -> Option<String> {
    let limit = limit?;
    let past = (now - time).to_std().is_ok_and(|age| age > limit);
    past.then(|| humantime::format_duration(limit).to_string())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn watched(
        drills: &[&str],
        max_backup_age: Option<Duration>,
        max_drill_age: Option<Duration>,
    ) -> Watched {
        Watched {
            action: "backup-app".to_owned(),
            database: Ok("app".to_owned()),
            dir: PathBuf::from("/var/backups/app"),
            drills: drills.iter().map(|d| (*d).to_owned()).collect(),
            max_backup_age,
            max_drill_age,
        }
    }

    fn ago(now: DateTime<Utc>, hours: i64) -> Result<Option<DateTime<Utc>>, String> {
        Ok(Some(now - TimeDelta::hours(hours)))
    }

    #[test]
    fn within_the_limits_is_up_with_both_ages() {
        let now = Utc::now();
        let one = watched(&["drill-app"], Some(26 * HOUR), Some(8 * 24 * HOUR));
        let reading = Reading {
            backup: ago(now, 3),
            drill: ago(now, 50),
        };
        let (hosts, alerts) = rows(&[one], &[reading], now);
        assert_eq!(hosts[0].status, HostStatus::Up);
        assert_eq!(hosts[0].version.as_deref(), Some("backup 3h · drill 2d"));
        assert!(alerts.is_empty());
    }

    #[test]
    fn too_old_or_missing_is_a_warning_each() {
        let now = Utc::now();
        let one = watched(&["drill-app"], Some(26 * HOUR), Some(24 * HOUR));
        let reading = Reading {
            backup: ago(now, 30),
            drill: Ok(None),
        };
        let (hosts, alerts) = rows(std::slice::from_ref(&one), &[reading], now);
        assert_eq!(hosts[0].status, HostStatus::Degraded);
        let names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, [BACKUP_ALERT, DRILL_ALERT]);
        assert!(
            alerts
                .iter()
                .all(|a| a.severity == Severity::Warning && a.target == "app")
        );
        assert!(
            alerts[0].summary.contains("over 1day 2h"),
            "{}",
            alerts[0].summary
        );

        // No good backup at all warns without any limit set.
        let unlimited = watched(&[], None, None);
        let reading = Reading {
            backup: Ok(None),
            drill: Ok(None),
        };
        let (hosts, alerts) = rows(&[unlimited], &[reading], now);
        assert_eq!(hosts[0].status, HostStatus::Degraded);
        assert_eq!(
            hosts[0].version.as_deref(),
            Some("backup none · drill none configured")
        );
        assert_eq!(alerts.len(), 1);
    }

    #[test]
    fn what_cannot_be_read_is_unknown_never_up() {
        let now = Utc::now();
        let one = watched(&["drill-app"], None, None);
        let reading = Reading {
            backup: ago(now, 1),
            drill: Err("the store is not open".to_owned()),
        };
        let (hosts, alerts) = rows(&[one], &[reading], now);
        assert_eq!(hosts[0].status, HostStatus::Unknown);
        assert_eq!(
            hosts[0].version.as_deref(),
            Some("backup 1h · drill unknown")
        );
        assert!(
            hosts[0].fields[host_fields::REASON]
                .as_str()
                .unwrap()
                .contains("store is not open")
        );
        assert!(alerts.is_empty());
    }
}
