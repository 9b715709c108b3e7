//! The console's side of running actions: carries out the action effects `update` returns,
//! runs each job as a task of its own that reports back to the loop as messages, cancels them,
//! and — when the console leaves — waits for them, so that no job is abandoned half-recorded.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::backups::{Depth, list_selected};
use super::engine::{Engine, JobEvent};
use super::{BackupChoice, Plan};
use crate::config::SourceConfig;
use crate::identity::OperatorIdentity;
use crate::msg::{Effect, Msg};
use crate::store::Store;

/// Lines of a job's log read from the store at once, for the log view's paging.
const JOB_LOG_PAGE: usize = 500;

/// What the console shows when an action is asked for while the store cannot record it.
pub const STORE_UNAVAILABLE: &str = "store unavailable — actions refused";

/// One job this console runs.
struct Running {
    /// Set once the job's intent is recorded and it has an id.
    job_id: Arc<OnceLock<String>>,
    cancel: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub struct ActionRunner {
    /// The store as the console's store keeper last opened it; `None` while it is unavailable.
    store: watch::Receiver<Option<Store>>,
    identity: OperatorIdentity,
    sources: Arc<[SourceConfig]>,
    tx: mpsc::Sender<Msg>,
    running: Vec<Running>,
}

impl ActionRunner {
    pub fn new(
        store: watch::Receiver<Option<Store>>,
        identity: OperatorIdentity,
        sources: Arc<[SourceConfig]>,
        tx: mpsc::Sender<Msg>,
    ) -> ActionRunner {
        ActionRunner {
            store,
            identity,
            sources,
            tx,
            running: Vec::new(),
        }
    }

    /// Carries out one effect of `update` (all but `Quit`, which is the loop's).
    pub fn apply(&mut self, effect: Effect) {
        self.running.retain(|job| !job.task.is_finished());
        match effect {
            // The console's loop answers these itself.
            Effect::Quit | Effect::Bell | Effect::LoadConfig => {}
            Effect::StartAction(plan) => self.start(*plan),
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

    fn engine(&self) -> Option<Engine> {
        let store = self.store.borrow().clone()?;
        Some(Engine {
            store,
            identity: self.identity.clone(),
            sources: Arc::clone(&self.sources),
        })
    }

    fn start(&mut self, plan: Plan) {
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
        let task = tokio::spawn(async move {
            if let Err(refusal) = engine.run(&plan, &events_tx, cancelled).await {
                let _ = tx.send(refused(refusal.0)).await;
            }
        });
        self.running.push(Running {
            job_id,
            cancel,
            task,
        });
    }

    /// How many jobs are still running.
    pub fn running(&mut self) -> usize {
        self.running.retain(|job| !job.task.is_finished());
        self.running.len()
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
