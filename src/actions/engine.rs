//! Runs a confirmed [`Plan`] as a job: write-ahead, execute, record the outcome.
//!
//! 1. The intent record (REQUESTED, with the plan) and the job row commit in one transaction
//!    ([`Store::begin_action`]). If they cannot — the store is down, read-only, refuses the
//!    insert, or the target is busy — the action is refused and nothing runs (fail-closed).
//! 2. The job goes RUNNING and its work runs: the program's lines stream to the job's log (in
//!    batches) and to whoever watches; a heartbeat tells other consoles it is alive.
//! 3. Cancel and timeout stop it at its safe point — the program is killed with its whole
//!    process group — and a configured health check must pass afterwards.
//! 4. The outcome record (SUCCEEDED / FAILED / CANCELLED, with the error) and the job's end
//!    commit together ([`Store::finish_action`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::health::{HealthFailed, wait_healthy};
use super::{
    Plan, ProcessWork, Refusal, Work, file_backup, file_restore, job_decision, pg_backup,
    pg_restore, silence, terminate_session,
};
use crate::config::{ConfirmPolicy, HealthCheck, SourceConfig};
use crate::identity::OperatorIdentity;
use crate::model::{AuditRow, JobRow};
use crate::process;
use crate::store::{ActionState, JobOwner, NewAudit, Store, StoreError};

/// How often a running job's lines are written to its log: a program printing a thousand
/// lines a second costs ten small transactions a second, not a thousand.
const LOG_FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Lines written at once at most, so a burst does not hold the store's write lock for long.
const LOG_FLUSH_LINES: usize = 500;
/// How a failed health check's error begins, in the job and the audit record: what the
/// store's alert on such jobs looks for.
pub const HEALTH_FAILED: &str = "health check failed";
/// How often a running job tells the store it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// A job whose heartbeat is older than this is taken for one whose process is gone.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(90);
/// How many times the outcome is tried when the store is briefly unreachable. After that the
/// job stays RUNNING in the store, and the next ondeck to start marks it INTERRUPTED.
const OUTCOME_ATTEMPTS: u32 = 5;
const OUTCOME_RETRY: Duration = Duration::from_secs(1);

/// What a running job tells whoever watches it (the console's Jobs pane, `ondeck run`'s
/// standard error).
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// The job exists: its intent is recorded.
    Opened(JobRow),
    State {
        job_id: String,
        state: ActionState,
        progress: Option<f64>,
    },
    Lines {
        job_id: String,
        lines: Vec<String>,
    },
    Closed {
        job_id: String,
        state: ActionState,
        /// How it ended, in a line: the error, or the summary its work gave.
        result: Option<String>,
    },
}

/// A job whose intent is recorded: its id, and the request id its records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenJob {
    pub job_id: String,
    pub request_id: String,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub job_id: String,
    pub state: ActionState,
    pub error: Option<String>,
}

/// Who acts, through which store, on which configured sources.
#[derive(Debug, Clone)]
pub struct Engine {
    pub store: Store,
    pub identity: OperatorIdentity,
    /// The sources as configured: the kinds that act on a source's rows (a silence, a
    /// terminated session) reach it the way its poller does.
    pub sources: Arc<[SourceConfig]>,
}

impl Engine {
    /// Runs `plan` to its end. `Err` means it was refused before anything was done; `Ok` says
    /// how the job ended. Setting `cancel` to true cancels it at its next safe point.
    pub async fn run(
        &self,
        plan: &Plan,
        events: &mpsc::UnboundedSender<JobEvent>,
        cancel: watch::Receiver<bool>,
    ) -> Result<Finished, Refusal> {
        if let Work::Unseal(_) = plan.work {
            return Err(Refusal(format!(
                "`{}` is given its key shares one at a time, from its dialog or `ondeck run`",
                plan.action
            )));
        }
        if plan.confirm == ConfirmPolicy::TwoPerson {
            return Err(Refusal(format!(
                "`{}` needs a second operator's approval: it is requested, not run",
                plan.action
            )));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let owner = JobOwner::this_process(&self.identity);
        let (job_id, intent) = self
            .store
            .begin_action(
                self.record(plan, ActionState::Requested, &request_id),
                &owner,
            )
            .await
            .map_err(|error| refusal_for(&error))?;
        let job = OpenJob { job_id, request_id };
        self.opened(plan, &job, &intent, events);
        Ok(self.run_opened(plan, &job, events, cancel).await)
    }

    /// Tells whoever watches that the job of `plan` exists.
    pub(super) fn opened(
        &self,
        plan: &Plan,
        job: &OpenJob,
        intent: &AuditRow,
        events: &mpsc::UnboundedSender<JobEvent>,
    ) {
        let _ = events.send(JobEvent::Opened(JobRow {
            source: crate::store::STORE_SOURCE.to_owned(),
            id: job.job_id.clone(),
            action: plan.action.clone(),
            target: plan.target.ledger_name(),
            operator: self.identity.os_user.clone(),
            state: ActionState::Requested.to_string(),
            progress: None,
            started: Some(intent.time),
            finished: None,
            result: None,
            observed_at: Utc::now(),
        }));
    }

    /// Runs the work of `plan` as the job `job`, whose intent is recorded (and, for a
    /// two-person action, which was approved), to its end.
    pub async fn run_opened(
        &self,
        plan: &Plan,
        open: &OpenJob,
        events: &mpsc::UnboundedSender<JobEvent>,
        mut cancel: watch::Receiver<bool>,
    ) -> Finished {
        let job = RunningJob {
            engine: self,
            job_id: &open.job_id,
            request_id: &open.request_id,
            events,
        };
        let job_id = &open.job_id;
        let cancelled_already = *cancel.borrow();
        let outcome = if cancelled_already {
            Outcome::cancelled("cancelled before it started".to_owned())
        } else {
            match self
                .store
                .update_job(job_id, ActionState::Running, Some(0.0))
                .await
            {
                // The store took the intent a moment ago and now refuses: running without a
                // record of it would be acting unaudited.
                Err(error) => Outcome::failed(format!("not started, the store failed: {error}")),
                Ok(()) => {
                    job.state(ActionState::Running, Some(0.0));
                    let context = JobContext {
                        job: &job,
                        plan,
                        cancel: cancel.clone(),
                    };
                    match &plan.work {
                        Work::Process(work) => {
                            let (state, error) = job.run_process(work, &mut cancel).await;
                            Outcome {
                                state,
                                error,
                                detail: serde_json::Value::Null,
                            }
                        }
                        Work::PgBackup(work) => {
                            job.beating(pg_backup::execute(work, &context)).await
                        }
                        Work::PgRestore(work) => {
                            job.beating(pg_restore::execute(work, &context)).await
                        }
                        Work::FileBackup(work) => {
                            job.beating(file_backup::execute(work, &context)).await
                        }
                        Work::FileRestore(work) => {
                            job.beating(file_restore::execute(work, &context)).await
                        }
                        Work::Silence(work) => job.beating(silence::execute(work, &context)).await,
                        Work::TerminateSession(work) => {
                            job.beating(terminate_session::execute(work, &context))
                                .await
                        }
                        Work::JobDecision(work) => {
                            job.beating(job_decision::execute(work, &context)).await
                        }
                        // Refused before its intent was recorded, above.
                        Work::Unseal(_) => {
                            Outcome::failed("an unseal is not run as one job".to_owned())
                        }
                    }
                }
            }
        };
        job.close(plan, outcome).await
    }

    /// Ends the job `open` of `plan` in the final `state` without running its work: a
    /// two-person request its requester gave up, or whose target changed before it ran.
    pub async fn close_unrun(
        &self,
        plan: &Plan,
        open: &OpenJob,
        events: &mpsc::UnboundedSender<JobEvent>,
        state: ActionState,
        error: String,
    ) -> Finished {
        let job = RunningJob {
            engine: self,
            job_id: &open.job_id,
            request_id: &open.request_id,
            events,
        };
        let outcome = Outcome {
            state,
            error: Some(error),
            detail: serde_json::Value::Null,
        };
        job.close(plan, outcome).await
    }

    /// Records that `plan` was refused before it started (a mistyped confirmation, a target
    /// that changed): a record with no job.
    pub async fn record_refusal(&self, plan: &Plan, why: &str) -> Result<(), StoreError> {
        let mut record = self.record(plan, ActionState::Refused, "");
        record.error = Some(why.to_owned());
        self.store.append_audit(record).await.map(|_| ())
    }

    /// Records that `plan` was shown and not run (`ondeck run --dry-run`).
    pub async fn record_dry_run(&self, plan: &Plan) -> Result<(), StoreError> {
        let record = self.record(plan, ActionState::DryRun, "");
        self.store.append_audit(record).await.map(|_| ())
    }

    pub(super) fn record(&self, plan: &Plan, outcome: ActionState, request_id: &str) -> NewAudit {
        NewAudit {
            identity: self.identity.clone(),
            action: plan.action.clone(),
            target: plan.target.ledger_name(),
            outcome,
            request_id: request_id.to_owned(),
            job_id: None,
            error: None,
            detail: serde_json::json!({
                "kind": plan.kind.name(),
                "steps": plan.steps,
                "plan": plan.detail,
            }),
        }
    }
}

/// Why the intent could not be recorded, as the operator reads it.
pub(super) fn refusal_for(error: &StoreError) -> Refusal {
    match error {
        StoreError::TargetBusy { .. } => Refusal(error.to_string()),
        _ => Refusal(format!(
            "refused: the intent could not be recorded, so nothing was done ({error})"
        )),
    }
}

/// A job between its intent and its outcome.
struct RunningJob<'a> {
    engine: &'a Engine,
    job_id: &'a str,
    request_id: &'a str,
    events: &'a mpsc::UnboundedSender<JobEvent>,
}

impl RunningJob<'_> {
    fn state(&self, state: ActionState, progress: Option<f64>) {
        let _ = self.events.send(JobEvent::State {
            job_id: self.job_id.to_owned(),
            state,
            progress,
        });
    }

    /// Writes `lines` to the job's log and passes them on. A log the store does not take is
    /// not a reason to stop the work half-way; it is noted in the log file.
    async fn log(&self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        if let Err(error) = self.engine.store.append_job_log(self.job_id, &lines).await {
            tracing::warn!(job = self.job_id, %error, "job log lines not stored");
        }
        let _ = self.events.send(JobEvent::Lines {
            job_id: self.job_id.to_owned(),
            lines,
        });
    }

    /// Runs the program, then the health check; the state and error the job ends with.
    async fn run_process(
        &self,
        work: &ProcessWork,
        cancel: &mut watch::Receiver<bool>,
    ) -> (ActionState, Option<String>) {
        let mut env = work.env.clone();
        env.extend([
            ("ONDECK_JOB_ID".to_owned(), self.job_id.to_owned()),
            ("ONDECK_REQUEST_ID".to_owned(), self.request_id.to_owned()),
            (
                "ONDECK_OPERATOR".to_owned(),
                self.engine.identity.os_user.clone(),
            ),
        ]);
        let command = process::Command {
            cwd: work.cwd.as_deref(),
            ..process::Command::new(&work.argv, &env)
        };
        let (line_tx, mut line_rx) = mpsc::unbounded_channel();
        // Boxed rather than pinned in place, so that dropping it below really ends it.
        let mut running = Box::pin(process::stream(command, line_tx));
        let deadline = tokio::time::sleep(work.timeout);
        tokio::pin!(deadline);
        let mut flush = tokio::time::interval(LOG_FLUSH_EVERY);
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let mut pending = Vec::new();
        let program = work.argv.first().cloned().unwrap_or_default();
        let ended = loop {
            tokio::select! {
                status = &mut running => break Ended::Exited(status),
                Some(line) = line_rx.recv() => {
                    pending.push(line);
                    if pending.len() >= LOG_FLUSH_LINES {
                        self.log(std::mem::take(&mut pending)).await;
                    }
                }
                _ = flush.tick() => self.log(std::mem::take(&mut pending)).await,
                _ = heartbeat.tick() => self.beat().await,
                () = &mut deadline => break Ended::TimedOut,
                () = cancelled(cancel) => break Ended::Cancelled,
            }
        };
        // Dropping the run kills whatever is left of the program's process group.
        drop(running);
        while let Ok(line) = line_rx.try_recv() {
            pending.push(line);
        }
        self.log(pending).await;
        let failed = |error: String| (ActionState::Failed, Some(error));
        match ended {
            Ended::Cancelled => {
                return (
                    ActionState::Cancelled,
                    Some(format!(
                        "cancelled; `{program}` and its processes were stopped"
                    )),
                );
            }
            Ended::TimedOut => {
                return failed(format!(
                    "timed out after {}; `{program}` and its processes were stopped",
                    humantime::format_duration(work.timeout)
                ));
            }
            Ended::Exited(Err(error)) => return failed(error.to_string()),
            Ended::Exited(Ok(status)) if !status.success() => {
                return failed(format!("`{program}` {}", describe_exit(status)));
            }
            Ended::Exited(Ok(_)) => {}
        }
        let Some(health) = &work.health else {
            return (ActionState::Succeeded, None);
        };
        self.state(ActionState::Running, Some(0.9));
        let checked = tokio::select! {
            checked = wait_healthy(health, self.request_id, |line| {
                let _ = self.events.send(JobEvent::Lines {
                    job_id: self.job_id.to_owned(),
                    lines: vec![line],
                });
            }) => checked,
            () = cancelled(cancel) => {
                return (
                    ActionState::Cancelled,
                    Some("cancelled while waiting for the health check".to_owned()),
                );
            }
        };
        match checked {
            Ok(()) => (ActionState::Succeeded, None),
            Err(error) => failed(error.to_string()),
        }
    }

    /// Runs a kind's work to its end, telling the store now and then that the job is alive.
    async fn beating(&self, work: impl Future<Output = Outcome>) -> Outcome {
        tokio::pin!(work);
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = heartbeat.tick() => self.beat().await,
            }
        }
    }

    async fn beat(&self) {
        if let Err(error) = self
            .engine
            .store
            .update_job(self.job_id, ActionState::Running, None)
            .await
        {
            tracing::warn!(job = self.job_id, %error, "job heartbeat not stored");
        }
    }

    /// Records the outcome and the job's end together, trying again while the store is
    /// briefly away.
    async fn close(self, plan: &Plan, outcome: Outcome) -> Finished {
        let Outcome {
            state,
            error,
            detail,
        } = outcome;
        if state == ActionState::Succeeded {
            // Done is all the way, whatever the work said of its progress on the way.
            self.state(ActionState::Running, Some(1.0));
        }
        let mut record = self.engine.record(plan, state, self.request_id);
        record.job_id = Some(self.job_id.to_owned());
        record.error = error.clone();
        record.detail = detail;
        let result = record.result_line();
        for attempt in 1..=OUTCOME_ATTEMPTS {
            match self.engine.store.finish_action(record.clone()).await {
                Ok(_) => break,
                Err(StoreError::Unavailable { .. }) if attempt < OUTCOME_ATTEMPTS => {
                    tokio::time::sleep(OUTCOME_RETRY).await;
                }
                Err(store_error) => {
                    tracing::error!(
                        job = self.job_id,
                        %store_error,
                        "the outcome of the job could not be recorded"
                    );
                    break;
                }
            }
        }
        let _ = self.events.send(JobEvent::Closed {
            job_id: self.job_id.to_owned(),
            state,
            result,
        });
        Finished {
            job_id: self.job_id.to_owned(),
            state,
            error,
        }
    }
}

/// How a kind's work ended: the job's final state, its error, and what the outcome record
/// keeps of it (a backup's file and checksum, a drill's result and restore time).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: ActionState,
    pub error: Option<String>,
    pub detail: serde_json::Value,
}

impl Outcome {
    pub fn succeeded(detail: serde_json::Value) -> Outcome {
        Outcome {
            state: ActionState::Succeeded,
            error: None,
            detail,
        }
    }

    pub fn failed(error: String) -> Outcome {
        Outcome {
            state: ActionState::Failed,
            error: Some(error),
            detail: serde_json::Value::Null,
        }
    }

    pub fn cancelled(error: String) -> Outcome {
        Outcome {
            state: ActionState::Cancelled,
            error: Some(error),
            detail: serde_json::Value::Null,
        }
    }

    pub fn with_detail(self, detail: serde_json::Value) -> Outcome {
        Outcome { detail, ..self }
    }
}

/// Why a kind's step was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Cancelled,
    TimedOut,
}

/// What a kind's work gets from the engine: its job's log, progress and audit records, and
/// the cancel and timeout that stop it at its safe points.
pub struct JobContext<'a> {
    job: &'a RunningJob<'a>,
    plan: &'a Plan,
    cancel: watch::Receiver<bool>,
}

impl JobContext<'_> {
    pub fn job_id(&self) -> &str {
        self.job.job_id
    }

    /// The request id of the job, which its records and requests carry.
    pub fn request_id(&self) -> &str {
        self.job.request_id
    }

    /// Who runs the job.
    pub fn identity(&self) -> &OperatorIdentity {
        &self.job.engine.identity
    }

    /// The configured source named `name`.
    pub fn source(&self, name: &str) -> Result<&SourceConfig, String> {
        self.job
            .engine
            .sources
            .iter()
            .find(|source| source.name == name)
            .ok_or_else(|| format!("the source `{name}` is no longer configured"))
    }

    /// One line of the job's log, stored and shown at once (the kinds log a few lines a
    /// second at most).
    pub async fn log(&self, line: impl Into<String>) {
        self.job.log(vec![line.into()]).await;
    }

    /// The job's progress, 0.0 to 1.0, stored and shown.
    pub async fn progress(&self, fraction: f64) {
        if let Err(error) = self
            .job
            .engine
            .store
            .update_job(self.job.job_id, ActionState::Running, Some(fraction))
            .await
        {
            tracing::warn!(job = self.job.job_id, %error, "job progress not stored");
        }
        self.job.state(ActionState::Running, Some(fraction));
    }

    /// An audit record of a step of the job (a backup that retention removed): `action` on
    /// the job's target, SUCCEEDED, with the job's ids.
    pub async fn audit(&self, action: &str, detail: serde_json::Value) -> Result<(), StoreError> {
        let mut record =
            self.job
                .engine
                .record(self.plan, ActionState::Succeeded, self.job.request_id);
        record.action = action.to_owned();
        record.job_id = Some(self.job.job_id.to_owned());
        record.detail = detail;
        self.job.engine.store.append_audit(record).await.map(|_| ())
    }

    /// Runs `step` unless the job is cancelled or its `timeout` is over first; then `step`
    /// is dropped, which kills the programs it started.
    pub async fn interruptible<T>(
        &self,
        timeout: Duration,
        step: impl Future<Output = T>,
    ) -> Result<T, Stopped> {
        let mut cancel = self.cancel.clone();
        tokio::select! {
            done = step => Ok(done),
            () = cancelled(&mut cancel) => Err(Stopped::Cancelled),
            () = tokio::time::sleep(timeout) => Err(Stopped::TimedOut),
        }
    }

    /// The health check after a restore, its tries in the job's log.
    pub async fn health(&self, check: &HealthCheck) -> Result<(), HealthFailed> {
        wait_healthy(check, self.job.request_id, |line| {
            let _ = self.job.events.send(JobEvent::Lines {
                job_id: self.job.job_id.to_owned(),
                lines: vec![line],
            });
        })
        .await
    }
}

/// Resolves once `cancel` is set. A canceller that is gone can no longer cancel.
pub(crate) async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    let set = cancel.wait_for(|cancelled| *cancelled).await.is_ok();
    if !set {
        std::future::pending::<()>().await;
    }
}

enum Ended {
    Exited(Result<std::process::ExitStatus, process::ProcessError>),
    TimedOut,
    Cancelled,
}

/// `exited with status 3` / `was killed by signal 9`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended without a status".to_owned(),
    }
}
