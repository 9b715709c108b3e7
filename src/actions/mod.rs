//! Operator actions (SPEC, "Actions and their safety rules").
//!
//! Every action goes the same way: its kind turns the configuration and a target into a
//! [`Plan`] — pure, shown in the confirmation dialog and by `ondeck run` — and the
//! [`engine`] runs a confirmed plan as a job: the intent record and the job row are committed
//! together before anything is done (refused if they cannot be), the work streams its log and
//! can be cancelled, and the outcome record closes the job.
//!
//! A kind is one module here and one arm in [`plan`]; the match is exhaustive, so a kind the
//! configuration accepts can never run as another.

pub mod backups;
mod command;
pub mod engine;
pub mod file_backup;
pub mod file_restore;
mod health;
pub mod job_decision;
pub mod pg_backup;
pub mod pg_restore;
mod rollback;
pub mod runner;
pub mod silence;
pub mod terminate_session;
pub mod totp;
pub mod two_person;
pub mod unseal;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ActionConfig, ActionKind, ActionSpec, ConfirmPolicy, HealthCheck};
use crate::model::{AlertRow, HostRow, JobRow, SessionRow};
use crate::row_identity::{Identified, RowIdentity};

/// How long an action without a `timeout` of its own may run before it is stopped.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What an action is done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What the operator types to confirm a `type-target` action: the row's name (`prod`), or
    /// the free text a `command` was given.
    pub name: String,
    /// The row, for the kinds that act on a row of their source. The dialog checks it again
    /// before running.
    pub row: Option<RowIdentity>,
}

impl Target {
    /// The target as the job ledger and the audit log name it: source-qualified for a row
    /// (`deploys/prod`), so two sources with a host of the same name never block each other.
    pub fn ledger_name(&self) -> String {
        match &self.row {
            Some(row) => format!("{}/{}", row.source, self.name),
            None => self.name.clone(),
        }
    }
}

/// What the operator picked an action for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A row of the Hosts pane (a release's environment, a node).
    Host(&'a HostRow),
    /// A row of the Sessions pane (a PostgreSQL backend, a Kasm session).
    Session(&'a SessionRow),
    /// A row of the Alerts pane.
    Alert(&'a AlertRow),
    /// A row of the Jobs pane (a job of a team's own job table).
    Job(&'a JobRow),
    /// Free text: `ondeck run … --target T` for an action without a source, or the name a
    /// `command` is run for.
    Named(&'a str),
}

impl Subject<'_> {
    /// The source of the row, for a row.
    fn source(&self) -> Option<&str> {
        match self {
            Subject::Host(row) => Some(&row.source),
            Subject::Session(row) => Some(&row.source),
            Subject::Alert(row) => Some(&row.source),
            Subject::Job(row) => Some(&row.source),
            Subject::Named(_) => None,
        }
    }

    /// How the operator names the row, in the dialog and in the refusals.
    fn name(&self) -> &str {
        match self {
            Subject::Host(row) => &row.name,
            Subject::Session(row) => &row.user,
            Subject::Alert(row) => &row.name,
            Subject::Job(row) => &row.id,
            Subject::Named(name) => name,
        }
    }

    /// Whether `ondeck run … --target TEXT` names this row: a host by its name, a session by
    /// its PostgreSQL pid or Kasm id, an alert by its name or fingerprint, a job by its id.
    pub fn answers_to(&self, text: &str) -> bool {
        let text = text.trim();
        match self {
            Subject::Host(row) => row.name == text,
            Subject::Session(row) => terminate_session::session_key(row).is_some_and(|k| k == text),
            Subject::Alert(row) => row.name == text || row.fingerprint == text,
            Subject::Job(row) => row.id == text,
            Subject::Named(name) => *name == text,
        }
    }
}

/// Exactly what an action will do, decided before it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The `[[action]]`'s name.
    pub action: String,
    pub kind: ActionKind,
    pub description: Option<String>,
    pub confirm: ConfirmPolicy,
    /// How long a `two-person` request waits for its approval.
    pub approval_expires: Duration,
    pub target: Target,
    /// The steps, one line each, in order: the command line, the check after it.
    pub steps: Vec<String>,
    /// What changes, in a sentence: the risk line of the dialog.
    pub changes: String,
    /// What cannot be undone, if anything.
    pub cannot_undo: Option<String>,
    /// What the audit records of the plan (never a secret).
    pub detail: serde_json::Value,
    pub work: Work,
}

impl Plan {
    /// The plan of `action` on `target` by `work`, saying nothing yet of its steps, what it
    /// changes and what it records: each kind fills those in.
    fn new(action: &ActionConfig, target: Target, work: Work) -> Plan {
        Plan {
            action: action.name.clone(),
            kind: action.kind,
            description: action.description.clone(),
            confirm: action.confirm,
            approval_expires: action.approval_expires,
            target,
            steps: Vec::new(),
            changes: String::new(),
            cannot_undo: None,
            detail: serde_json::Value::Null,
            work,
        }
    }
}

impl Plan {
    /// Where a restore's backups are, for its dialog to list and pick from; `None` for a kind
    /// that restores none.
    pub fn backup_choice(&self) -> Option<BackupChoice> {
        let (dir, selection) = match &self.work {
            // The target of a PostgreSQL restore is its database's name.
            Work::PgRestore(work) => (
                &work.spec.dir,
                pg_restore::selection(&work.spec, &self.target.name),
            ),
            Work::FileRestore(work) => (&work.spec.dir, file_restore::selection(&work.spec)),
            _ => return None,
        };
        Some(BackupChoice {
            dir: dir.clone(),
            selection,
        })
    }

    /// The file a restore takes, when one is named (configured or picked in the dialog);
    /// `None` for the newest that verifies, or a kind that restores none.
    pub fn backup(&self) -> Option<&str> {
        match &self.work {
            Work::PgRestore(work) => work.spec.backup.as_deref(),
            Work::FileRestore(work) => work.spec.backup.as_deref(),
            _ => None,
        }
    }
}

/// The backups a restore chooses from: a directory, and which of its backups are this
/// action's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupChoice {
    pub dir: PathBuf,
    pub selection: backups::Selection,
}

/// `action` restoring `backup` (a file name in its `dir`) rather than its configured one: the
/// backup picked in the dialog, which its plan, its audit record and its job then name. Any
/// other kind is returned as it is.
pub fn restoring(action: &ActionConfig, backup: Option<&str>) -> ActionConfig {
    let mut action = action.clone();
    match &mut action.spec {
        ActionSpec::PgRestore(spec) => spec.backup = backup.map(str::to_owned),
        ActionSpec::FileRestore(spec) => spec.backup = backup.map(str::to_owned),
        _ => {}
    }
    action
}

/// How a plan is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A program run directly (never through a shell), then an optional health check.
    Process(ProcessWork),
    /// A `pg_dump` into the backup directory, its manifest, then retention.
    PgBackup(pg_backup::PgBackupWork),
    /// A checked restore of a dump into its database, or a drill into a scratch one.
    PgRestore(pg_restore::PgRestoreWork),
    /// An archive of paths into the backup directory, its manifest, then retention.
    FileBackup(file_backup::FileBackupWork),
    /// A checked archive extracted beside its destination and renamed into place.
    FileRestore(file_restore::FileRestoreWork),
    /// Key shares to an OpenBao node, one at a time as they are typed ([`unseal::submit`]).
    Unseal(unseal::UnsealWork),
    /// An Alertmanager silence created for an alert's labels, or the alert's silences expired.
    Silence(silence::SilenceWork),
    /// A PostgreSQL backend or a Kasm session ended.
    TerminateSession(terminate_session::TerminateWork),
    /// A REQUESTED job of a team's job table approved or denied.
    JobDecision(job_decision::JobDecisionWork),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessWork {
    pub argv: Vec<String>,
    /// `ONDECK_*` variables describing the action; the engine adds the job and request ids.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    pub health: Option<HealthCheck>,
}

/// Why an action cannot be planned for a subject; shown to the operator as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Whether `action` is one the operator can pick for `subject`: an action with a source
/// applies to that source's rows of the pane its kind acts on (a silence to alerts, approve
/// to REQUESTED jobs); one without (`command`) to anything.
pub fn applies_to(action: &ActionConfig, subject: Subject<'_>) -> bool {
    let Some(source) = action.source() else {
        return true;
    };
    if subject.source() != Some(source) {
        return false;
    }
    match (&action.spec, subject) {
        (ActionSpec::Silence(_), Subject::Alert(_))
        | (ActionSpec::TerminateSession(_), Subject::Session(_)) => true,
        (ActionSpec::Approve(_) | ActionSpec::Deny(_), Subject::Job(row)) => {
            job_decision::is_requested(row)
        }
        (ActionSpec::Unseal(_) | ActionSpec::Rollback(_), Subject::Host(_)) => true,
        _ => false,
    }
}

/// The plan of `action` for `subject`, or why there is none.
pub fn plan(action: &ActionConfig, subject: Subject<'_>) -> Result<Plan, Refusal> {
    if let Some(source) = action.source()
        && let Some(row_source) = subject.source()
        && row_source != source
    {
        return Err(Refusal(format!(
            "`{}` acts on rows of the source `{source}`, and {} is from `{row_source}`",
            action.name,
            subject.name()
        )));
    }
    if action.confirm == ConfirmPolicy::TwoPerson && matches!(action.spec, ActionSpec::Unseal(_)) {
        return Err(Refusal(format!(
            "`{}` is given its key shares one at a time, which a second operator's approval \
             cannot stand for: confirm it by enter or totp",
            action.name
        )));
    }
    match &action.spec {
        ActionSpec::Rollback(spec) => rollback::plan(action, spec, subject),
        ActionSpec::Command(spec) => command::plan(action, spec, subject),
        ActionSpec::PgBackup(spec) => pg_backup::plan(action, spec, subject),
        ActionSpec::PgRestore(spec) => pg_restore::plan(action, spec, subject),
        ActionSpec::FileBackup(spec) => file_backup::plan(action, spec, subject),
        ActionSpec::FileRestore(spec) => file_restore::plan(action, spec, subject),
        ActionSpec::Unseal(spec) => unseal::plan(action, spec, subject),
        ActionSpec::Silence(spec) => silence::plan(action, spec, subject),
        ActionSpec::TerminateSession(spec) => terminate_session::plan(action, spec, subject),
        ActionSpec::Approve(spec) => job_decision::plan(action, spec, Decision::Approve, subject),
        ActionSpec::Deny(spec) => job_decision::plan(action, spec, Decision::Deny, subject),
    }
}

/// The target of an action on a host row.
fn row_target(row: &HostRow) -> Target {
    Target {
        name: row.name.clone(),
        row: Some(row.identity()),
    }
}

/// What an approve or deny action records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

/// The refusal for a kind picked on a row of the wrong pane.
fn wrong_row(action: &ActionConfig, source: &str, what: &str) -> Refusal {
    Refusal(format!(
        "`{}` acts on {what} of the source `{source}`: pick one of them",
        action.name
    ))
}

/// The `ONDECK_*` variables every action's program gets, besides the kind's own.
fn base_env(action: &ActionConfig, target: &Target) -> Vec<(String, String)> {
    vec![
        ("ONDECK_ACTION".to_owned(), action.name.clone()),
        ("ONDECK_TARGET".to_owned(), target.name.clone()),
    ]
}

/// The target of a PostgreSQL backup or restore: the database its URL names, whatever row it
/// was picked on; `--target` must name that database.
fn database_target(
    action: &ActionConfig,
    database: &backups::postgres::PgDatabase,
    subject: Subject<'_>,
) -> Result<Target, Refusal> {
    if let Subject::Named(name) = subject
        && name.trim() != database.name
    {
        return Err(Refusal(format!(
            "`{}` acts on the database {} (named in its URL, {}); the target must be that name, \
             not `{}`",
            action.name,
            database.name,
            database.shown,
            name.trim()
        )));
    }
    Ok(Target {
        name: database.name.clone(),
        row: None,
    })
}

/// The health check step, as the dialog lists it.
fn health_step(health: &HealthCheck) -> String {
    format!(
        "then GET {} must answer {} within {}",
        crate::config::secret::mask_url(&health.url),
        health.expect_status,
        humantime::format_duration(health.within)
    )
}

#[cfg(test)]
mod tests;
