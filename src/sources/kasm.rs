//! The `kasm` source: the sessions of a Kasm Workspaces deployment, from its Developer API
//! (`POST /api/public/get_kasms` with `api_key` and `api_key_secret` in the JSON body), a host
//! row with the active count, and `KasmSessionLimit` when more run than the runbook's limit.
//!
//! "Active" means `operational_status` `running`, the state Kasm itself counts against a
//! concurrent-session licence. Kasm writes dates as UTC without a zone
//! (`2024-05-02 09:14:03.512346`); RFC 3339 is accepted too. How long ago each session last
//! sent a keepalive (by the server's own `current_time`, so clock skew does not matter) is
//! kept in the session's fields for spotting orphans.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::alerting::FirstSeen;
use super::fetch::{self, Fetched};
use super::{Poller, SourceError};
use crate::config::{KasmSource, Secret, mask_url};
use crate::model::{
    AlertRow, HostRow, HostStatus, Observation, SessionRow, Severity, format_age_to_minute,
};

pub const SESSION_LIMIT: &str = "KasmSessionLimit";

/// Polls one Kasm Workspaces deployment.
#[derive(Debug)]
pub struct KasmPoller {
    source: String,
    /// `https://kasm.example.com/api/public/get_kasms`.
    endpoint: String,
    api_key: Secret,
    api_key_secret: Secret,
    session_limit: u32,
    client: reqwest::Client,
    first_seen: FirstSeen,
}

impl KasmPoller {
    pub fn new(
        source: &str,
        spec: KasmSource,
        timeout: Duration,
    ) -> Result<KasmPoller, SourceError> {
        Ok(KasmPoller {
            source: source.to_owned(),
            endpoint: format!("{}/api/public/get_kasms", spec.url.trim_end_matches('/')),
            api_key: spec.api_key,
            api_key_secret: spec.api_key_secret,
            session_limit: spec.session_limit,
            // The body carries the API key.
            client: fetch::client(timeout, &Default::default(), fetch::Redirects::Never)?,
            first_seen: FirstSeen::default(),
        })
    }

    fn credentials(&self) -> Result<serde_json::Value, SourceError> {
        let resolve = |secret: &Secret| {
            secret
                .resolve()
                .map_err(|e| SourceError::Setup(e.to_string()))
        };
        Ok(json!({
            "api_key": resolve(&self.api_key)?,
            "api_key_secret": resolve(&self.api_key_secret)?,
        }))
    }
}

impl Poller for KasmPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let request = self.client.post(&self.endpoint).json(&self.credentials()?);
        let fetched = fetch::send(request, &self.endpoint).await?;
        let now = Utc::now();
        let mut observation = self.observe_answer(fetched, now)?;
        self.first_seen.stamp(&mut observation.alerts, now);
        Ok(observation)
    }
}

impl KasmPoller {
    /// The rows of one answer, or why it is not a session list. Pure apart from the alerts'
    /// first-seen times, which the caller stamps.
    fn observe_answer(
        &self,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Observation, SourceError> {
        let shown = mask_url(&self.endpoint);
        // Kasm explains a refusal in `error_message`, whatever the status.
        let answer: Option<KasmsAnswer> = serde_json::from_slice(&fetched.body).ok();
        if let Some(message) = answer.as_ref().and_then(|a| a.error_message.clone()) {
            return Err(SourceError::Status {
                url: shown,
                status: fetched.status,
                body: format!(
                    "{message} (check api_key {} and api_key_secret {}, and that the key may read sessions)",
                    self.api_key, self.api_key_secret
                ),
            });
        }
        if matches!(fetched.status, 401 | 403) {
            return Err(SourceError::Status {
                url: shown,
                status: fetched.status,
                body: format!(
                    "authentication failed; check api_key {} and api_key_secret {}",
                    self.api_key, self.api_key_secret
                ),
            });
        }
        let fetched = fetched.require_success(&self.endpoint)?;
        let answer: KasmsAnswer = fetched.json("Kasm get_kasms answer")?;
        let kasms = answer.kasms.ok_or_else(|| SourceError::BadResponse {
            what: "Kasm get_kasms answer".to_owned(),
            reason: "no `kasms` list".to_owned(),
        })?;
        let server_now = answer
            .current_time
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now);
        Ok(observe(
            &kasms,
            &self.source,
            self.session_limit,
            fetched.latency_ms,
            server_now,
            now,
        ))
    }
}

/// The answer of `get_kasms`: the sessions, or an `error_message`.
#[derive(Debug, Deserialize)]
struct KasmsAnswer {
    kasms: Option<Vec<Kasm>>,
    current_time: Option<String>,
    error_message: Option<String>,
}

/// One session as `get_kasms` lists it (only the fields ondeck shows).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Kasm {
    pub kasm_id: String,
    pub user: Option<KasmUser>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub image: Option<KasmImage>,
    pub operational_status: Option<String>,
    pub start_date: Option<String>,
    pub keepalive_date: Option<String>,
    pub expiration_date: Option<String>,
    pub hostname: Option<String>,
    pub server: Option<KasmServer>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KasmUser {
    pub username: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KasmImage {
    pub friendly_name: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KasmServer {
    pub hostname: Option<String>,
}

impl Kasm {
    fn active(&self) -> bool {
        self.operational_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("running"))
    }
}

/// A Kasm date: UTC written without a zone, or RFC 3339.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.filter(|t| !t.is_empty()).cloned()
}

/// The rows of one `get_kasms` answer. Pure, so the mapping and the limit can be checked
/// without a server. `server_now` is the answer's `current_time`.
pub fn observe(
    kasms: &[Kasm],
    source: &str,
    session_limit: u32,
    latency_ms: u64,
    server_now: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Observation {
    let sessions: Vec<SessionRow> = kasms
        .iter()
        .map(|kasm| session_row(kasm, source, server_now, now))
        .collect();
    let active = kasms.iter().filter(|k| k.active()).count();
    let over = u32::try_from(active).unwrap_or(u32::MAX) > session_limit;
    let alerts = if over {
        vec![AlertRow::raised(
            source,
            SESSION_LIMIT,
            Severity::Warning,
            source,
            format!("{active} active sessions (limit {session_limit})"),
            now,
        )]
    } else {
        Vec::new()
    };
    let status = if over {
        HostStatus::Degraded
    } else {
        HostStatus::Up
    };
    let host = HostRow {
        latency_ms: Some(latency_ms),
        fields: BTreeMap::from([
            ("active_sessions".to_owned(), json!(active)),
            ("sessions".to_owned(), json!(kasms.len())),
            ("session_limit".to_owned(), json!(session_limit)),
        ]),
        ..HostRow::checked(source, source, "kasm", status, now)
    };
    Observation {
        hosts: vec![host],
        sessions,
        alerts,
        ..Observation::default()
    }
}

fn session_row(
    kasm: &Kasm,
    source: &str,
    server_now: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SessionRow {
    let user = kasm
        .user
        .as_ref()
        .and_then(|u| non_empty(u.username.as_ref()))
        .or_else(|| non_empty(kasm.username.as_ref()))
        .or_else(|| non_empty(kasm.user_id.as_ref()))
        .unwrap_or_else(|| "anonymous".to_owned());
    let image = kasm.image.as_ref().and_then(|image| {
        non_empty(image.friendly_name.as_ref()).or_else(|| non_empty(image.name.as_ref()))
    });
    let server = kasm
        .server
        .as_ref()
        .and_then(|s| non_empty(s.hostname.as_ref()))
        .or_else(|| non_empty(kasm.hostname.as_ref()));
    let keepalive = kasm.keepalive_date.as_deref().and_then(parse_time);
    // The client column shows the image (else the server). How long since its browser last
    // checked in tells an orphaned session from a live one, so it comes first; then the server.
    let detail = SessionRow::detail_of([
        // To the minute: the row is redrawn at each poll, not each second.
        keepalive.map(|at| {
            format!(
                "keepalive {} ago",
                format_age_to_minute((server_now - at).num_seconds())
            )
        }),
        server
            .as_ref()
            .filter(|_| image.is_some())
            .map(|server| format!("on {server}")),
    ]);
    let mut fields = BTreeMap::from([("kasm_id".to_owned(), json!(kasm.kasm_id))]);
    // `destroy_kasm` names the session by both.
    if let Some(user_id) = non_empty(kasm.user_id.as_ref()) {
        fields.insert("user_id".to_owned(), json!(user_id));
    }
    if let Some(server) = &server {
        fields.insert("server".to_owned(), json!(server));
    }
    if let Some(image) = &image {
        fields.insert("image".to_owned(), json!(image));
    }
    if let Some(keepalive) = keepalive {
        fields.insert("keepalive".to_owned(), json!(keepalive.to_rfc3339()));
        fields.insert(
            "keepalive_age_s".to_owned(),
            json!((server_now - keepalive).num_seconds().max(0)),
        );
    }
    if let Some(expires) = kasm.expiration_date.as_deref().and_then(parse_time) {
        fields.insert("expires".to_owned(), json!(expires.to_rfc3339()));
    }
    SessionRow {
        source: source.to_owned(),
        user,
        client: image
            .or(server)
            .unwrap_or_else(|| "unknown image".to_owned()),
        state: kasm
            .operational_status
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
        since: kasm.start_date.as_deref().and_then(parse_time),
        detail,
        observed_at: now,
        fields,
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzzing::{self, assert_explained, json_body};

    fn poller() -> KasmPoller {
        let spec = KasmSource {
            url: "https://kasm.example.com".into(),
            api_key: Secret::parse("env:KASM_API_KEY", crate::config::SecretKind::Token).unwrap(),
            api_key_secret: Secret::parse(
                "env:KASM_API_KEY_SECRET",
                crate::config::SecretKind::Token,
            )
            .unwrap(),
            session_limit: 1,
        };
        KasmPoller::new("kasm", spec, Duration::from_secs(5)).unwrap()
    }

    proptest! {
        #![proptest_config(fuzzing::config())]

        /// A `get_kasms` answer becomes sessions and a host row, or is refused with a reason.
        #[test]
        fn fuzz_kasm(
            status in fuzzing::status(),
            body in prop_oneof![
                json_body(json!({"current_time": "2024-05-02 09:45:00.123456", "kasms": [
                    {"kasm_id": "a1b2", "user": {"username": "alice@example.com"}, "username": "alice",
                     "user_id": "u1", "image": {"friendly_name": "Ubuntu", "name": "kasmweb/ubuntu"},
                     "operational_status": "running", "start_date": "2024-05-02 09:14:03.512346",
                     "keepalive_date": "2024-05-02T09:40:00Z", "expiration_date": "2024-05-02 13:14:03",
                     "hostname": "10.0.0.5", "server": {"hostname": "agent1.example.com"}},
                    {"kasm_id": "c3d4", "operational_status": "stopped", "user": null}]})),
                json_body(json!({"error_message": "Unauthorized"})),
            ],
        ) {
            match poller().observe_answer(fuzzing::answer(status, body), Utc::now()) {
                Ok(observation) => prop_assert_eq!(observation.hosts.len(), 1),
                Err(error) => assert_explained(&error),
            }
        }

        #[test]
        fn fuzz_kasm_dates(text in prop_oneof!["\\PC{0,40}", "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}[ T][0-9:.]{0,20}Z?"]) {
            parse_time(&text);
        }
    }
}
