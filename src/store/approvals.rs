//! Two-person requests: a job of an action confirmed by `two-person` is opened REQUESTED with
//! its requester and its expiry, every console lists it ([`Store::pending_approvals`]), another
//! operator approves or denies it ([`Store::decide_request`]), and its requester — who waits on
//! it ([`Store::request_status`]) — runs it once APPROVED, or ends it EXPIRED
//! ([`Store::expire_request`]).
//!
//! Who may decide is the store's to check, in the transaction that records the decision: the
//! request must still be REQUESTED and not expired, and the decider's OS account and host must
//! not be the requester's. The `[console] operator` label anyone can set plays no part.

use std::fmt;

use chrono::{DateTime, Utc};

use super::audit::JobChange;
use super::{ActionState, JobOwner, NewAudit, Store, StoreError, now_ms, on_pool};
use crate::identity::OperatorIdentity;
use crate::model::{ApprovalRequest, AuditRow};

/// How a request's requester and its decider are compared: the OS account and the host
/// (`alice@ops-01`), as the kernel and the machine tell them.
pub fn requester_key(identity: &OperatorIdentity) -> String {
    format!("{}@{}", identity.os_user, identity.host)
}

/// Why a two-person request cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionRefusal {
    /// The job is not a two-person request.
    NotARequest,
    /// The decider is the requester (the same OS account on the same host).
    OwnRequest { requester: String },
    /// Its time to be decided is over.
    Expired { at: DateTime<Utc> },
    /// Someone decided it already, or its requester ended it.
    AlreadyDecided { state: String },
    /// The record is not a decision.
    NotADecision,
}

impl fmt::Display for DecisionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecisionRefusal::NotARequest => {
                f.write_str("it is not a request waiting for a second operator")
            }
            DecisionRefusal::OwnRequest { requester } => write!(
                f,
                "it was requested by {requester}, and a request cannot be approved or denied by \
                 its requester"
            ),
            DecisionRefusal::Expired { at } => {
                write!(
                    f,
                    "the request expired at {}",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            }
            DecisionRefusal::AlreadyDecided { state } => {
                write!(f, "it was already decided: it is {state}")
            }
            DecisionRefusal::NotADecision => f.write_str("only APPROVED or DENIED decide it"),
        }
    }
}

/// Whether the record `rec` (APPROVED or DENIED, by its identity, at `now_ms`) may decide the
/// job whose `(state, requested_by, expires_at)` is `request`: the state it moves the job to.
pub(super) fn check_decision(
    request: &(String, Option<String>, Option<i64>),
    rec: &NewAudit,
    now_ms: i64,
) -> Result<ActionState, DecisionRefusal> {
    let (state, requested_by, expires_at) = request;
    let (Some(requested_by), Some(expires_at)) = (requested_by, expires_at) else {
        return Err(DecisionRefusal::NotARequest);
    };
    if !matches!(rec.outcome, ActionState::Approved | ActionState::Denied) {
        return Err(DecisionRefusal::NotADecision);
    }
    if state != ActionState::Requested.as_str() {
        return Err(DecisionRefusal::AlreadyDecided {
            state: state.clone(),
        });
    }
    if *requested_by == requester_key(&rec.identity) {
        return Err(DecisionRefusal::OwnRequest {
            requester: requested_by.clone(),
        });
    }
    if now_ms >= *expires_at {
        return Err(DecisionRefusal::Expired {
            at: DateTime::from_timestamp_millis(*expires_at).unwrap_or_default(),
        });
    }
    Ok(rec.outcome)
}

/// A request's state as its requester polls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStatus {
    /// REQUESTED, APPROVED, DENIED, EXPIRED, or a state its requester moved it to.
    pub state: String,
    /// `alice@ops-02`, once decided.
    pub decided_by: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl RequestStatus {
    /// Whether it waits for a decision and its time is over.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == ActionState::Requested.as_str() && now >= self.expires_at
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Pending {
    id: String,
    action: String,
    target: String,
    operator: String,
    requested_by: String,
    started_at: i64,
    expires_at: i64,
}

impl Store {
    /// The write-ahead step of a two-person action: the job (REQUESTED, held by `owner`,
    /// requested by the intent's identity, to be decided before `expires_at`) and the intent
    /// record commit in one transaction. Returns the job's id and the record.
    pub async fn request_approval(
        &self,
        intent: NewAudit,
        owner: &JobOwner,
        expires_at: DateTime<Utc>,
    ) -> Result<(String, AuditRow), StoreError> {
        self.open_job(
            intent,
            owner,
            Some(expires_at.timestamp_millis()),
            "request_approval",
        )
        .await
    }

    /// Approves or denies (the record's outcome) the request the record's job names, by the
    /// record's identity: the decision and its record commit together, or neither when the
    /// job is no request, is decided or ended already, has expired, or was requested by the
    /// same OS account on the same host (`DecisionRefused`). A denied job ends DENIED; an
    /// approved one waits APPROVED for its requester to run it.
    pub async fn decide_request(&self, decision: NewAudit) -> Result<AuditRow, StoreError> {
        let Some(id) = decision.job_id.clone() else {
            return Err(StoreError::NotFound {
                kind: "job",
                id: String::new(),
            });
        };
        self.append_with(decision, JobChange::Decide { id: &id })
            .await
    }

    /// Ends a request nobody decided in time EXPIRED, with the record `rec` (outcome EXPIRED).
    /// Refused (`JobFinished`, naming its state) when it was decided or ended meanwhile, or is
    /// not yet due.
    pub async fn expire_request(&self, rec: NewAudit) -> Result<AuditRow, StoreError> {
        if rec.outcome != ActionState::Expired {
            return Err(StoreError::WrongState {
                operation: "expire_request",
                state: rec.outcome,
            });
        }
        let Some(id) = rec.job_id.clone() else {
            return Err(StoreError::NotFound {
                kind: "job",
                id: String::new(),
            });
        };
        self.append_with(rec, JobChange::Expire { id: &id }).await
    }

    /// The state of the request `id`, for its requester, who waits on it: also its heartbeat,
    /// so that other consoles know the requester is still there.
    pub async fn request_status(&self, id: &str) -> Result<RequestStatus, StoreError> {
        let row: Option<(String, Option<String>, Option<i64>)> = on_pool!(self, pool => {
            async {
                sqlx::query("UPDATE jobs SET heartbeat_at = $2 WHERE id = $1 AND finished_at IS NULL")
                    .bind(id)
                    .bind(now_ms())
                    .execute(pool)
                    .await?;
                sqlx::query_as("SELECT state, decided_by, expires_at FROM jobs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
            .await
        })
        .map_err(|e| self.error(e))?;
        let Some((state, decided_by, expires_at)) = row else {
            return Err(StoreError::NotFound {
                kind: "job",
                id: id.to_owned(),
            });
        };
        let Some(expires_at) = expires_at else {
            return Err(StoreError::DecisionRefused {
                job_id: id.to_owned(),
                why: DecisionRefusal::NotARequest,
            });
        };
        Ok(RequestStatus {
            state,
            decided_by,
            expires_at: self.time(expires_at, || format!("the expiry of job {id}"))?,
        })
    }

    /// The two-person requests waiting for a decision that has not expired, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        let pending: Vec<Pending> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, action, target, operator, requested_by, started_at, expires_at \
                 FROM jobs WHERE state = 'REQUESTED' AND finished_at IS NULL \
                 AND requested_by IS NOT NULL AND expires_at > $1 \
                 ORDER BY started_at, id",
            )
            .bind(now_ms())
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.error(e))?;
        pending
            .into_iter()
            .map(|p| {
                let what = || format!("request {}", p.id);
                Ok(ApprovalRequest {
                    requested_at: self.time(p.started_at, what)?,
                    expires_at: self.time(p.expires_at, what)?,
                    job_id: p.id,
                    action: p.action,
                    target: p.target,
                    operator: p.operator,
                    requested_by: p.requested_by,
                })
            })
            .collect()
    }
}
