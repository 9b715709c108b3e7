//! The job ledger: one row per operator action, with its live log.
//!
//! A job starts REQUESTED, may pass APPROVED and RUNNING, and ends in a final state through
//! `finish_action`. While it is in one of the first three it holds its target: the unique partial
//! index `jobs_one_active_per_target` makes the database refuse a second one (SPEC, safety
//! rule 4), whichever console asks.

use chrono::Utc;

use super::audit::JobChange;
use super::{ActionState, NewAudit, Store, StoreError, now_ms, on_pool};
use crate::actions::engine::HEALTH_FAILED;
use crate::identity::OperatorIdentity;
use crate::model::{AlertRow, AuditRow, JobRow, Severity, StoreRows};

#[derive(Debug, sqlx::FromRow)]
struct JobRecord {
    id: String,
    action: String,
    target: String,
    operator: String,
    state: String,
    progress: Option<f64>,
    started_at: i64,
    finished_at: Option<i64>,
    result: Option<String>,
}

/// The job holding a busy target.
#[derive(Debug, sqlx::FromRow)]
struct Holder {
    id: String,
    action: String,
    operator: String,
    state: String,
}

/// The process that runs a job: the host and pid recorded with it, so that another ondeck can
/// tell a running job from one whose process is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOwner {
    pub host: String,
    pub pid: u32,
}

impl JobOwner {
    pub fn this_process(identity: &OperatorIdentity) -> JobOwner {
        JobOwner {
            host: identity.host.clone(),
            pid: std::process::id(),
        }
    }

    /// Whether this process could be the owner and is gone: on this host, no process has the
    /// pid. A process that holds it may be another one that reused the pid; the heartbeat
    /// settles that.
    fn is_gone_from(&self, host: &str) -> bool {
        if self.host != host {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return true;
        };
        // Signal 0 checks that the process exists without touching it. EPERM means it exists
        // under another account.
        matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        )
    }
}

/// The alert raised on a target whose latest job failed its health check.
pub const HEALTH_ALERT: &str = "ActionHealthCheckFailed";
/// How many of the newest finished jobs are looked at for health alerts.
const HEALTH_ALERT_JOBS: i64 = 1_000;

/// A finished job, for the health alerts.
#[derive(Debug, sqlx::FromRow)]
struct Ended {
    id: String,
    action: String,
    target: String,
    state: String,
    error: Option<String>,
    finished_at: i64,
}

/// A job whose process may be gone.
#[derive(Debug, sqlx::FromRow)]
struct Unfinished {
    id: String,
    action: String,
    target: String,
    owner_host: String,
    owner_pid: i64,
    heartbeat_at: Option<i64>,
}

impl Store {
    /// The write-ahead step of an action: the job row (REQUESTED, held by `owner`) and the intent
    /// record `intent` commit in one transaction, before anything is done. Returns the new job's
    /// id and the record; an error means neither was written, and the action must not run.
    /// `TargetBusy` names the job already holding the target.
    pub async fn begin_action(
        &self,
        intent: NewAudit,
        owner: &JobOwner,
    ) -> Result<(String, AuditRow), StoreError> {
        self.open_job(intent, owner, None, "begin_action").await
    }

    /// A new job, REQUESTED and held by `owner`, with the intent record naming it, in one
    /// transaction; a two-person request has the time by which it must be decided.
    pub(super) async fn open_job(
        &self,
        intent: NewAudit,
        owner: &JobOwner,
        expires_at: Option<i64>,
        operation: &'static str,
    ) -> Result<(String, AuditRow), StoreError> {
        if intent.outcome != ActionState::Requested {
            return Err(StoreError::WrongState {
                operation,
                state: intent.outcome,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let intent = NewAudit {
            job_id: Some(id.clone()),
            ..intent
        };
        let record = self
            .append_with(
                intent,
                JobChange::Open {
                    id: &id,
                    owner,
                    expires_at,
                },
            )
            .await?;
        Ok((id, record))
    }

    /// Ends a job in `outcome.outcome`, a final state, and appends the outcome record naming
    /// it, in one transaction. The record's error is kept with the job and ends its log.
    pub async fn finish_action(&self, outcome: NewAudit) -> Result<AuditRow, StoreError> {
        if !outcome.outcome.is_final() {
            return Err(StoreError::WrongState {
                operation: "finish_action",
                state: outcome.outcome,
            });
        }
        let Some(id) = outcome.job_id.clone() else {
            return Err(StoreError::NotFound {
                kind: "job",
                id: String::new(),
            });
        };
        self.append_with(outcome, JobChange::Close { id: &id })
            .await
    }

    /// Finds the unfinished jobs whose process is gone — on this host, no process has their
    /// pid; anywhere, their heartbeat is older than `stale_after` — and ends each INTERRUPTED
    /// with an outcome record by `identity`, who found it. Returns their ids.
    pub async fn interrupt_orphaned_jobs(
        &self,
        identity: &OperatorIdentity,
        stale_after: std::time::Duration,
    ) -> Result<Vec<String>, StoreError> {
        let unfinished: Vec<Unfinished> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, target, owner_host, owner_pid, heartbeat_at FROM jobs \
                 WHERE finished_at IS NULL AND owner_pid IS NOT NULL AND owner_host IS NOT NULL",
            )
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let mut interrupted = Vec::new();
        for job in unfinished {
            let owner = JobOwner {
                host: job.owner_host.clone(),
                pid: u32::try_from(job.owner_pid).unwrap_or(u32::MAX),
            };
            let silent_ms = now.saturating_sub(job.heartbeat_at.unwrap_or(0));
            let why = if owner.is_gone_from(&identity.host) {
                format!(
                    "the ondeck process running it (pid {} on {}) is gone",
                    owner.pid, owner.host
                )
            } else if silent_ms > stale_ms {
                format!(
                    "the ondeck process running it (pid {} on {}) has not been heard from for {}s",
                    owner.pid,
                    owner.host,
                    silent_ms / 1000
                )
            } else {
                continue;
            };
            let record = NewAudit {
                identity: identity.clone(),
                action: job.action,
                target: job.target,
                outcome: ActionState::Interrupted,
                request_id: String::new(),
                job_id: Some(job.id.clone()),
                error: Some(why),
                detail: serde_json::Value::Null,
            };
            match self.finish_action(record).await {
                Ok(_) => interrupted.push(job.id),
                // Its owner finished it, or another console interrupted it, meanwhile.
                Err(StoreError::JobFinished { .. } | StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(interrupted)
    }

    /// The newest `jobs` jobs, the newest `audit` records, the open operator consoles and the
    /// health alerts, as the console and `snapshot` show them.
    pub async fn read_rows(&self, jobs: usize, audit: usize) -> Result<StoreRows, StoreError> {
        Ok(StoreRows {
            jobs: self.jobs(jobs).await?,
            audit: self.audit_tail(audit).await?,
            sessions: self.operator_sessions().await?,
            alerts: self.health_alerts().await?,
            approvals: self.pending_approvals().await?,
        })
    }

    /// An alert for every target whose latest finished job failed its health check (SPEC,
    /// safety rule 9): the rollback or restore ran, and what it was for does not work. It
    /// fires until a later job on the target succeeds.
    pub async fn health_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        let finished: Vec<Ended> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, target, state, error, finished_at FROM jobs \
                 WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id LIMIT $1",
            )
            .bind(HEALTH_ALERT_JOBS)
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        let mut seen = std::collections::HashSet::new();
        let observed_at = Utc::now();
        let mut alerts = Vec::new();
        for job in finished {
            // The newest finished job of each target decides.
            if !seen.insert(job.target.clone()) {
                continue;
            }
            let Some(error) = job.error.filter(|e| {
                job.state == ActionState::Failed.as_str() && e.starts_with(HEALTH_FAILED)
            }) else {
                continue;
            };
            let since = self.time(job.finished_at, || format!("job {}", job.id))?;
            let mut alert = AlertRow::raised(
                super::STORE_SOURCE,
                HEALTH_ALERT,
                Severity::Critical,
                job.target,
                format!("{} (job {}): {error}", job.action, job.id),
                since,
            );
            alert.observed_at = observed_at;
            alerts.push(alert);
        }
        Ok(alerts)
    }

    /// When a job of `action` last finished SUCCEEDED, if one ever did: a drill's last pass.
    pub async fn last_succeeded(
        &self,
        action: &str,
    ) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
        let finished: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT max(finished_at) FROM jobs WHERE action = $1 AND state = $2")
                .bind(action)
                .bind(ActionState::Succeeded.as_str())
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.error(e))?;
        finished
            .map(|ms| self.time(ms, || format!("the last job of {action}")))
            .transpose()
    }

    /// The error for a target another unfinished job holds, naming that job.
    pub(super) async fn busy(&self, target: &str) -> StoreError {
        match self.holder(target).await {
            Ok(Some(holder)) => StoreError::TargetBusy {
                target: target.to_string(),
                job_id: holder.id,
                action: holder.action,
                operator: holder.operator,
                state: holder.state,
            },
            // The holder finished between the collision and this look.
            Ok(None) => StoreError::Unavailable {
                store: self.label(),
                reason: format!("{target} was busy a moment ago; try again"),
            },
            Err(e) => e,
        }
    }

    /// The unfinished job holding `target`, if any.
    async fn holder(&self, target: &str) -> Result<Option<Holder>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, operator, state FROM jobs \
                 WHERE target = $1 AND state IN ('REQUESTED', 'APPROVED', 'RUNNING')",
            )
            .bind(target)
            .fetch_optional(pool)
            .await
        })
        .map_err(|e| self.error(e))
    }

    /// Moves an unfinished job to another non-final state, and sets its progress (0.0 ..= 1.0)
    /// when given; also the job's heartbeat, so a runner calls it now and then while it works.
    /// Final states go through `finish_action`.
    pub async fn update_job(
        &self,
        id: &str,
        state: ActionState,
        progress: Option<f64>,
    ) -> Result<(), StoreError> {
        if state.is_final() {
            return Err(StoreError::WrongState {
                operation: "update_job",
                state,
            });
        }
        let progress = progress.map(|p| p.clamp(0.0, 1.0));
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = $2, progress = COALESCE($3, progress), heartbeat_at = $4 \
                 WHERE id = $1 AND finished_at IS NULL",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(progress)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(|e| self.error(e))?;
        if updated == 0 {
            return Err(self.why_not_updated(id).await);
        }
        Ok(())
    }

    /// Appends lines to a job's log, in one transaction: an action that prints a thousand lines
    /// a second is written in batches, not a commit a line.
    pub async fn append_job_log(&self, id: &str, lines: &[String]) -> Result<(), StoreError> {
        let time_ms = now_ms();
        let inserted = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                for line in lines {
                    sqlx::query("INSERT INTO job_log (job_id, time_ms, line) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(time_ms)
                        .bind(line)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
            .await
        });
        inserted.map_err(|e| {
            let unknown_job = e
                .as_database_error()
                .is_some_and(|db| db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation);
            if unknown_job {
                StoreError::NotFound {
                    kind: "job",
                    id: id.to_string(),
                }
            } else {
                self.error(e)
            }
        })
    }

    /// Tells an unknown job from one that has already finished.
    pub(super) async fn why_not_updated(&self, id: &str) -> StoreError {
        let state: Result<Option<String>, sqlx::Error> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        });
        match state {
            Ok(Some(state)) => StoreError::JobFinished {
                id: id.to_string(),
                state,
            },
            Ok(None) => StoreError::NotFound {
                kind: "job",
                id: id.to_string(),
            },
            Err(e) => self.error(e),
        }
    }

    /// Whether the job `id` exists and has not ended: what something a job left behind (a
    /// drill's scratch database) is checked against before it is removed.
    pub async fn job_is_unfinished(&self, id: &str) -> Result<bool, StoreError> {
        let unfinished: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE id = $1 AND finished_at IS NULL",
            )
            .bind(id)
            .fetch_one(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        Ok(unfinished > 0)
    }

    /// The newest `limit` jobs, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let records: Vec<JobRecord> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, target, operator, state, progress, started_at, finished_at, \
                 result FROM jobs ORDER BY started_at DESC, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        let observed_at = Utc::now();
        records
            .into_iter()
            .map(|r| {
                let what = || format!("job {}", r.id);
                Ok(JobRow {
                    source: super::STORE_SOURCE.to_string(),
                    started: Some(self.time(r.started_at, what)?),
                    finished: r.finished_at.map(|ms| self.time(ms, what)).transpose()?,
                    id: r.id,
                    action: r.action,
                    target: r.target,
                    operator: r.operator,
                    state: r.state,
                    progress: r.progress,
                    result: r.result,
                    observed_at,
                })
            })
            .collect()
    }

    /// Up to `limit` lines of a job's log before line number `before` (the newest ones for
    /// `None`), oldest first, each with its number for paging further back.
    pub async fn job_log(
        &self,
        id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut lines: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, line FROM job_log WHERE job_id = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        lines.reverse();
        Ok(lines)
    }
}
