//! The console's side of running actions: carries out the action effects `update` returns,
//! runs each job as a task of its own that reports back to the loop as messages, cancels them,
//! and — when the console leaves — waits for them, so that no job is abandoned half-recorded.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::backups::{Depth, list_selected};
use super::engine::{Engine, JobEvent};
use super::two_person::{self, Waited};
use super::unseal::{self, UnsealReply, UnsealRequest};
use super::{BackupChoice, Plan, Work, totp};
use crate::config::{Config, ConfirmPolicy, Secret, SourceConfig};
use crate::identity::OperatorIdentity;
use crate::msg::{Effect, Msg};
use crate::secret_text::SecretText;
use crate::store::{ActionState, Store};

/// Lines of a job's log read from the store at once, for the log view's paging.
const JOB_LOG_PAGE: usize = 500;

/// What the console shows when an action is asked for while the store cannot record it.
pub const STORE_UNAVAILABLE: &str = "store unavailable — actions refused";

/// One job this console runs.
struct Running {
    /// Set once the job's intent is recorded and it has an id.
    job_id: Arc<OnceLock<String>>,
    cancel: watch::Sender<bool>,
    /// For a two-person request: where the go (or why not) for its approved run is sent.
    go: Option<oneshot::Sender<Result<(), String>>>,
    task: JoinHandle<()>,
}

pub struct ActionRunner {
    /// The store as the console's store keeper last opened it; `None` while it is unavailable.
    store: watch::Receiver<Option<Store>>,
    identity: OperatorIdentity,
    sources: Arc<[SourceConfig]>,
    /// The operator's `[[operator]] totp_secret`, for actions confirmed by `totp`.
    totp_secret: Option<Secret>,
    tx: mpsc::Sender<Msg>,
    running: Vec<Running>,
    /// The open unseal dialog's watch on its node; aborted when it closes.
    unseal_watch: Option<JoinHandle<()>>,
}

impl ActionRunner {
    pub fn new(
        store: watch::Receiver<Option<Store>>,
        identity: OperatorIdentity,
        sources: Arc<[SourceConfig]>,
        totp_secret: Option<Secret>,
        tx: mpsc::Sender<Msg>,
    ) -> ActionRunner {
        ActionRunner {
            store,
            identity,
            sources,
            totp_secret,
            tx,
            running: Vec::new(),
            unseal_watch: None,
        }
    }

    /// A reloaded configuration: jobs started from now on reach its sources and check codes
    /// against its `[[operator]] totp_secret`; running ones keep what they started with.
    pub fn reconfigure(&mut self, config: &Config) {
        self.sources = config.sources.clone().into();
        self.totp_secret = config.totp_secret(&self.identity.os_user).cloned();
    }

    /// Carries out one effect of `update` (all but `Quit`, which is the loop's).
    pub fn apply(&mut self, effect: Effect) {
        self.running.retain(|job| !job.task.is_finished());
        match effect {
            // The console's loop answers these itself.
            Effect::Quit | Effect::Bell | Effect::LoadConfig => {}
            Effect::StartAction(plan) => self.start(*plan, None),
            Effect::StartActionWithCode { plan, code } => self.start(*plan, Some(code)),
            Effect::CancelJob { job_id } => {
                for job in &self.running {
                    if job.job_id.get() == Some(&job_id) {
                        let _ = job.cancel.send(true);
                    }
                }
            }
            Effect::RecordRefusal { plan, reason } => {
                let Some(engine) = self.engine() else {
                    // Nothing can be recorded without a store; the operator saw the refusal.
                    return;
                };
                tokio::spawn(async move {
                    if let Err(error) = engine.record_refusal(&plan, &reason).await {
                        tracing::warn!(%error, action = plan.action, "refusal not recorded");
                    }
                });
            }
            Effect::Unseal(request) => self.unseal(request),
            Effect::DecideRequest {
                request,
                decision,
                code,
            } => {
                let tx = self.tx.clone();
                let Some(engine) = self.engine() else {
                    let _ = tx.try_send(Msg::RequestDecided(Err(STORE_UNAVAILABLE.to_owned())));
                    return;
                };
                let secret = self.totp_secret.clone();
                tokio::spawn(async move {
                    let result = two_person::decide(
                        &engine,
                        &request,
                        decision,
                        secret.as_ref(),
                        code.as_ref(),
                    )
                    .await;
                    let _ = tx.send(Msg::RequestDecided(result)).await;
                });
            }
            Effect::ProceedApproved { job_id, go } => {
                for job in &mut self.running {
                    if job.job_id.get() == Some(&job_id)
                        && let Some(sender) = job.go.take()
                    {
                        let _ = sender.send(go);
                        break;
                    }
                }
            }
            Effect::LoadJobLog { job_id, before } => {
                let Some(store) = self.store.borrow().clone() else {
                    return;
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    match store.job_log(&job_id, before, JOB_LOG_PAGE).await {
                        Ok(lines) => {
                            let _ = tx
                                .send(Msg::JobLogLoaded {
                                    job_id,
                                    before,
                                    lines,
                                })
                                .await;
                        }
                        Err(error) => tracing::warn!(%error, job_id, "job log not read"),
                    }
                });
            }
            Effect::LoadAuditPage { before } => {
                let tx = self.tx.clone();
                let store = self.store.borrow().clone();
                tokio::spawn(async move {
                    let page = match store {
                        Some(store) => store
                            .audit_before(before, crate::state::AUDIT_PAGE)
                            .await
                            .map_err(|error| error.to_string()),
                        None => Err("the store is not open".to_owned()),
                    };
                    let _ = tx.send(Msg::AuditPageLoaded { before, page }).await;
                });
            }
            Effect::ListBackups { action, choice } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let BackupChoice { dir, selection } = choice;
                    let listing = {
                        let dir = dir.clone();
                        tokio::task::spawn_blocking(move || {
                            list_selected(&dir, &selection, Depth::Size)
                                .map_err(|error| error.to_string())
                        })
                        .await
                        .unwrap_or_else(|error| Err(format!("the listing stopped: {error}")))
                    };
                    let _ = tx
                        .send(Msg::BackupsListed {
                            action,
                            dir,
                            listing,
                        })
                        .await;
                });
            }
        }
    }

    /// The unseal dialog's requests, each a task of its own that answers with a message.
    fn unseal(&mut self, request: UnsealRequest) {
        let tx = self.tx.clone();
        match request {
            UnsealRequest::Watch(plan) => {
                self.stop_unseal_watch();
                let Work::Unseal(work) = plan.work else {
                    return;
                };
                self.unseal_watch = Some(tokio::spawn(async move {
                    let node = work.node.clone();
                    unseal::watch(work, move |status| {
                        let reply = UnsealReply::Status {
                            node: node.clone(),
                            status,
                        };
                        !matches!(
                            tx.try_send(Msg::Unseal(reply)),
                            Err(mpsc::error::TrySendError::Closed(_))
                        )
                    })
                    .await;
                }));
            }
            UnsealRequest::StopWatching => self.stop_unseal_watch(),
            UnsealRequest::Submit {
                plan,
                share,
                seen_nonce,
            } => {
                let engine = self.engine();
                tokio::spawn(async move {
                    let node = unseal_node(&plan);
                    let result = match engine {
                        None => Err(STORE_UNAVAILABLE.to_owned()),
                        Some(engine) => {
                            unseal::submit(&engine, &plan, share, seen_nonce.as_deref())
                                .await
                                .map_err(|refusal| refusal.0)
                        }
                    };
                    let _ = tx
                        .send(Msg::Unseal(UnsealReply::Submitted { node, result }))
                        .await;
                });
            }
            UnsealRequest::Reset(plan) => {
                let engine = self.engine();
                tokio::spawn(async move {
                    let node = unseal_node(&plan);
                    let result = match engine {
                        None => Err(STORE_UNAVAILABLE.to_owned()),
                        Some(engine) => unseal::reset(&engine, &plan)
                            .await
                            .map_err(|refusal| refusal.0),
                    };
                    let _ = tx
                        .send(Msg::Unseal(UnsealReply::Reset { node, result }))
                        .await;
                });
            }
        }
    }

    fn stop_unseal_watch(&mut self) {
        if let Some(watch) = self.unseal_watch.take() {
            watch.abort();
        }
    }

    fn engine(&self) -> Option<Engine> {
        let store = self.store.borrow().clone()?;
        Some(Engine {
            store,
            identity: self.identity.clone(),
            sources: Arc::clone(&self.sources),
        })
    }

    /// Runs `plan` as a job of its own; with a TOTP `code`, once the store has taken it, or
    /// else it is refused and audited as such.
    fn start(&mut self, plan: Plan, code: Option<SecretText>) {
        let (action, target) = (plan.action.clone(), plan.target.ledger_name());
        let refused = move |reason: String| Msg::ActionRefused {
            action,
            target,
            reason,
        };
        let Some(engine) = self.engine() else {
            let _ = self.tx.try_send(refused(STORE_UNAVAILABLE.to_owned()));
            return;
        };
        let (cancel, cancelled) = watch::channel(false);
        let job_id = Arc::new(OnceLock::new());
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let tx = self.tx.clone();
        let known_id = Arc::clone(&job_id);
        // Events are passed on by a task of their own, so a loop that is busy (or gone, while
        // the console waits for its jobs on the way out) never holds up the job itself.
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let JobEvent::Opened(row) = &event {
                    let _ = known_id.set(row.id.clone());
                }
                if tx.send(Msg::Job(event)).await.is_err() {
                    return;
                }
            }
        });
        let tx = self.tx.clone();
        if plan.confirm == ConfirmPolicy::TwoPerson {
            let (go, gone) = oneshot::channel();
            let task = tokio::spawn(requested(engine, plan, events_tx, cancelled, gone, tx));
            self.running.push(Running {
                job_id,
                cancel,
                go: Some(go),
                task,
            });
            return;
        }
        let totp_secret = self.totp_secret.clone();
        let task = tokio::spawn(async move {
            if let Some(code) = code
                && let Err(why) = totp::check(&engine, totp_secret.as_ref(), &code).await
            {
                if let Err(error) = engine.record_refusal(&plan, &why).await {
                    tracing::warn!(%error, action = plan.action, "refusal not recorded");
                }
                let _ = tx.send(refused(why)).await;
                return;
            }
            if let Err(refusal) = engine.run(&plan, &events_tx, cancelled).await {
                let _ = tx.send(refused(refusal.0)).await;
            }
        });
        self.running.push(Running {
            job_id,
            cancel,
            go: None,
            task,
        });
    }

    /// How many jobs are still running.
    pub fn running(&mut self) -> usize {
        self.running.retain(|job| !job.task.is_finished());
        self.running.len()
    }

    /// Withdraws the two-person requests still waiting for their approval: they end
    /// CANCELLED. Approved ones that run already go on.
    pub fn withdraw_requests(&self) {
        for job in &self.running {
            if job.go.is_some() {
                let _ = job.cancel.send(true);
            }
        }
    }

    /// Cancels every running job at its next safe point.
    pub fn cancel_all(&self) {
        for job in &self.running {
            let _ = job.cancel.send(true);
        }
    }

    /// Waits until every job has ended and recorded its outcome. Dropping the wait (for a
    /// signal) leaves every job in place, to be cancelled or waited for again.
    pub async fn finished(&mut self) {
        for job in &mut self.running {
            if !job.task.is_finished() {
                let _ = (&mut job.task).await;
            }
        }
    }
}

/// A two-person `plan`: requested, waited on, and once approved — and the console's check of
/// its target said go — run; or ended unrun.
async fn requested(
    engine: Engine,
    plan: Plan,
    events: mpsc::UnboundedSender<super::engine::JobEvent>,
    mut cancel: watch::Receiver<bool>,
    go: oneshot::Receiver<Result<(), String>>,
    tx: mpsc::Sender<Msg>,
) {
    let open = match engine.request(&plan, &events).await {
        Ok(open) => open,
        Err(refusal) => {
            let _ = tx
                .send(Msg::ActionRefused {
                    action: plan.action.clone(),
                    target: plan.target.ledger_name(),
                    reason: refusal.0,
                })
                .await;
            return;
        }
    };
    let decided_by = match engine
        .await_decision(&plan, &open, &events, &mut cancel)
        .await
    {
        Waited::Approved { decided_by } => decided_by,
        Waited::Ended(_) => return,
    };
    let asked = tx
        .send(Msg::ApprovalGranted {
            job_id: open.job_id.clone(),
            decided_by,
            plan: Box::new(plan.clone()),
        })
        .await;
    let closed = "the console closed before the approved job could start";
    let (state, why) = if asked.is_err() {
        (ActionState::Cancelled, closed.to_owned())
    } else {
        tokio::select! {
            answer = go => match answer {
                Ok(Ok(())) => {
                    engine.run_opened(&plan, &open, &events, cancel).await;
                    return;
                }
                Ok(Err(why)) => (ActionState::Refused, why),
                Err(_) => (ActionState::Cancelled, closed.to_owned()),
            },
            () = super::engine::cancelled(&mut cancel) => {
                (ActionState::Cancelled, "cancelled after it was approved".to_owned())
            }
        }
    };
    engine.close_unrun(&plan, &open, &events, state, why).await;
}

/// The node an unseal plan is for, as the dialog's replies name it.
fn unseal_node(plan: &Plan) -> String {
    match &plan.work {
        Work::Unseal(work) => work.node.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &tempfile::TempDir, text: &str) -> Config {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write the configuration");
        crate::config::load(Some(&path)).expect("a valid configuration")
    }

    #[tokio::test]
    async fn a_reload_gives_later_jobs_its_sources_and_totp_secret() {
        let identity = OperatorIdentity::current("alice");
        let dir = tempfile::tempdir().expect("a temp dir");
        let before = config(&dir, "");
        let (_store_tx, store) = watch::channel(None);
        let (tx, _rx) = mpsc::channel(1);
        let mut runner = ActionRunner::new(
            store,
            identity.clone(),
            before.sources.clone().into(),
            before.totp_secret(&identity.os_user).cloned(),
            tx,
        );
        let after = config(
            &dir,
            &format!(
                r#"
[[source]]
name = "web"
kind = "http"
url = "http://127.0.0.1:9/"

[[operator]]
name = "{}"
totp_secret = "env:ONDECK_TOTP"
"#,
                identity.os_user
            ),
        );
        runner.reconfigure(&after);
        assert_eq!(&*runner.sources, after.sources.as_slice());
        assert_eq!(
            runner.totp_secret,
            Some(Secret::Env("ONDECK_TOTP".to_owned()))
        );
    }

    #[tokio::test]
    async fn a_console_that_leaves_withdraws_its_waiting_requests() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("ondeck.db").display());
        let store = Store::open(&url).await.expect("the store");
        let identity = OperatorIdentity::current("alice");
        let (_store_tx, store_rx) = watch::channel(Some(store.clone()));
        let (tx, mut rx) = mpsc::channel(64);
        let mut runner = ActionRunner::new(store_rx, identity, Vec::new().into(), None, tx);
        let config = config(
            &dir,
            "[[action]]\nname = \"restart\"\nkind = \"command\"\nargv = [\"true\"]\n\
             confirm = \"two-person\"\n",
        );
        let plan =
            crate::actions::plan(&config.actions[0], crate::actions::Subject::Named("api-1"))
                .expect("a plan");
        runner.apply(Effect::StartAction(Box::new(plan)));
        let opened = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("the request was recorded");
        assert!(
            matches!(
                opened,
                Some(Msg::Job(super::super::engine::JobEvent::Opened(_)))
            ),
            "{opened:?}"
        );
        assert_eq!(store.pending_approvals().await.expect("read").len(), 1);
        runner.withdraw_requests();
        tokio::time::timeout(std::time::Duration::from_secs(10), runner.finished())
            .await
            .expect("the request ended");
        let jobs = store.jobs(10).await.expect("read");
        assert_eq!(jobs[0].state, "CANCELLED");
        assert!(store.pending_approvals().await.expect("read").is_empty());
    }
}
