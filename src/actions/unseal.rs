//! `unseal`: OpenBao key shares, one at a time, to a node of an `openbao` source.
//!
//! An unseal is not one job but a share at a time, each possibly from another keyholder at
//! another console. So every share is a job of its own, written ahead like the engine's: the
//! intent record ("share k of t submitted by OPERATOR to NODE", never the share or a hash of
//! it) and the job row commit before the share is sent, the outcome record closes it.
//!
//! `PUT /v1/sys/unseal` takes no nonce, so the seal status is read around each share, and what
//! changed says what happened: the progress moved (counted), did not (not counted, a
//! duplicate), the attempt's nonce changed (another keyholder reset it, or the node restarted),
//! or the server answered 400 at the threshold (the set was wrong, and every share of it is
//! discarded). A reset is only ever sent when the operator asks for it and confirms.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::engine::Engine;
use super::{Plan, Refusal, Subject, Target, Work, row_target};
use crate::config::{ActionConfig, OpenBaoNode, UnsealAction, mask_url};
use crate::secret_text::SecretText;
use crate::sources::SourceError;
use crate::sources::fetch::{self, Redirects};
use crate::sources::openbao::SealStatus;
use crate::store::{ActionState, JobOwner};

/// How many characters of an attempt's nonce are shown: enough to tell two apart.
const NONCE_SHOWN: usize = 8;
/// How long one request to a node may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub const NOT_COUNTED: &str = "share not counted (duplicate?)";
pub const ATTEMPT_RESTARTED: &str = "another keyholder reset or restarted this attempt";
pub const DISCARDED: &str =
    "wrong share set: the server discarded every share, enter all of them again";

/// The node an unseal sends its shares to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealWork {
    pub node: String,
    /// Checked to be `https://`, or `http://` to a loopback address.
    pub url: String,
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &UnsealAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let (name, target) = match subject {
        Subject::Host(row) => (row.name.as_str(), row_target(row)),
        Subject::Named(name) => (
            name.trim(),
            Target {
                name: name.trim().to_owned(),
                row: None,
            },
        ),
        Subject::Session(_) | Subject::Alert(_) | Subject::Job(_) => {
            return Err(Refusal(format!(
                "`{}` unseals a node of the OpenBao source `{}`: pick one of its hosts",
                action.name, spec.source
            )));
        }
    };
    let node = find_node(action, spec, name)?;
    refuse_clear_text(&node.url)?;
    let url = mask_url(&node.url);
    let mut plan = Plan::new(
        action,
        target,
        Work::Unseal(UnsealWork {
            node: node.name.clone(),
            url: node.url.clone(),
        }),
    );
    plan.steps = vec![
        format!("GET {url}/v1/sys/seal-status"),
        format!("PUT {url}/v1/sys/unseal with each key share typed, one at a time"),
        format!("GET {url}/v1/sys/seal-status after each share: its new progress"),
    ];
    plan.changes = format!(
        "{} is unsealed once the threshold of key shares is in; each share is audited as \
         \"share k of t submitted by you\", never the share itself",
        node.name
    );
    plan.detail = serde_json::json!({ "node": node.name, "url": url });
    Ok(plan)
}

fn find_node<'a>(
    action: &ActionConfig,
    spec: &'a UnsealAction,
    name: &str,
) -> Result<&'a OpenBaoNode, Refusal> {
    spec.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
        let names: Vec<&str> = spec.nodes.iter().map(|n| n.name.as_str()).collect();
        Refusal(format!(
            "`{}` unseals nodes of the source `{}`, which has no node {name} (its nodes: {})",
            action.name,
            spec.source,
            names.join(", ")
        ))
    })
}

/// A key share travels encrypted, or not off this machine.
fn refuse_clear_text(url: &str) -> Result<(), Refusal> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Refusal(format!("{} is not a URL: {e}", mask_url(url))))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Refusal(format!(
            "a key share is sent only over https:// or to a loopback http:// address, and {} \
             is neither: it would cross the network in clear text",
            mask_url(url)
        ))),
    }
}

/// What happened to a submitted share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The progress moved on.
    Counted,
    /// It was the last share needed: the node is unsealed.
    Unsealed,
    /// The progress did not move: a share already given in this attempt.
    NotCounted,
    /// HTTP 400 at the threshold: the set was wrong, and the server dropped all of it.
    Discarded,
    /// The node was not sealed (any more); the share was not sent.
    AlreadyUnsealed,
    /// The node refused the share or did not answer; the message says why.
    Failed,
}

/// A share's fate, as the dialog and `ondeck run` tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub verdict: Verdict,
    /// The seal status after the share, when it could be read.
    pub status: Option<SealStatus>,
    /// The attempt the operator last saw is not the one the share went into.
    pub restarted: bool,
    /// The step as audited: `share 2 of 3 submitted by alice to bao`.
    pub step: String,
    /// Why it failed, for [`Verdict::Failed`].
    pub error: Option<String>,
}

impl Submitted {
    /// One line for the operator.
    pub fn message(&self) -> String {
        let progress = self
            .status
            .as_ref()
            .map(|s| format!(" (progress {}/{})", s.progress, s.t))
            .unwrap_or_default();
        let what = match self.verdict {
            Verdict::Counted => format!("{}{progress}", self.step),
            Verdict::Unsealed => format!("{}: unsealed", self.step),
            Verdict::NotCounted => format!("{NOT_COUNTED}{progress}"),
            Verdict::Discarded => format!("{DISCARDED}{progress}"),
            Verdict::AlreadyUnsealed => "the node is not sealed; the share was not sent".to_owned(),
            Verdict::Failed => format!(
                "the share was not taken: {}{progress}",
                self.error.as_deref().unwrap_or("unknown error")
            ),
        };
        if self.restarted {
            format!("{ATTEMPT_RESTARTED}; {what}")
        } else {
            what
        }
    }
}

/// A node's seal status in a line: `bao: sealed, 1/3 shares (of 5), version 2.7.2, attempt
/// 3f2a9c1b…`.
pub fn describe(node: &str, status: &SealStatus) -> String {
    format!("{node}: {}", seal_summary(status))
}

/// [`describe`] without the node's name.
pub fn seal_summary(status: &SealStatus) -> String {
    let state = if status.sealed { "sealed" } else { "unsealed" };
    let attempt = match status.nonce.get(..NONCE_SHOWN) {
        Some(prefix) => format!(", attempt {prefix}…"),
        None if status.nonce.is_empty() => String::new(),
        None => format!(", attempt {}", status.nonce),
    };
    let version = if status.version.is_empty() {
        String::new()
    } else {
        format!(", version {}", status.version)
    };
    format!(
        "{state}, {}/{} shares (of {}){version}{attempt}",
        status.progress, status.t, status.n
    )
}

/// What the console's unseal dialog asks of the runner; the HTTP calls happen off the UI task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsealRequest {
    /// Read the node's seal status now and every [`WATCH_EVERY`] while the dialog is open,
    /// reporting each change: other keyholders' progress shows live.
    Watch(Box<Plan>),
    /// The dialog closed.
    StopWatching,
    Submit {
        plan: Box<Plan>,
        share: SecretText,
        /// The attempt the dialog showed when the share was typed.
        seen_nonce: Option<String>,
    },
    /// The operator asked for a reset and confirmed it.
    Reset(Box<Plan>),
}

/// What the runner tells the dialog, by node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsealReply {
    Status {
        node: String,
        status: Result<SealStatus, String>,
    },
    Submitted {
        node: String,
        result: Result<Submitted, String>,
    },
    Reset {
        node: String,
        result: Result<SealStatus, String>,
    },
}

/// How often an open dialog reads its node's seal status.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Reads the node's seal status until dropped or `report` says no one listens (`false`),
/// reporting the first answer and each one that differs from the last.
pub async fn watch(work: UnsealWork, mut report: impl FnMut(Result<SealStatus, String>) -> bool) {
    let mut last = None;
    loop {
        let status = read_status(&work).await;
        if last.as_ref() != Some(&status) {
            if !report(status.clone()) {
                return;
            }
            last = Some(status);
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// A client that never follows a redirect: a share goes to the configured node or nowhere.
fn client() -> Result<reqwest::Client, Refusal> {
    fetch::client(REQUEST_TIMEOUT, &Default::default(), Redirects::Never)
        .map_err(|e| Refusal(format!("no HTTP client: {e}")))
}

/// `GET /v1/sys/seal-status` of the node.
pub async fn read_status(work: &UnsealWork) -> Result<SealStatus, String> {
    let client = client().map_err(|r| r.0)?;
    status_with(&client, work).await.map_err(|e| e.to_string())
}

async fn status_with(
    client: &reqwest::Client,
    work: &UnsealWork,
) -> Result<SealStatus, SourceError> {
    let url = format!("{}/v1/sys/seal-status", work.url);
    fetch::get(client, &url, &Default::default())
        .await?
        .require_success(&url)?
        .json::<SealStatus>("OpenBao seal status")
}

#[derive(Serialize)]
struct UnsealBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reset: bool,
}

/// Sends one share, written ahead and audited. `seen_nonce` is the attempt the operator last
/// saw, to tell them when the share went into another one. `Err` means nothing was sent.
pub async fn submit(
    engine: &Engine,
    plan: &Plan,
    share: SecretText,
    seen_nonce: Option<&str>,
) -> Result<Submitted, Refusal> {
    let work = unseal_work(plan)?;
    let client = client()?;
    let before = status_with(&client, work).await.map_err(|e| {
        Refusal(format!(
            "the seal status of {} could not be read ({e}); the share was not sent",
            work.node
        ))
    })?;
    let restarted = seen_nonce.is_some_and(|seen| !seen.is_empty() && seen != before.nonce);
    let step = format!(
        "share {} of {} submitted by {} to {}",
        before.progress + 1,
        before.t,
        engine.identity.os_user,
        work.node
    );
    if !before.sealed {
        return Ok(Submitted {
            verdict: Verdict::AlreadyUnsealed,
            status: Some(before),
            restarted,
            step,
            error: None,
        });
    }
    let body = UnsealBody {
        key: Some(share.expose()),
        reset: false,
    };
    let opened = written_ahead(engine, plan, &step, &client, body).await?;
    let after = status_with(&client, work).await.ok();
    let at_threshold = before.progress + 1 >= before.t;
    let (verdict, error) = match (&opened.sent, &after) {
        (Ok(()), Some(after)) if !after.sealed => (Verdict::Unsealed, None),
        (Ok(()), Some(after))
            if after.nonce == before.nonce && after.progress > before.progress =>
        {
            (Verdict::Counted, None)
        }
        (Ok(()), Some(after)) if after.nonce == before.nonce => (Verdict::NotCounted, None),
        // Someone reset the attempt between the two reads; whether this share is in the new
        // one shows in its progress.
        (Ok(()), Some(_)) => (Verdict::Counted, None),
        (Ok(()), None) => (
            Verdict::Failed,
            Some("the seal status could not be read after the share".to_owned()),
        ),
        (Err(Rejected { status: 400, .. }), _) if at_threshold => (Verdict::Discarded, None),
        (Err(rejected), _) => (Verdict::Failed, Some(rejected.reason.clone())),
    };
    // The first share of an attempt starts it with a new nonce; a later one must not see it
    // change.
    let restarted = restarted
        || (before.progress > 0
            && after
                .as_ref()
                .is_some_and(|a| a.sealed && a.nonce != before.nonce));
    let submitted = Submitted {
        verdict,
        status: after,
        restarted,
        step,
        error,
    };
    close(engine, plan, &opened, &submitted).await;
    Ok(submitted)
}

/// Throws away every share of the node's current attempt; only on the operator's confirmed
/// request.
pub async fn reset(engine: &Engine, plan: &Plan) -> Result<SealStatus, Refusal> {
    let work = unseal_work(plan)?;
    let client = client()?;
    let step = format!(
        "unseal attempt of {} reset by {}",
        work.node, engine.identity.os_user
    );
    let body = UnsealBody {
        key: None,
        reset: true,
    };
    let opened = written_ahead(engine, plan, &step, &client, body).await?;
    let after = status_with(&client, work).await;
    let submitted = Submitted {
        verdict: if opened.sent.is_ok() && after.is_ok() {
            Verdict::Counted
        } else {
            Verdict::Failed
        },
        status: after.as_ref().ok().cloned(),
        restarted: false,
        error: match (&opened.sent, &after) {
            (Err(rejected), _) => Some(rejected.reason.clone()),
            (Ok(()), Err(e)) => Some(e.to_string()),
            (Ok(()), Ok(_)) => None,
        },
        step,
    };
    close(engine, plan, &opened, &submitted).await;
    match (opened.sent, after) {
        (Ok(()), Ok(after)) => Ok(after),
        (Err(rejected), _) => Err(Refusal(format!("the reset failed: {}", rejected.reason))),
        (Ok(()), Err(e)) => Err(Refusal(format!(
            "the reset was sent, but the seal status could not be read after it: {e}"
        ))),
    }
}

fn unseal_work(plan: &Plan) -> Result<&UnsealWork, Refusal> {
    match &plan.work {
        Work::Unseal(work) => Ok(work),
        _ => Err(Refusal(format!("`{}` is not an unseal", plan.action))),
    }
}

/// A request the node did not take.
struct Rejected {
    status: u16,
    reason: String,
}

/// A step's job, opened before its request was sent.
struct Opened {
    job_id: String,
    request_id: String,
    sent: Result<(), Rejected>,
}

/// Records the step's intent and opens its job, then sends `body`. `Err` is a refusal: the
/// intent could not be recorded and nothing was sent.
async fn written_ahead(
    engine: &Engine,
    plan: &Plan,
    step: &str,
    client: &reqwest::Client,
    body: UnsealBody<'_>,
) -> Result<Opened, Refusal> {
    let work = unseal_work(plan)?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut intent = engine.record(plan, ActionState::Requested, &request_id);
    intent.detail =
        serde_json::json!({ "kind": plan.kind.name(), "step": step, "node": work.node });
    let (job_id, _) = engine
        .store
        .begin_action(intent, &JobOwner::this_process(&engine.identity))
        .await
        .map_err(|error| super::engine::refusal_for(&error))?;
    if let Err(error) = engine
        .store
        .append_job_log(&job_id, &[step.to_owned()])
        .await
    {
        tracing::warn!(job = job_id, %error, "job log line not stored");
    }
    let url = format!("{}/v1/sys/unseal", work.url);
    // The body is the one copy of the share outside `SecretText`: reqwest owns it, sends it
    // and drops it.
    let sent = match serde_json::to_vec(&body) {
        Err(error) => Err(Rejected {
            status: 0,
            reason: error.to_string(),
        }),
        Ok(bytes) => {
            let request = client
                .put(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
            match fetch::send(request, &url).await {
                Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
                Ok(answer) => Err(Rejected {
                    status: answer.status,
                    reason: format!("HTTP {}: {}", answer.status, openbao_errors(&answer)),
                }),
                Err(error) => Err(Rejected {
                    status: 0,
                    reason: error.to_string(),
                }),
            }
        }
    };
    Ok(Opened {
        job_id,
        request_id,
        sent,
    })
}

/// OpenBao's `{"errors":[…]}`, or the start of whatever else it answered.
fn openbao_errors(answer: &fetch::Fetched) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    match serde_json::from_slice::<Errors>(&answer.body) {
        Ok(errors) if !errors.errors.is_empty() => errors.errors.join("; "),
        _ => answer.body_snippet(),
    }
}

/// The step's outcome record, closing its job: SUCCEEDED when the share counted (or the reset
/// went through), FAILED with what the operator was told otherwise.
async fn close(engine: &Engine, plan: &Plan, opened: &Opened, submitted: &Submitted) {
    let succeeded = matches!(submitted.verdict, Verdict::Counted | Verdict::Unsealed);
    let mut outcome = engine.record(
        plan,
        if succeeded {
            ActionState::Succeeded
        } else {
            ActionState::Failed
        },
        &opened.request_id,
    );
    outcome.job_id = Some(opened.job_id.clone());
    outcome.error = (!succeeded).then(|| submitted.message());
    outcome.detail = serde_json::json!({
        "kind": plan.kind.name(),
        "step": submitted.step,
        "sealed": submitted.status.as_ref().map(|s| s.sealed),
        "progress": submitted.status.as_ref().map(|s| s.progress),
        "t": submitted.status.as_ref().map(|s| s.t),
    });
    if let Err(error) = engine.store.finish_action(outcome).await {
        tracing::error!(job = opened.job_id, %error, "the outcome of the unseal step could not be recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_goes_over_https_or_to_this_machine_only() {
        for url in [
            "https://bao.example.com:8200",
            "http://127.0.0.1:8200",
            "http://127.0.0.53:8200",
            "http://[::1]:8200",
            "http://localhost:8200",
        ] {
            assert_eq!(refuse_clear_text(url), Ok(()), "{url}");
        }
        for url in [
            "http://bao.example.com:8200",
            "http://10.0.0.5:8200",
            "http://localhost.example.com",
            "ftp://127.0.0.1",
        ] {
            let refusal = refuse_clear_text(url).unwrap_err();
            assert!(refusal.0.contains("clear text"), "{url}: {refusal}");
        }
    }

    #[test]
    fn the_status_line_shows_the_attempt_by_its_first_characters() {
        let status = SealStatus {
            seal_type: "shamir".into(),
            initialized: true,
            sealed: true,
            t: 3,
            n: 5,
            progress: 1,
            nonce: "3f2a9c1b-77e0-4a4e-9d55-0c5a3c1f9e21".into(),
            version: "2.7.2".into(),
            cluster_name: None,
            storage_type: None,
        };
        assert_eq!(
            describe("bao", &status),
            "bao: sealed, 1/3 shares (of 5), version 2.7.2, attempt 3f2a9c1b…"
        );
    }
}
