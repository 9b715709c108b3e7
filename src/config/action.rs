//! `[[action]]`: every action kind's spec and the reader that builds it, and the check that
//! the source an action names exists and is of the right kind.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use super::diagnostics::{self, DurationLimits, Problems, Table, backticked, suggestion};
use super::secret::{Secret, SecretKind};
use super::transport::is_plain_http_to_remote;
use super::values::{
    DAY, HOUR, LONGER_THAN_ZERO, MINUTE, database_url, http_status, http_url, limits, read_kind,
    read_name, secret,
};
use super::{OpenBaoNode, SourceSpec};
use super::{SourceConfig, expand_tilde, user_data_dir};

/// Every action kind; the configuration names them in snake_case. A new kind is a variant
/// here, its spec below and its module in `crate::actions`; every match on it is exhaustive, so
/// none can be forgotten or read as another.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum ActionKind {
    PgBackup,
    PgRestore,
    FileBackup,
    FileRestore,
    Unseal,
    Rollback,
    Command,
    Silence,
    TerminateSession,
    Approve,
    Deny,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

const DEFAULT_SILENCE: Duration = Duration::from_secs(2 * 3600);

const COMMAND_TIMEOUT: DurationLimits = limits(Duration::from_secs(1), DAY, LONGER_THAN_ZERO);
const SILENCE: DurationLimits = limits(
    MINUTE,
    DAY.saturating_mul(365),
    "Alertmanager silences are set to the minute",
);
const RETENTION_MAX_AGE: DurationLimits = limits(
    HOUR,
    DAY.saturating_mul(3650),
    "backups are kept for an hour at least",
);
const BACKUP_AGE: DurationLimits = limits(
    HOUR,
    DAY.saturating_mul(3650),
    "backups are checked to the hour",
);
/// How long a two-person request waits for its approval, unless `approval_expires` says.
pub const DEFAULT_APPROVAL_EXPIRES: Duration = Duration::from_secs(15 * 60);
const APPROVAL_EXPIRES: DurationLimits = limits(
    Duration::from_secs(30),
    DAY,
    "the second operator needs time to read the plan and answer",
);
const HEALTH_WITHIN: DurationLimits = limits(Duration::from_secs(1), HOUR, LONGER_THAN_ZERO);

/// A source named by an action, checked once every source is known.
pub(super) struct SourceReference {
    key: String,
    name: String,
    span: Range<usize>,
    kinds: &'static [&'static str],
    action_kind: ActionKind,
}

/// How an operator confirms an action; the configuration names them in kebab-case
/// (`type-target`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "kebab-case")]
pub enum ConfirmPolicy {
    Enter,
    TypeTarget,
    Totp,
    TwoPerson,
}

impl ConfirmPolicy {
    pub const ALL: &'static [ConfirmPolicy] = <ConfirmPolicy as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<ConfirmPolicy> {
        name.parse().ok()
    }
}

#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub name: String,
    pub kind: ActionKind,
    /// Shown in the command palette and the confirmation dialog.
    pub description: Option<String>,
    /// Default `enter`, except `type-target` for a real (non-drill) restore and for rollback:
    /// those overwrite live data, so the operator types the target's name.
    pub confirm: ConfirmPolicy,
    /// How long a `two-person` request waits for another operator's approval before it
    /// expires; `approval_expires`, default 15 minutes.
    pub approval_expires: Duration,
    pub spec: ActionSpec,
}

impl ActionConfig {
    /// The source the action works on, for the kinds that name one.
    pub fn source(&self) -> Option<&str> {
        match &self.spec {
            ActionSpec::Unseal(a) => Some(&a.source),
            ActionSpec::Rollback(a) => Some(&a.source),
            ActionSpec::Silence(a) => Some(&a.source),
            ActionSpec::TerminateSession(a) => Some(&a.source),
            ActionSpec::Approve(a) | ActionSpec::Deny(a) => Some(&a.source),
            ActionSpec::PgBackup(_)
            | ActionSpec::PgRestore(_)
            | ActionSpec::FileBackup(_)
            | ActionSpec::FileRestore(_)
            | ActionSpec::Command(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpec {
    PgBackup(PgBackupAction),
    PgRestore(PgRestoreAction),
    FileBackup(FileBackupAction),
    FileRestore(FileRestoreAction),
    Unseal(UnsealAction),
    Rollback(RollbackAction),
    Command(CommandAction),
    Silence(SilenceAction),
    TerminateSession(TerminateSessionAction),
    Approve(JobDecisionAction),
    Deny(JobDecisionAction),
}

/// How many backups to keep; both limits apply when both are set, none means keep all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    pub keep: Option<u32>,
    pub max_age: Option<Duration>,
}

/// `copy_to = "s3://bucket/prefix"` with its `s3 = { … }` table: where a backup action sends
/// its dumps and manifests off-site, and where a restore pulls them from when the local copy
/// is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCopy {
    /// As written: `s3://bucket/prefix`.
    pub url: String,
    pub bucket: String,
    /// Without a leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// An S3-compatible server (`https://s3.example.com`); default AWS's for the region.
    pub endpoint: Option<String>,
    /// Default `us-east-1`.
    pub region: String,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

/// The region of a `copy_to` without one: AWS's default, and what most S3-compatible servers
/// accept.
const DEFAULT_S3_REGION: &str = "us-east-1";

/// After a rollback or restore: `url` must answer `expect_status` within `within`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub url: String,
    pub within: Duration,
    /// Default 200.
    pub expect_status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBackupAction {
    pub database: Secret,
    pub dir: PathBuf,
    pub retention: Retention,
    /// Write a row into a table of ondeck's own in the database just before the dump, for a
    /// drill to find in the restored copy.
    pub sentinel: bool,
    /// Where `pg_dump` is, when the one in `PATH` is older than the server
    /// (`/usr/lib/postgresql/16/bin`).
    pub bin_dir: Option<PathBuf>,
    /// How long the dump may take; default 30 minutes.
    pub timeout: Option<Duration>,
    /// Where each backup is copied off-site, with retention applied there too.
    pub copy_to: Option<RemoteCopy>,
    /// The action's Hosts row warns when its newest good backup is older than this; no limit
    /// when unset (a row without any good backup warns all the same).
    pub max_backup_age: Option<Duration>,
    /// The same for the last drill that passed of this action's backups; no limit when unset.
    pub max_drill_age: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRestoreAction {
    pub database: Secret,
    /// Where `pg_backup` wrote dumps and manifests.
    pub dir: PathBuf,
    /// Restore into a scratch database, check it, drop it; the target is untouched.
    pub drill: bool,
    /// The dump to restore, a file name in `dir`; default the newest one that verifies.
    pub backup: Option<String>,
    /// Whose backups to restore, when not the target's own (staging restored from
    /// production's): the archive must be a dump of this database.
    pub backup_of: Option<String>,
    /// Run before the restore (stop what writes to the database) and after it, whatever its
    /// outcome (start it again); argv lists, never through a shell.
    pub stop: Option<Vec<String>>,
    pub start: Option<Vec<String>>,
    /// Where `pg_restore` is, as for `pg_backup`.
    pub bin_dir: Option<PathBuf>,
    /// How long the restore may take; default 30 minutes.
    pub timeout: Option<Duration>,
    pub health: Option<HealthCheck>,
    /// The backup action's off-site copy: a backup missing here is pulled from it.
    pub copy_to: Option<RemoteCopy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBackupAction {
    /// Fixed paths to back up; empty means the target is given when run (`--target`).
    pub paths: Vec<PathBuf>,
    /// Default `<user data dir>/backups`.
    pub dir: PathBuf,
    pub retention: Retention,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRestoreAction {
    /// Where `file_backup` wrote archives and manifests. Default `<user data dir>/backups`.
    pub dir: PathBuf,
    /// Restore into this directory; `None` restores to the path recorded in the manifest.
    pub target: Option<PathBuf>,
    /// The archive to restore, a file name in `dir`; default the newest one that verifies.
    pub backup: Option<String>,
    /// The `file_backup` action whose archives are restored; default any in `dir`.
    pub backup_of: Option<String>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnsealAction {
    /// An `openbao` source; `--target` picks one of its nodes.
    pub source: String,
    /// The source's nodes, filled in once every source is read ([`resolve_unseal_nodes`]).
    pub nodes: Vec<OpenBaoNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackAction {
    /// A `release` source: the current and previous release.
    pub source: String,
    pub argv: Vec<String>,
    /// How long the rollback program may run; default 30 minutes.
    pub timeout: Option<Duration>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandAction {
    /// Run directly, never through a shell.
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SilenceAction {
    /// An `alertmanager` source.
    pub source: String,
    /// Default 2h.
    pub duration: Duration,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TerminateSessionAction {
    /// A `postgres` (backend) or `kasm` (session) source.
    pub source: String,
    /// Also end sessions of a PostgreSQL superuser role; default false, because one may be a
    /// DBA's own or the server's maintenance.
    pub allow_superuser: bool,
    /// A `postgres` source: who ends the backend, when the source's own role may only read.
    pub database: Option<Secret>,
}

/// `approve` / `deny` of a REQUESTED job in a SQL-backed job table.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDecisionAction {
    /// A `postgres` source.
    pub source: String,
    /// The statement that records the decision; `$1` is the job id, `$2` the operator.
    pub sql: String,
    /// Who runs the statement, when the source's own role may only read.
    pub database: Option<Secret>,
}

pub(super) fn read_action(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
    references: &mut Vec<SourceReference>,
) -> Option<ActionConfig> {
    let name = read_name(table, problems, names, "action", &[]);
    let kind: ActionKind = read_kind(table, problems, "action")?;
    let description = table
        .string(problems, "description", "a short sentence")
        .map(|(d, _)| d);
    let confirm = table
        .string(
            problems,
            "confirm",
            "one of enter, type-target, totp, two-person",
        )
        .and_then(|(text, span)| {
            let policy = ConfirmPolicy::from_name(&text);
            if policy.is_none() {
                let names: Vec<&str> = ConfirmPolicy::ALL.iter().map(|p| p.name()).collect();
                problems.report(
                    span,
                    &table.key_path("confirm"),
                    format!(
                        "unknown confirmation `{text}`.{} Use one of {}.",
                        suggestion(&text, names.iter().copied()),
                        backticked(&names)
                    ),
                );
            }
            policy
        });
    let approval_expires = table.duration(problems, "approval_expires", APPROVAL_EXPIRES);
    let mut source =
        |table: &mut Table<'_, '_>, problems: &mut Problems<'_>, kinds: &'static [&'static str]| {
            let (name, span) =
                table.required_string(problems, "source", "the name of a configured [[source]]")?;
            references.push(SourceReference {
                key: table.key_path("source"),
                name: name.clone(),
                span,
                kinds,
                action_kind: kind,
            });
            Some(name)
        };
    let spec = match kind {
        ActionKind::PgBackup => {
            let database = database_url(table, problems, "database");
            let dir = required_dir(table, problems, "dir");
            let retention = read_retention(table, problems);
            let sentinel = table.bool(problems, "sentinel").unwrap_or(false);
            let bin_dir = optional_dir(table, problems, "bin_dir");
            let timeout = table.duration(problems, "timeout", COMMAND_TIMEOUT);
            let copy_to = read_copy_to(table, problems);
            let max_backup_age = table.duration(problems, "max_backup_age", BACKUP_AGE);
            let max_drill_age = table.duration(problems, "max_drill_age", BACKUP_AGE);
            (|| {
                Some(ActionSpec::PgBackup(PgBackupAction {
                    database: database?,
                    dir: dir?,
                    retention,
                    sentinel,
                    bin_dir,
                    timeout,
                    copy_to: copy_to?,
                    max_backup_age,
                    max_drill_age,
                }))
            })()
        }
        ActionKind::PgRestore => {
            let database = database_url(table, problems, "database");
            let dir = required_dir(table, problems, "dir");
            let drill = table.bool(problems, "drill").unwrap_or(false);
            let backup = table
                .string(problems, "backup", "a dump's file name in `dir`")
                .map(|(name, _)| name);
            let backup_of = table
                .string(
                    problems,
                    "backup_of",
                    "the name of the database the dumps are of",
                )
                .map(|(name, _)| name);
            let stop = hook(table, problems, "stop");
            let start = hook(table, problems, "start");
            let bin_dir = optional_dir(table, problems, "bin_dir");
            let timeout = table.duration(problems, "timeout", COMMAND_TIMEOUT);
            let health = read_health(table, problems);
            let copy_to = read_copy_to(table, problems);
            (|| {
                Some(ActionSpec::PgRestore(PgRestoreAction {
                    database: database?,
                    dir: dir?,
                    drill,
                    backup,
                    backup_of,
                    stop,
                    start,
                    bin_dir,
                    timeout,
                    health,
                    copy_to: copy_to?,
                }))
            })()
        }
        ActionKind::FileBackup => {
            let paths = table
                .string_list(
                    problems,
                    "paths",
                    "a list of paths such as [\"/etc/app\"]",
                    false,
                )
                .map(|paths| paths.iter().map(|p| expand_tilde(p)).collect())
                .unwrap_or_default();
            let dir = optional_dir(table, problems, "dir").or_else(|| backups_dir(table, problems));
            let retention = read_retention(table, problems);
            dir.map(|dir| {
                ActionSpec::FileBackup(FileBackupAction {
                    paths,
                    dir,
                    retention,
                })
            })
        }
        ActionKind::FileRestore => {
            let dir = optional_dir(table, problems, "dir").or_else(|| backups_dir(table, problems));
            let target = optional_dir(table, problems, "target");
            let backup = table
                .string(problems, "backup", "an archive's file name in `dir`")
                .map(|(name, _)| name);
            let backup_of = table
                .string(
                    problems,
                    "backup_of",
                    "the name of the file_backup action whose archives are restored",
                )
                .map(|(name, _)| name);
            let health = read_health(table, problems);
            dir.map(|dir| {
                ActionSpec::FileRestore(FileRestoreAction {
                    dir,
                    target,
                    backup,
                    backup_of,
                    health,
                })
            })
        }
        ActionKind::Unseal => source(table, problems, &["openbao"]).map(|source| {
            ActionSpec::Unseal(UnsealAction {
                source,
                nodes: Vec::new(),
            })
        }),
        ActionKind::Rollback => {
            let source = source(table, problems, &["release"]);
            let argv = argv(table, problems);
            let timeout = table.duration(problems, "timeout", COMMAND_TIMEOUT);
            let health = read_health(table, problems);
            (|| {
                Some(ActionSpec::Rollback(RollbackAction {
                    source: source?,
                    argv: argv?,
                    timeout,
                    health,
                }))
            })()
        }
        ActionKind::Command => {
            let argv = argv(table, problems);
            let cwd = optional_dir(table, problems, "cwd");
            let timeout = table.duration(problems, "timeout", COMMAND_TIMEOUT);
            let health = read_health(table, problems);
            argv.map(|argv| {
                ActionSpec::Command(CommandAction {
                    argv,
                    cwd,
                    timeout,
                    health,
                })
            })
        }
        ActionKind::Silence => {
            let source = source(table, problems, &["alertmanager"]);
            let duration = table
                .duration(problems, "duration", SILENCE)
                .unwrap_or(DEFAULT_SILENCE);
            let comment = table
                .string(problems, "comment", "a sentence for the silence")
                .map(|(c, _)| c);
            source.map(|source| {
                ActionSpec::Silence(SilenceAction {
                    source,
                    duration,
                    comment,
                })
            })
        }
        ActionKind::TerminateSession => {
            let source = source(table, problems, &["postgres", "kasm"]);
            let allow_superuser = table.bool(problems, "allow_superuser").unwrap_or(false);
            let database = optional_database(table, problems);
            (|| {
                Some(ActionSpec::TerminateSession(TerminateSessionAction {
                    source: source?,
                    allow_superuser,
                    database: database?,
                }))
            })()
        }
        ActionKind::Approve | ActionKind::Deny => {
            let source = source(table, problems, &["postgres"]);
            let sql = table.required_string(
                problems,
                "sql",
                "\"UPDATE install_jobs SET status = 'APPROVED', approved_by = $2 WHERE id = $1 AND status = 'REQUESTED'\"",
            );
            let database = optional_database(table, problems);
            (|| {
                let decision = JobDecisionAction {
                    source: source?,
                    sql: sql?.0,
                    database: database?,
                };
                Some(if kind == ActionKind::Approve {
                    ActionSpec::Approve(decision)
                } else {
                    ActionSpec::Deny(decision)
                })
            })()
        }
    };
    table.finish(problems, &format!("a `{kind}` action"));
    let default_confirm = match &spec {
        Some(ActionSpec::PgRestore(restore)) if !restore.drill => ConfirmPolicy::TypeTarget,
        Some(ActionSpec::FileRestore(_) | ActionSpec::Rollback(_)) => ConfirmPolicy::TypeTarget,
        _ => ConfirmPolicy::Enter,
    };
    let confirm = confirm.unwrap_or(default_confirm);
    if confirm != ConfirmPolicy::TwoPerson
        && let Some(value) = table.value("approval_expires")
    {
        problems.report(
            value.span(),
            &table.key_path("approval_expires"),
            format!(
                "`approval_expires` is how long a two-person request waits for its approval, \
                 and this action is confirmed by `{}`: remove it, or set confirm = \
                 \"two-person\".",
                confirm.name()
            ),
        );
    }
    Some(ActionConfig {
        name: name?,
        kind,
        description,
        confirm,
        approval_expires: approval_expires.unwrap_or(DEFAULT_APPROVAL_EXPIRES),
        spec: spec?,
    })
}

fn argv(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<Vec<String>> {
    let expected = "a command as a list, e.g. [\"./scripts/deploy.py\", \"rollback\"] (no shell)";
    if !table.has("argv") {
        table.missing(problems, "argv", "[\"./scripts/deploy.py\", \"rollback\"]");
        table.value("argv");
        return None;
    }
    table.string_list(problems, "argv", expected, true)
}

/// A `stop` / `start` hook of a restore: an argv list like `argv`, optional.
fn hook(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<Vec<String>> {
    table.string_list(
        problems,
        key,
        "a command as a list, e.g. [\"systemctl\", \"stop\", \"app\"] (no shell)",
        true,
    )
}

/// An optional `database` URL: `Some(None)` when absent, `None` when given and wrong.
fn optional_database(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<Option<Secret>> {
    if table.has("database") {
        database_url(table, problems, "database").map(Some)
    } else {
        // Known to the table, so that a misspelt key is told what it may be.
        table.value("database");
        Some(None)
    }
}

fn required_dir(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<PathBuf> {
    table
        .required_string(problems, key, "\"/var/backups/app\"")
        .map(|(dir, _)| expand_tilde(&dir))
}

fn optional_dir(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<PathBuf> {
    table
        .string(problems, key, "a path such as \"/var/backups/app\"")
        .map(|(dir, _)| expand_tilde(&dir))
}

fn backups_dir(table: &Table<'_, '_>, problems: &mut Problems<'_>) -> Option<PathBuf> {
    let dir = user_data_dir().map(|d| d.join("backups"));
    if dir.is_none() {
        problems.report(
            table.span(),
            &table.key_path("dir"),
            "the user data directory is unknown (is $HOME set?): set `dir` to where backups go.",
        );
    }
    dir
}

fn read_retention(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Retention {
    let Some(mut retention) = table.table(
        problems,
        "retention",
        "a table such as { keep = 30, max_age = \"30d\" }",
    ) else {
        return Retention::default();
    };
    let keep = retention
        .integer(
            problems,
            "keep",
            1..=100_000,
            "a number of backups such as 30",
        )
        .map(|n| n as u32);
    let max_age = retention.duration(problems, "max_age", RETENTION_MAX_AGE);
    retention.finish(problems, "`retention`");
    Retention { keep, max_age }
}

/// `copy_to` and its `s3` table: `Some(None)` when there is no `copy_to`, `None` when what is
/// written is wrong (reported).
pub(super) fn read_copy_to(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<Option<RemoteCopy>> {
    const EXAMPLE: &str = "\"s3://backups/app\"";
    let copy_to = table.string(problems, "copy_to", EXAMPLE);
    let s3 = table.table(
        problems,
        "s3",
        "a table such as { endpoint = \"https://s3.example.com\", access_key_id = \"env:S3_KEY_ID\", secret_access_key = \"env:S3_SECRET\" }",
    );
    let Some((url, span)) = copy_to else {
        if let Some(s3) = s3 {
            problems.report(
                s3.span(),
                &table.key_path("s3"),
                format!(
                    "is for `copy_to`, which is not set: add `copy_to = {EXAMPLE}` or remove it."
                ),
            );
            return None;
        }
        return Some(None);
    };
    let location = url.strip_prefix("s3://").and_then(|rest| {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = !bucket.is_empty()
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        let prefix = prefix.trim_matches('/');
        let valid_prefix = !prefix
            .split('/')
            .any(|part| part.is_empty() && !prefix.is_empty() || part == "." || part == "..");
        (valid_bucket && valid_prefix).then(|| (bucket.to_owned(), prefix.to_owned()))
    });
    let Some((bucket, prefix)) = location else {
        problems.report(
            span,
            &table.key_path("copy_to"),
            format!(
                "`{url}` is not an S3 location: use s3://BUCKET or s3://BUCKET/PREFIX, e.g. {EXAMPLE}."
            ),
        );
        return None;
    };
    let Some(mut s3) = s3 else {
        table.missing(
            problems,
            "s3",
            "{ access_key_id = \"env:S3_KEY_ID\", secret_access_key = \"env:S3_SECRET\" }",
        );
        return None;
    };
    let endpoint = s3
        .string(
            problems,
            "endpoint",
            "a URL such as \"https://s3.example.com\"",
        )
        .and_then(|(endpoint, span)| {
            let parsed = url::Url::parse(&endpoint)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            let problem = if parsed.is_none() {
                Some(format!("`{endpoint}` is not an http:// or https:// URL."))
            } else if is_plain_http_to_remote(&endpoint) {
                Some(format!(
                    "`{endpoint}` would send the backups and the request signatures unencrypted \
                     to another machine: use https:// (plain http:// is for a server on this \
                     machine only)."
                ))
            } else {
                None
            };
            match problem {
                Some(problem) => {
                    problems.report(span, &s3.key_path("endpoint"), problem);
                    None
                }
                None => Some(endpoint),
            }
        });
    let endpoint_bad = s3.has("endpoint") && endpoint.is_none();
    let region = s3
        .string(problems, "region", "a region such as \"eu-west-1\"")
        .map(|(region, _)| region)
        .unwrap_or_else(|| DEFAULT_S3_REGION.to_owned());
    let access_key_id = secret(&mut s3, problems, "access_key_id", SecretKind::Value);
    let secret_access_key = secret(&mut s3, problems, "secret_access_key", SecretKind::Token);
    s3.finish(problems, "`s3`");
    if endpoint_bad {
        return None;
    }
    Some(Some(RemoteCopy {
        url,
        bucket,
        prefix,
        endpoint,
        region,
        access_key_id: access_key_id?,
        secret_access_key: secret_access_key?,
    }))
}

fn read_health(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<HealthCheck> {
    let mut health = table.table(
        problems,
        "health",
        "a table such as { url = \"https://api.example.com/healthz\", within = \"120s\" }",
    )?;
    let url = http_url(&mut health, problems, "url");
    let within = if health.has("within") {
        health.duration(problems, "within", HEALTH_WITHIN)
    } else {
        health.missing(problems, "within", "\"120s\"");
        health.value("within");
        None
    };
    let expect_status = http_status(&mut health, problems);
    health.finish(problems, "`health`");
    Some(HealthCheck {
        url: url?,
        within: within?,
        expect_status,
    })
}

pub(super) fn check_reference(
    reference: &SourceReference,
    sources: &[SourceConfig],
    problems: &mut Problems<'_>,
) {
    let wanted = reference
        .kinds
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    match sources.iter().find(|s| s.name == reference.name) {
        None => {
            let fitting: Vec<&str> = sources
                .iter()
                .filter(|s| reference.kinds.contains(&s.kind()))
                .map(|s| s.name.as_str())
                .collect();
            let hint = match diagnostics::did_you_mean(&reference.name, fitting.iter().copied()) {
                Some(best) => format!(" Did you mean `{best}`?"),
                None if fitting.is_empty() => {
                    format!(" Add a [[source]] of kind {wanted} first.")
                }
                None => format!(" Configured {wanted} sources: {}.", backticked(&fitting)),
            };
            problems.report(
                reference.span.clone(),
                &reference.key,
                format!("no source named `{}` is configured.{hint}", reference.name),
            );
        }
        Some(source) if !reference.kinds.contains(&source.kind()) => problems.report(
            reference.span.clone(),
            &reference.key,
            format!(
                "an action of kind `{}` needs a source of kind {wanted}, but `{}` is of kind `{}`.",
                reference.action_kind,
                source.name,
                source.kind()
            ),
        ),
        Some(_) => {}
    }
}

/// Gives each `unseal` action the nodes of its OpenBao source: where the key shares go.
pub(super) fn resolve_unseal_nodes(actions: &mut [ActionConfig], sources: &[SourceConfig]) {
    for action in actions {
        if let ActionSpec::Unseal(unseal) = &mut action.spec
            && let Some(SourceSpec::OpenBao(bao)) = sources
                .iter()
                .find(|s| s.name == unseal.source)
                .map(|s| &s.spec)
        {
            unseal.nodes = bao.nodes(&unseal.source);
        }
    }
}
