//! The job ledger: one row per operator action, with its live log.
//!
//! A job starts REQUESTED, may pass APPROVED and RUNNING, and ends in a final state through
//! `finish_job`. While it is in one of the first three it holds its target: the unique partial
//! index `jobs_one_active_per_target` makes the database refuse a second one (SPEC, safety
//! rule 4), whichever console asks.

use chrono::Utc;

use super::{ActionState, Store, StoreError, is_unique_violation, now_ms, on_pool};
use crate::identity::OperatorIdentity;
use crate::model::JobRow;

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
}

/// The job holding a busy target.
#[derive(Debug, sqlx::FromRow)]
struct Holder {
    id: String,
    action: String,
    operator: String,
    state: String,
}

impl Store {
    /// Records a new job, REQUESTED, for `operator`'s OS account, and returns its id;
    /// `TargetBusy` names the job already holding `target`.
    pub async fn start_job(
        &self,
        action: &str,
        target: &str,
        operator: &OperatorIdentity,
    ) -> Result<String, StoreError> {
        // The holder can finish between our collision and our look at it; then the target is
        // free and the insert is worth another try. Three collisions in a row mean a busy
        // target changing hands faster than we can read it.
        for _ in 0..3 {
            let id = uuid::Uuid::new_v4().to_string();
            let inserted = on_pool!(self, pool => {
                sqlx::query(
                    "INSERT INTO jobs (id, action, target, operator, state, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(action)
                .bind(target)
                .bind(&operator.os_user)
                .bind(ActionState::Requested.as_str())
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|_| ())
            });
            match inserted {
                Ok(()) => return Ok(id),
                Err(e) if is_unique_violation(&e) => {
                    if let Some(holder) = self.holder(target).await? {
                        return Err(StoreError::TargetBusy {
                            target: target.to_string(),
                            job_id: holder.id,
                            action: holder.action,
                            operator: holder.operator,
                            state: holder.state,
                        });
                    }
                }
                Err(e) => return Err(self.error(e)),
            }
        }
        Err(StoreError::Unavailable {
            store: self.label(),
            reason: format!("{target} kept changing hands while a job was being started on it"),
        })
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
    /// when given. Final states go through `finish_job`.
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
                "UPDATE jobs SET state = $2, progress = COALESCE($3, progress) \
                 WHERE id = $1 AND finished_at IS NULL",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(progress)
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

    /// Appends one line to a job's log.
    pub async fn append_job_log(&self, id: &str, line: &str) -> Result<(), StoreError> {
        let inserted = on_pool!(self, pool => {
            sqlx::query("INSERT INTO job_log (job_id, time_ms, line) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(now_ms())
                .bind(line)
                .execute(pool)
                .await
                .map(|_| ())
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

    /// Ends a job in a final state, freeing its target. An `error` is kept with the job and
    /// also ends its log, where the Jobs pane's log view shows it.
    pub async fn finish_job(
        &self,
        id: &str,
        state: ActionState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        if !state.is_final() {
            return Err(StoreError::WrongState {
                operation: "finish_job",
                state,
            });
        }
        let now = now_ms();
        let updated = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let updated = sqlx::query(
                    "UPDATE jobs SET state = $2, finished_at = $3, error = $4 \
                     WHERE id = $1 AND finished_at IS NULL",
                )
                .bind(id)
                .bind(state.as_str())
                .bind(now)
                .bind(error)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if let (1, Some(error)) = (updated, error) {
                    sqlx::query("INSERT INTO job_log (job_id, time_ms, line) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(now)
                        .bind(format!("{state}: {error}"))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(updated)
            }
            .await
        })
        .map_err(|e| self.error(e))?;
        if updated == 0 {
            return Err(self.why_not_updated(id).await);
        }
        Ok(())
    }

    /// Tells an unknown job from one that has already finished.
    async fn why_not_updated(&self, id: &str) -> StoreError {
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

    /// The newest `limit` jobs, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let records: Vec<JobRecord> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, target, operator, state, progress, started_at, finished_at \
                 FROM jobs ORDER BY started_at DESC, id LIMIT $1",
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
                    observed_at,
                })
            })
            .collect()
    }

    /// A job's log lines, oldest first.
    pub async fn job_log(&self, id: &str) -> Result<Vec<String>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT line FROM job_log WHERE job_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.error(e))
    }
}
