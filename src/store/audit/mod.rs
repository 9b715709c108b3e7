//! The tamper-evident audit log (SPEC, "Actions and their safety rules" 3).
//!
//! Every record carries the hash of its predecessor, and `audit_head` holds the hash of the
//! last one. `hash = hex(sha256(canonical))`, where `canonical` is a JSON array whose first
//! element names the encoding, chosen by the record's `hash_version`:
//!
//! - v1 (records written before the identity columns existed): `["ondeck-audit-v1", seq,
//!   time_ms, operator, action, target, outcome, request_id, detail, prev_hash]`.
//! - v2 (every record written now): `["ondeck-audit-v2", seq, time_ms, operator, uid, host,
//!   ssh_client, db_user, operator_label, action, target, outcome, request_id, job_id, error,
//!   detail, prev_hash]`, absent values as `null`.
//!
//! JSON quotes and escapes every string, so no two different records share an encoding (plain
//! concatenation would let `("ab","c")` and `("a","bc")` collide). An encoding, once written, is
//! never changed: the fixed vectors in `tests.rs` fail if it is. A new one gets a new version
//! and tag, and the old records keep verifying under theirs.
//!
//! What this detects: an edited field, a deleted record (in the middle or at the end), records
//! moved or relinked, records added behind ondeck's back, a v2 record passed off as v1 to escape
//! the identity's coverage. What it cannot detect, since no secret key is involved: someone with
//! write access who rewrites every hash from the tampered record to the head. For that, keep the
//! head (`ondeck audit --head`) elsewhere and check against it (`--verify --head SEQ:HASH`): a
//! tail cut off or rewritten since no longer contains that head.

mod record;
#[cfg(test)]
mod tests;
mod verify;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::approvals::{DecisionRefusal, check_decision, requester_key};
use super::jobs::JobOwner;
use super::{ActionState, Store, StoreError, is_unique_violation, now_ms, on_pool};
use crate::identity::OperatorIdentity;
use crate::model::AuditRow;
use record::{AuditRecord, GENESIS_HASH};
use verify::verify_chain;

pub use verify::{BreakKind, ChainBreak, VerifyReport};

/// Appends tried before a persistent seq collision is reported as a broken chain.
const APPEND_ATTEMPTS: usize = 3;

const SELECT_RECORDS: &str = "SELECT seq, time_ms, operator, action, target, outcome, \
                              request_id, detail, prev_hash, hash, hash_version, uid, host, \
                              ssh_client, db_user, operator_label, job_id, error FROM audit";

const INSERT_RECORD: &str = "INSERT INTO audit (seq, time_ms, operator, action, target, outcome, \
                             request_id, detail, prev_hash, hash, hash_version, uid, host, \
                             ssh_client, db_user, operator_label, job_id, error) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                             $14, $15, $16, $17, $18)";

/// One record to append; the store assigns seq, time, the database role and the hashes. This
/// is the only way to append, and it cannot be built without the operator's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// Who acts: [`OperatorIdentity::current`]. Its `db_user` is replaced by the store's own.
    pub identity: OperatorIdentity,
    pub action: String,
    pub target: String,
    pub outcome: ActionState,
    /// The `X-Request-ID` sent with the action's requests.
    pub request_id: String,
    /// The job this record opens, moves or closes.
    pub job_id: Option<String>,
    /// Why the action failed or was refused. Callers must leave secrets out, as in `detail`.
    pub error: Option<String>,
    /// Free-form context (plan, checksum, release refs). Callers must leave secrets out:
    /// the record can never be changed afterwards without breaking the chain.
    /// `Value::Null` is stored as an empty detail.
    pub detail: serde_json::Value,
}

/// The key of an outcome's `detail` that sums it up in a line for the Jobs pane.
pub const SUMMARY_KEY: &str = "summary";

impl NewAudit {
    /// How the job this record closes ended, in a line: its error, or its detail's summary.
    pub fn result_line(&self) -> Option<String> {
        self.error.clone().or_else(|| {
            self.detail
                .get(SUMMARY_KEY)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
    }
}

/// The chain's newest record, `SEQ:HASH`: printed by `ondeck audit --head` to be kept
/// elsewhere, and checked by `--verify --head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for ChainHead {
    type Err = String;

    fn from_str(s: &str) -> Result<ChainHead, String> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not SEQ:HASH, as `ondeck audit --head` prints it"))?;
        let seq = seq
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| format!("{seq:?} is not a record number"))?;
        let hash = hash.to_ascii_lowercase();
        if hash.len() != GENESIS_HASH.len() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{hash:?} is not a SHA-256 hash in hex (64 digits)"));
        }
        Ok(ChainHead { seq, hash })
    }
}

impl Store {
    /// Appends one record to the chain. Returns once it is committed, so a caller can rely on
    /// it as the write-ahead record; an error means nothing was written.
    pub async fn append_audit(&self, rec: NewAudit) -> Result<AuditRow, StoreError> {
        self.append_with(rec, JobChange::None).await
    }

    /// Appends `rec` and makes `job` change in the same transaction: either both are committed
    /// or neither is. This is what pairs an action's intent record with its new job row, and
    /// its outcome record with the job's end.
    pub(super) async fn append_with(
        &self,
        rec: NewAudit,
        job: JobChange<'_>,
    ) -> Result<AuditRow, StoreError> {
        let detail = match &rec.detail {
            serde_json::Value::Null => String::new(),
            value => value.to_string(),
        };
        let time_ms = now_ms();
        // The head is read and the record written in one transaction holding the store's write
        // lock (SQLite: BEGIN IMMEDIATE takes it up front, so two appenders never both read the
        // same head; PostgreSQL: FOR UPDATE on the head row, which a second appender waits on
        // and then re-reads as the first one committed it). The same read asks the server for
        // the connection's role, so the record names it without a round trip of its own. The
        // primary key on seq is the last line of defence: a record that still collides is
        // refused, never forked, and tried again on the new head. A collision that persists
        // means the head was moved back by hand, and appending would only pile onto a tampered
        // chain.
        let dialect = self.dialect();
        let mut taken_seq = 0;
        for _ in 0..APPEND_ATTEMPTS {
            let written: Result<AuditRecord, AppendError> = on_pool!(self, pool => {
                async {
                    let mut tx = pool.begin_with(dialect.begin_write).await?;
                    let (head_seq, head_hash, db_user): (i64, String, Option<String>) =
                        sqlx::query_as(dialect.read_audit_head_for_append)
                            .fetch_one(&mut *tx)
                            .await?;
                    let record =
                        AuditRecord::next(&rec, &detail, time_ms, (head_seq, head_hash), db_user);
                    sqlx::query(INSERT_RECORD)
                        .bind(record.seq)
                        .bind(record.time_ms)
                        .bind(&record.operator)
                        .bind(&record.action)
                        .bind(&record.target)
                        .bind(&record.outcome)
                        .bind(&record.request_id)
                        .bind(&record.detail)
                        .bind(&record.prev_hash)
                        .bind(&record.hash)
                        .bind(record.hash_version)
                        .bind(record.uid)
                        .bind(&record.host)
                        .bind(&record.ssh_client)
                        .bind(&record.db_user)
                        .bind(&record.operator_label)
                        .bind(&record.job_id)
                        .bind(&record.error)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            if is_unique_violation(&e) {
                                AppendError::SeqTaken(record.seq)
                            } else {
                                AppendError::Sql(e)
                            }
                        })?;
                    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                        .bind(record.seq)
                        .bind(&record.hash)
                        .execute(&mut *tx)
                        .await?;
                    match &job {
                        JobChange::None => {}
                        JobChange::Open {
                            id,
                            owner,
                            expires_at,
                        } => {
                            sqlx::query(
                                "INSERT INTO jobs (id, action, target, operator, state, \
                                 started_at, owner_host, owner_pid, heartbeat_at, \
                                 requested_by, expires_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6, $9, $10)",
                            )
                            .bind(*id)
                            .bind(&rec.action)
                            .bind(&rec.target)
                            .bind(&rec.identity.os_user)
                            .bind(ActionState::Requested.as_str())
                            .bind(time_ms)
                            .bind(&owner.host)
                            .bind(i64::from(owner.pid))
                            .bind(expires_at.map(|_| requester_key(&rec.identity)))
                            .bind(*expires_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| {
                                if is_unique_violation(&e) {
                                    AppendError::TargetBusy
                                } else {
                                    AppendError::Sql(e)
                                }
                            })?;
                        }
                        JobChange::Decide { id } => {
                            // Read under the write lock every decision takes, so of two
                            // operators deciding at once the second sees the first's decision.
                            let request: Option<(String, Option<String>, Option<i64>)> =
                                sqlx::query_as(
                                    "SELECT state, requested_by, expires_at FROM jobs \
                                     WHERE id = $1",
                                )
                                .bind(*id)
                                .fetch_optional(&mut *tx)
                                .await?;
                            let Some(request) = request else {
                                return Err(AppendError::JobNotOpen);
                            };
                            let decision = check_decision(&request, &rec, time_ms)
                                .map_err(AppendError::Refused)?;
                            let finished_at = (decision == ActionState::Denied).then_some(time_ms);
                            sqlx::query(
                                "UPDATE jobs SET state = $2, decision = $2, decided_by = $3, \
                                 decided_at = $4, finished_at = $5, \
                                 result = CASE WHEN $5 IS NULL THEN result \
                                 ELSE 'denied by ' || $3 END \
                                 WHERE id = $1 AND state = 'REQUESTED'",
                            )
                            .bind(*id)
                            .bind(decision.as_str())
                            .bind(requester_key(&rec.identity))
                            .bind(time_ms)
                            .bind(finished_at)
                            .execute(&mut *tx)
                            .await?;
                        }
                        JobChange::Expire { id } => {
                            let expired = sqlx::query(
                                "UPDATE jobs SET state = $2, finished_at = $3, error = $4, \
                                 result = $4 \
                                 WHERE id = $1 AND state = 'REQUESTED' AND finished_at IS NULL \
                                 AND expires_at IS NOT NULL AND expires_at <= $3",
                            )
                            .bind(*id)
                            .bind(ActionState::Expired.as_str())
                            .bind(time_ms)
                            .bind(&rec.error)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            if expired == 0 {
                                return Err(AppendError::JobNotOpen);
                            }
                        }
                        JobChange::Close { id } => {
                            let closed = sqlx::query(
                                "UPDATE jobs SET state = $2, finished_at = $3, error = $4, \
                                 result = $5, progress = CASE WHEN $2 = 'SUCCEEDED' THEN 1.0 \
                                 ELSE progress END \
                                 WHERE id = $1 AND finished_at IS NULL",
                            )
                            .bind(*id)
                            .bind(rec.outcome.as_str())
                            .bind(time_ms)
                            .bind(&rec.error)
                            .bind(rec.result_line())
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            if closed == 0 {
                                return Err(AppendError::JobNotOpen);
                            }
                            if let Some(error) = &rec.error {
                                sqlx::query(
                                    "INSERT INTO job_log (job_id, time_ms, line) \
                                     VALUES ($1, $2, $3)",
                                )
                                .bind(*id)
                                .bind(time_ms)
                                .bind(format!("{}: {error}", rec.outcome))
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                    tx.commit().await?;
                    Ok(record)
                }
                .await
            });
            match written {
                Ok(record) => return self.audit_row(record),
                Err(AppendError::SeqTaken(seq)) => taken_seq = seq,
                Err(AppendError::Sql(e)) => return Err(self.error(e)),
                Err(AppendError::TargetBusy) => return Err(self.busy(&rec.target).await),
                Err(AppendError::Refused(why)) => {
                    return Err(StoreError::DecisionRefused {
                        job_id: rec.job_id.clone().unwrap_or_default(),
                        why,
                    });
                }
                Err(AppendError::JobNotOpen) => {
                    let id = match &job {
                        JobChange::Close { id }
                        | JobChange::Decide { id }
                        | JobChange::Expire { id } => id,
                        JobChange::None | JobChange::Open { .. } => "",
                    };
                    return Err(self.why_not_updated(id).await);
                }
            }
        }
        Err(StoreError::ChainBroken { seq: taken_seq })
    }

    /// The newest `limit` records, oldest first (the order of the chain).
    pub async fn audit_tail(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_before(i64::MAX, limit).await
    }

    /// The newest `limit` records before seq `before`, oldest first: the page behind what the
    /// console holds, read when the operator scrolls to it.
    pub async fn audit_before(
        &self,
        before: i64,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("{SELECT_RECORDS} WHERE seq < $1 ORDER BY seq DESC LIMIT $2");
        let mut records: Vec<AuditRecord> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(before).bind(limit).fetch_all(pool).await
        })
        .map_err(|e| self.error(e))?;
        records.reverse();
        records.into_iter().map(|r| self.audit_row(r)).collect()
    }

    /// Every record at or after `since` (all of them for `None`), oldest first, in one query.
    pub async fn audit_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        // Without a bound, a plain scan in seq order; a `time_ms >= MIN` bound would send
        // SQLite through the time index and a sort of every row.
        let records: Vec<AuditRecord> = match since {
            None => {
                let sql = format!("{SELECT_RECORDS} ORDER BY seq");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)
            }
            Some(since) => {
                let sql = format!("{SELECT_RECORDS} WHERE time_ms >= $1 ORDER BY seq");
                on_pool!(self, pool => {
                    sqlx::query_as(&sql)
                        .bind(since.timestamp_millis())
                        .fetch_all(pool)
                        .await
                })
            }
        }
        .map_err(|e| self.error(e))?;
        records.into_iter().map(|r| self.audit_row(r)).collect()
    }

    /// The chain's head as the store holds it, to be kept elsewhere.
    pub async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        let (seq, hash): (i64, String) = on_pool!(self, pool => {
            sqlx::query_as(SELECT_HEAD).fetch_one(pool).await
        })
        .map_err(|e| self.error(e))?;
        Ok(ChainHead { seq, hash })
    }

    /// Walks the whole chain and names the first record where it does not hold; with `kept`,
    /// a head taken earlier, also whether the chain still holds that head.
    pub async fn verify_audit(&self, kept: Option<ChainHead>) -> Result<VerifyReport, StoreError> {
        let sql = format!("{SELECT_RECORDS} ORDER BY seq");
        // Both reads see one snapshot, so an append between them is not mistaken for tampering.
        let begin = self.dialect().begin_snapshot;
        let (records, head): (Vec<AuditRecord>, (i64, String)) = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin_with(begin).await?;
                let records = sqlx::query_as(&sql).fetch_all(&mut *tx).await?;
                let head = sqlx::query_as(SELECT_HEAD).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok((records, head))
            }
            .await
        })
        .map_err(|e| self.error(e))?;
        Ok(verify_chain(&records, head, kept))
    }

    fn audit_row(&self, r: AuditRecord) -> Result<AuditRow, StoreError> {
        let seq = r.seq;
        let identity = r.identity();
        Ok(AuditRow {
            source: super::STORE_SOURCE.to_string(),
            seq,
            time: self.time(r.time_ms, || format!("audit record {seq}"))?,
            operator: r.operator,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            request_id: r.request_id,
            detail: r.detail,
            identity,
            job_id: r.job_id,
            error: r.error,
        })
    }
}

const SELECT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

/// What happens to the job ledger in the transaction of an audit record.
pub(in crate::store) enum JobChange<'a> {
    None,
    /// A new job, REQUESTED, held by `owner`, for the record's action and target; with
    /// `expires_at` (unix milliseconds), a two-person request by the record's identity.
    Open {
        id: &'a str,
        owner: &'a JobOwner,
        expires_at: Option<i64>,
    },
    /// The record (APPROVED or DENIED, by its identity) decides the two-person request `id`,
    /// if it still may be decided ([`decide`]).
    Decide {
        id: &'a str,
    },
    /// The two-person request `id`, still REQUESTED past its expiry, ends EXPIRED.
    Expire {
        id: &'a str,
    },
    /// The job ends in the record's outcome, with its error.
    Close {
        id: &'a str,
    },
}

enum AppendError {
    /// The seq the head pointed to is already taken: the head was moved back by hand.
    SeqTaken(i64),
    /// Another unfinished job holds the target.
    TargetBusy,
    /// The job to close is unknown or has already ended.
    JobNotOpen,
    /// The two-person request may not be decided by this record.
    Refused(DecisionRefusal),
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for AppendError {
    fn from(e: sqlx::Error) -> Self {
        AppendError::Sql(e)
    }
}
