//! `silence`: an Alertmanager silence for the selected alert — its labels as equality
//! matchers, the operator as `createdBy`, the configured duration and the operator's comment —
//! or, on an alert that is silenced already, its silences expired.
//!
//! Alertmanager's API has no idempotency key, so the request id goes into the comment: when a
//! `POST /api/v2/silences` gets no answer (a timeout, a dropped connection) the silence may
//! exist all the same, and it is looked up by that id in `GET /api/v2/silences` before the
//! POST is tried again. A retry therefore never makes a second silence.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::engine::{JobContext, Outcome};
use super::{Plan, Refusal, Subject, Target, Work, wrong_row};
use crate::config::{ActionConfig, SilenceAction, SourceSpec, mask_url};
use crate::row_identity::Identified;
use crate::sources::alertmanager::ALERTMANAGER_UNREACHABLE;
use crate::sources::fetch;

/// How many times a silence is asked for; between two, a lookup by request id.
const ATTEMPTS: u32 = 3;
/// The pause before asking again after an instance gave no answer.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The comment an operator who typed none leaves: Alertmanager wants one.
pub const DEFAULT_COMMENT: &str = "silenced from ondeck";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceWork {
    /// The `alertmanager` source whose instances are asked.
    pub source: String,
    pub change: SilenceChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SilenceChange {
    /// A new silence matching exactly these labels.
    Create {
        labels: BTreeMap<String, String>,
        duration: Duration,
        /// What the operator typed in the dialog (or the configured comment); the request id
        /// is added when it is sent.
        comment: String,
    },
    /// The silences that silence the alert with this fingerprint, as Alertmanager lists them
    /// when the job runs.
    Expire { fingerprint: String },
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &SilenceAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let Subject::Alert(alert) = subject else {
        return Err(wrong_row(action, &spec.source, "the alerts"));
    };
    if alert.name == ALERTMANAGER_UNREACHABLE || alert.labels.is_empty() {
        return Err(Refusal(format!(
            "{} is raised by ondeck, not by Alertmanager: there is nothing there to silence",
            alert.name
        )));
    }
    let target = Target {
        name: alert.name.clone(),
        row: Some(alert.identity()),
    };
    let matchers = matchers_text(&alert.labels);
    if alert.silenced {
        let work = Work::Silence(SilenceWork {
            source: spec.source.clone(),
            change: SilenceChange::Expire {
                fingerprint: alert.fingerprint.clone(),
            },
        });
        return Ok(Plan {
            steps: vec![
                format!(
                    "GET /api/v2/alerts of `{}`: the silences of this alert ({})",
                    spec.source, alert.fingerprint
                ),
                "DELETE /api/v2/silence/{id} for each of them".to_owned(),
            ],
            changes: format!(
                "{} on {} is no longer silenced: it notifies again",
                alert.name, alert.target
            ),
            detail: json!({ "expire": alert.fingerprint, "labels": alert.labels }),
            ..Plan::new(action, target, work)
        });
    }
    let work = Work::Silence(SilenceWork {
        source: spec.source.clone(),
        change: SilenceChange::Create {
            labels: alert.labels.clone(),
            duration: spec.duration,
            comment: spec
                .comment
                .clone()
                .unwrap_or_else(|| DEFAULT_COMMENT.to_owned()),
        },
    });
    let duration = humantime::format_duration(spec.duration);
    Ok(Plan {
        steps: vec![
            format!(
                "POST /api/v2/silences to `{}`: {matchers}, for {duration}, created by the \
                 operator, with the comment typed below and the request id",
                spec.source
            ),
            "if no answer comes, look the silence up by its request id before asking again"
                .to_owned(),
        ],
        changes: format!(
            "{} on {} and every alert with the same labels stop notifying for {duration}",
            alert.name, alert.target
        ),
        detail: json!({ "labels": alert.labels, "duration": duration.to_string() }),
        ..Plan::new(action, target, work)
    })
}

/// Whether `plan` asks for a comment, which the confirmation dialog takes.
pub fn comment(plan: &Plan) -> Option<&str> {
    match &plan.work {
        Work::Silence(SilenceWork {
            change: SilenceChange::Create { comment, .. },
            ..
        }) => Some(comment),
        _ => None,
    }
}

/// The comment the operator typed, into the plan they confirmed.
pub fn set_comment(plan: &mut Plan, typed: &str) {
    if let Work::Silence(SilenceWork {
        change: SilenceChange::Create { comment, .. },
        ..
    }) = &mut plan.work
    {
        typed.trim().clone_into(comment);
    }
}

/// `alertname="HighLatency", instance="web-01"`, as the dialog shows the matchers.
fn matchers_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Alertmanager's `postableSilence`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence<'a> {
    matchers: Vec<Matcher<'a>>,
    starts_at: String,
    ends_at: String,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Matcher<'a> {
    name: &'a str,
    value: &'a str,
    is_regex: bool,
    is_equal: bool,
}

/// The answer to a created silence; Alertmanager spells it `silenceID`.
#[derive(Debug, Deserialize)]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// An element of `GET /api/v2/silences`, as far as a lookup needs it.
#[derive(Debug, Deserialize)]
struct ListedSilence {
    id: String,
    #[serde(default)]
    comment: String,
    status: ListedStatus,
}

#[derive(Debug, Deserialize)]
struct ListedStatus {
    state: String,
}

/// An element of `GET /api/v2/alerts`, as far as an expiry needs it.
#[derive(Debug, Deserialize)]
struct ListedAlert {
    fingerprint: String,
    status: ListedAlertStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedAlertStatus {
    #[serde(default)]
    silenced_by: Vec<String>,
}

/// The instances of the source and a client for them.
struct Instances {
    urls: Vec<String>,
    client: reqwest::Client,
}

impl Instances {
    fn of(work: &SilenceWork, context: &JobContext<'_>) -> Result<Instances, String> {
        let source = context.source(&work.source)?;
        let SourceSpec::Alertmanager(spec) = &source.spec else {
            return Err(format!(
                "the source `{}` is no longer an Alertmanager",
                work.source
            ));
        };
        let urls: Vec<String> = spec
            .urls
            .iter()
            .map(|url| url.trim_end_matches('/').to_owned())
            .collect();
        let client = fetch::client(
            source.timeout,
            &Default::default(),
            fetch::Redirects::for_urls(urls.iter().map(String::as_str)),
        )
        .map_err(|e| e.to_string())?;
        Ok(Instances { urls, client })
    }
}

/// Runs the silence's work; see the module's documentation.
pub(super) async fn execute(work: &SilenceWork, context: &JobContext<'_>) -> Outcome {
    let instances = match Instances::of(work, context) {
        Ok(instances) => instances,
        Err(error) => return Outcome::failed(error),
    };
    match &work.change {
        SilenceChange::Create {
            labels,
            duration,
            comment,
        } => create(&instances, labels, *duration, comment, context).await,
        SilenceChange::Expire { fingerprint } => expire(&instances, fingerprint, context).await,
    }
}

/// Creates the silence on the first instance that answers (a cluster shares it with the
/// others), looking it up by request id after every unanswered request.
async fn create(
    instances: &Instances,
    labels: &BTreeMap<String, String>,
    duration: Duration,
    comment: &str,
    context: &JobContext<'_>,
) -> Outcome {
    let request_id = context.request_id();
    let comment = format!("{comment} (ondeck request {request_id})");
    let now = Utc::now();
    let ends = now + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::hours(2));
    let body = PostableSilence {
        matchers: labels
            .iter()
            .map(|(name, value)| Matcher {
                name,
                value,
                is_regex: false,
                is_equal: true,
            })
            .collect(),
        starts_at: now.to_rfc3339(),
        ends_at: ends.to_rfc3339(),
        created_by: &context.identity().os_user,
        comment: &comment,
    };
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        for base in &instances.urls {
            let shown = mask_url(base);
            match post(instances, base, &body).await {
                Ok(id) => return created(context, &id, &shown, attempt).await,
                // An answer that refuses is final: asking again would be refused again.
                Err(Unanswered::No(error)) => return Outcome::failed(error),
                Err(Unanswered::Maybe(error)) => {
                    context
                        .log(format!(
                            "{shown}: no answer ({error}); looking for the silence by its \
                             request id before asking again"
                        ))
                        .await;
                    last_error = error;
                }
            }
            match find(instances, base, request_id).await {
                Ok(Some(id)) => return created(context, &id, &shown, attempt).await,
                Ok(None) => {}
                Err(error) => {
                    // Not knowing whether it exists, a second POST could make a duplicate.
                    return Outcome::failed(format!(
                        "{last_error}; the lookup failed too ({error}): whether the silence \
                         was created is unknown — look for request {request_id} in the \
                         comments of {shown}'s silences"
                    ));
                }
            }
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
    Outcome::failed(format!(
        "no instance of the source created the silence ({last_error})"
    ))
}

async fn created(context: &JobContext<'_>, id: &str, shown: &str, attempt: u32) -> Outcome {
    context
        .log(format!(
            "silence {id} created on {shown} (attempt {attempt})"
        ))
        .await;
    Outcome::succeeded(json!({ "silence_id": id, "instance": shown }))
}

/// Why a request did not create a silence: refused for sure, or perhaps created anyway.
enum Unanswered {
    No(String),
    Maybe(String),
}

async fn post(
    instances: &Instances,
    base: &str,
    body: &PostableSilence<'_>,
) -> Result<String, Unanswered> {
    let url = format!("{base}/api/v2/silences");
    let request = instances.client.post(&url).json(body);
    match fetch::send(request, &url).await {
        Ok(fetched) => {
            let fetched = fetched
                .require_success(&url)
                .map_err(|e| Unanswered::No(e.to_string()))?;
            fetched
                .json::<Created>("Alertmanager silence answer")
                .map(|created| created.silence_id)
                .map_err(|e| Unanswered::Maybe(e.to_string()))
        }
        // Sent, or perhaps sent: a timeout may come after Alertmanager created it.
        Err(error) => Err(Unanswered::Maybe(error.to_string())),
    }
}

/// The id of the silence whose comment names `request_id`, if Alertmanager has one.
async fn find(
    instances: &Instances,
    base: &str,
    request_id: &str,
) -> Result<Option<String>, String> {
    let url = format!("{base}/api/v2/silences");
    let silences: Vec<ListedSilence> = fetch::get(&instances.client, &url, &Default::default())
        .await
        .and_then(|f| f.require_success(&url))
        .and_then(|f| f.json("Alertmanager silence list"))
        .map_err(|e| e.to_string())?;
    Ok(silences
        .into_iter()
        .find(|s| s.status.state != "expired" && s.comment.contains(request_id))
        .map(|s| s.id))
}

/// Expires every silence that silences the alert, on the first instance that lists it.
async fn expire(instances: &Instances, fingerprint: &str, context: &JobContext<'_>) -> Outcome {
    let mut errors = Vec::new();
    for base in &instances.urls {
        let shown = mask_url(base);
        let url = format!("{base}/api/v2/alerts");
        let alerts: Result<Vec<ListedAlert>, String> = fetch::get(
            &instances.client,
            &format!("{url}?silenced=true&active=true&inhibited=true"),
            &Default::default(),
        )
        .await
        .and_then(|f| f.require_success(&url))
        .and_then(|f| f.json("Alertmanager alert list"))
        .map_err(|e| e.to_string());
        let alerts = match alerts {
            Ok(alerts) => alerts,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let Some(alert) = alerts.into_iter().find(|a| a.fingerprint == fingerprint) else {
            return Outcome::failed(format!(
                "{shown} no longer lists the alert {fingerprint}: nothing to expire"
            ));
        };
        if alert.status.silenced_by.is_empty() {
            context
                .log(format!("{shown}: the alert is no longer silenced"))
                .await;
            return Outcome::succeeded(json!({ "expired": [] }));
        }
        let mut expired = Vec::new();
        for id in &alert.status.silenced_by {
            let url = format!("{base}/api/v2/silence/{id}");
            let deleted = fetch::send(instances.client.delete(&url), &url)
                .await
                .and_then(|f| f.require_success(&url));
            match deleted {
                Ok(_) => {
                    context
                        .log(format!("silence {id} expired on {shown}"))
                        .await;
                    expired.push(id.clone());
                }
                Err(error) => {
                    return Outcome::failed(format!("expiring silence {id}: {error}"))
                        .with_detail(json!({ "expired": expired }));
                }
            }
        }
        return Outcome::succeeded(json!({ "expired": expired }));
    }
    Outcome::failed(format!(
        "no instance of the source answered: {}",
        errors.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ActionKind, ConfirmPolicy};
    use crate::model::{AlertRow, HostRow, HostStatus, Severity};

    fn configured(comment: Option<&str>) -> (ActionConfig, SilenceAction) {
        let spec = SilenceAction {
            source: "am".to_owned(),
            duration: Duration::from_secs(3600),
            comment: comment.map(str::to_owned),
        };
        let action = ActionConfig {
            name: "silence-am".to_owned(),
            kind: ActionKind::Silence,
            description: None,
            confirm: ConfirmPolicy::Enter,
            approval_expires: crate::config::DEFAULT_APPROVAL_EXPIRES,
            spec: crate::config::ActionSpec::Silence(spec.clone()),
        };
        (action, spec)
    }

    fn alert(silenced: bool) -> AlertRow {
        AlertRow {
            silenced,
            fingerprint: "f00d".to_owned(),
            labels: BTreeMap::from([
                ("alertname".to_owned(), "HighLatency".to_owned()),
                ("instance".to_owned(), "web-01".to_owned()),
            ]),
            ..AlertRow::raised(
                "am",
                "HighLatency",
                Severity::Warning,
                "web-01",
                "",
                Utc::now(),
            )
        }
    }

    #[test]
    fn an_alert_is_silenced_by_its_labels_and_a_silenced_one_expired() {
        let (action, spec) = configured(None);
        let plan = super::plan(&action, &spec, Subject::Alert(&alert(false))).unwrap();
        let Work::Silence(SilenceWork {
            change:
                SilenceChange::Create {
                    labels,
                    duration,
                    comment: written,
                },
            ..
        }) = &plan.work
        else {
            panic!("{:?}", plan.work)
        };
        assert_eq!(labels, &alert(false).labels);
        assert_eq!(*duration, Duration::from_secs(3600));
        assert_eq!(written, DEFAULT_COMMENT);
        assert_eq!(plan.target.name, "HighLatency");

        let plan = super::plan(&action, &spec, Subject::Alert(&alert(true))).unwrap();
        assert_eq!(
            plan.work,
            Work::Silence(SilenceWork {
                source: "am".to_owned(),
                change: SilenceChange::Expire {
                    fingerprint: "f00d".to_owned()
                },
            })
        );
        assert_eq!(comment(&plan), None, "an expiry asks for no comment");
    }

    #[test]
    fn the_comment_written_replaces_the_configured_one() {
        let (action, spec) = configured(Some("planned maintenance"));
        let mut plan = super::plan(&action, &spec, Subject::Alert(&alert(false))).unwrap();
        assert_eq!(comment(&plan), Some("planned maintenance"));
        set_comment(&mut plan, "  INC-4711 being worked on ");
        assert_eq!(comment(&plan), Some("INC-4711 being worked on"));
    }

    #[test]
    fn what_alertmanager_did_not_raise_is_not_silenced() {
        let (action, spec) = configured(None);
        let unreachable = AlertRow::raised(
            "am",
            ALERTMANAGER_UNREACHABLE,
            Severity::Warning,
            "http://127.0.0.1:9093",
            "refused",
            Utc::now(),
        );
        let refused = super::plan(&action, &spec, Subject::Alert(&unreachable)).unwrap_err();
        assert!(refused.0.contains("raised by ondeck"), "{refused}");
        let host = HostRow::checked("am", "am", "alertmanager", HostStatus::Up, Utc::now());
        let refused = super::plan(&action, &spec, Subject::Host(&host)).unwrap_err();
        assert!(refused.0.contains("acts on the alerts"), "{refused}");
    }
}
