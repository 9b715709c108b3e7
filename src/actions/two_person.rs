//! The `two-person` confirmation: the action is requested, not run. Its job is opened
//! REQUESTED with the plan's intent record, its requester (OS account and host) and its expiry
//! ([`Engine::request`]); every console on the store lists it for another operator to approve
//! or deny ([`decide`], under the approver's own confirmation, such as their TOTP code), and
//! the requester's console, or `ondeck run --wait`, waits ([`Engine::await_decision`]) and runs
//! it once APPROVED ([`Engine::run_opened`]). The store refuses a decision by the requester,
//! on an expired request, and a second one.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::engine::{Engine, Finished, JobEvent, OpenJob, cancelled, refusal_for};
use super::{Decision, Plan, Refusal, Work, totp};
use crate::config::{ConfirmPolicy, Secret};
use crate::model::ApprovalRequest;
use crate::secret_text::SecretText;
use crate::store::{ActionState, JobOwner, NewAudit, StoreError, requester_key};

/// How often a requester looks at its request: the decision shows within this.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// How the wait for a decision ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// Another operator approved it: it is the requester's to run now.
    Approved { decided_by: String },
    /// It ended unrun: denied, expired, cancelled by its requester, or ended by another console.
    Ended(Finished),
}

impl Engine {
    /// Records the request for `plan`, a `two-person` action: its job, REQUESTED until
    /// another operator decides it or `plan.approval_expires` is over, and its intent record.
    pub async fn request(
        &self,
        plan: &Plan,
        events: &mpsc::UnboundedSender<JobEvent>,
    ) -> Result<OpenJob, Refusal> {
        if plan.confirm != ConfirmPolicy::TwoPerson {
            return Err(Refusal(format!(
                "`{}` is confirmed by `{}`, not by a second operator",
                plan.action,
                plan.confirm.name()
            )));
        }
        if let Work::Unseal(_) = plan.work {
            return Err(Refusal(format!(
                "`{}` is given its key shares one at a time, and cannot wait for an approval",
                plan.action
            )));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let expires = chrono::Duration::from_std(plan.approval_expires)
            .unwrap_or_else(|_| chrono::Duration::minutes(15));
        let expires_at = Utc::now() + expires;
        let mut intent = self.record(plan, ActionState::Requested, &request_id);
        intent.detail["approval"] = json!({
            "requested_by": requester_key(&self.identity),
            "expires_at": expires_at.to_rfc3339(),
        });
        let owner = JobOwner::this_process(&self.identity);
        let (job_id, record) = self
            .store
            .request_approval(intent, &owner, expires_at)
            .await
            .map_err(|error| refusal_for(&error))?;
        let open = OpenJob { job_id, request_id };
        self.opened(plan, &open, &record, events);
        Ok(open)
    }

    /// Waits for the request `open` of `plan` to be decided, looking every [`POLL_EVERY`]
    /// (which also tells other consoles this requester is alive). Past its expiry it is ended
    /// EXPIRED; `cancel` ends it CANCELLED.
    pub async fn await_decision(
        &self,
        plan: &Plan,
        open: &OpenJob,
        events: &mpsc::UnboundedSender<JobEvent>,
        cancel: &mut watch::Receiver<bool>,
    ) -> Waited {
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL_EVERY) => {}
                () = cancelled(cancel) => {
                    return Waited::Ended(self.close_unrun(
                        plan,
                        open,
                        events,
                        ActionState::Cancelled,
                        "cancelled while waiting for approval".to_owned(),
                    ).await);
                }
            }
            let status = match self.store.request_status(&open.job_id).await {
                Ok(status) => status,
                // The request stays as it is; its expiry is the store's clock's to tell.
                Err(StoreError::Unavailable { .. }) => continue,
                Err(error) => {
                    return Waited::Ended(self.ended(open, events, ActionState::Failed, {
                        Some(format!("the request could not be read: {error}"))
                    }));
                }
            };
            if status.state == ActionState::Approved.as_str() {
                let decided_by = status.decided_by.unwrap_or_default();
                let _ = events.send(JobEvent::State {
                    job_id: open.job_id.clone(),
                    state: ActionState::Approved,
                    progress: None,
                });
                return Waited::Approved { decided_by };
            }
            if status.state == ActionState::Denied.as_str() {
                let by = status.decided_by.unwrap_or_default();
                return Waited::Ended(self.ended(
                    open,
                    events,
                    ActionState::Denied,
                    Some(format!("denied by {by}")),
                ));
            }
            if status.is_overdue(Utc::now()) {
                let mut record = self.record(plan, ActionState::Expired, &open.request_id);
                record.job_id = Some(open.job_id.clone());
                let why = format!(
                    "nobody approved it within {}",
                    humantime::format_duration(plan.approval_expires)
                );
                record.error = Some(why.clone());
                match self.store.expire_request(record).await {
                    Ok(_) => {
                        return Waited::Ended(self.ended(
                            open,
                            events,
                            ActionState::Expired,
                            Some(why),
                        ));
                    }
                    // Decided a moment ago, or the store is away: the next look tells.
                    Err(error) => {
                        tracing::info!(job = open.job_id, %error, "request not expired");
                        continue;
                    }
                }
            }
            if status.state == ActionState::Requested.as_str() {
                continue;
            }
            // Ended by another console (a requester found gone, INTERRUPTED).
            let state = ended_state(&status.state);
            return Waited::Ended(self.ended(
                open,
                events,
                state,
                Some(format!("the request ended {}", status.state)),
            ));
        }
    }

    /// A request that ended unrun, as whoever watches is told.
    fn ended(
        &self,
        open: &OpenJob,
        events: &mpsc::UnboundedSender<JobEvent>,
        state: ActionState,
        error: Option<String>,
    ) -> Finished {
        let _ = events.send(JobEvent::Closed {
            job_id: open.job_id.clone(),
            state,
            result: error.clone(),
        });
        Finished {
            job_id: open.job_id.clone(),
            state,
            error,
        }
    }

    /// Requests `plan`, waits for the decision and runs it once approved: `ondeck run`'s way.
    /// `Err` means the request could not be recorded.
    pub async fn request_and_run(
        &self,
        plan: &Plan,
        events: &mpsc::UnboundedSender<JobEvent>,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<Finished, Refusal> {
        let open = self.request(plan, events).await?;
        match self.await_decision(plan, &open, events, &mut cancel).await {
            Waited::Approved { .. } => Ok(self.run_opened(plan, &open, events, cancel).await),
            Waited::Ended(finished) => Ok(finished),
        }
    }
}

/// The state a request read back as `state` ended in.
fn ended_state(state: &str) -> ActionState {
    [
        ActionState::Cancelled,
        ActionState::Interrupted,
        ActionState::Expired,
        ActionState::Succeeded,
        ActionState::Refused,
    ]
    .into_iter()
    .find(|s| s.as_str() == state)
    .unwrap_or(ActionState::Failed)
}

/// Approves or denies `request` as the operator `engine` acts for, confirmed by their own
/// policy: their TOTP `code` when they have a `secret`, else the dialog's Enter. Every refusal
/// (a wrong code, their own request, an expired or decided one) is audited. `Ok` says what was
/// done, `Err` why not, as the operator reads them.
pub async fn decide(
    engine: &Engine,
    request: &ApprovalRequest,
    decision: Decision,
    secret: Option<&Secret>,
    code: Option<&SecretText>,
) -> Result<String, String> {
    let outcome = match decision {
        Decision::Approve => ActionState::Approved,
        Decision::Deny => ActionState::Denied,
    };
    let mut record = NewAudit {
        identity: engine.identity.clone(),
        action: request.action.clone(),
        target: request.target.clone(),
        outcome,
        request_id: uuid::Uuid::new_v4().to_string(),
        job_id: Some(request.job_id.clone()),
        error: None,
        detail: json!({
            "decision": outcome.as_str(),
            "requested_by": request.requested_by,
            "decided_by": requester_key(&engine.identity),
        }),
    };
    let confirmed = match (secret, code) {
        (Some(_), Some(code)) => totp::check(engine, secret, code).await,
        (Some(_), None) => Err("your TOTP code is needed to decide a request".to_owned()),
        (None, _) => Ok(()),
    };
    let refused =
        |why: String| format!("refused: {why} — {} on {}", request.action, request.target);
    let why = match confirmed {
        Err(why) => why,
        Ok(()) => match engine.store.decide_request(record.clone()).await {
            Ok(_) => {
                return Ok(format!(
                    "{} {} on {} (requested by {})",
                    match decision {
                        Decision::Approve => "approved",
                        Decision::Deny => "denied",
                    },
                    request.action,
                    request.target,
                    request.requested_by
                ));
            }
            Err(StoreError::DecisionRefused { why, .. }) => why.to_string(),
            Err(error) => error.to_string(),
        },
    };
    record.outcome = ActionState::Refused;
    record.error = Some(why.clone());
    if let Err(error) = engine.store.append_audit(record).await {
        tracing::warn!(%error, job = request.job_id, "refused decision not recorded");
    }
    Err(refused(why))
}
