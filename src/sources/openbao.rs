//! The `openbao` source (alias `vault`): one host row per node with its seal state, unseal
//! progress, threshold and HA role, from `/v1/sys/seal-status` and `/v1/sys/health`.
//!
//! `/v1/sys/health` answers a node's state with its status code, most of them not 2xx, and a
//! JSON body either way; so its body is read whatever the status, and only an answer that is
//! not that JSON is an error. The codes (OpenBao's and Vault's):
//!
//! | code | state | row | alert |
//! |---|---|---|---|
//! | 200 | active | up, role `active` | |
//! | 429 | unsealed standby | degraded (up with `standby_ok = true`), role `standby` | |
//! | 472 | disaster-recovery secondary | degraded (up with `standby_ok`), role `dr-secondary` | |
//! | 473 | performance standby | degraded (up with `standby_ok`), role `perf-standby` | |
//! | 474 | standby that cannot reach the active node | degraded, role `standby` | `OpenBaoStandbyDisconnected` (warning) |
//! | 501 | not initialised | down | `OpenBaoUninitialized` (critical) |
//! | 503 | sealed | down | `OpenBaoSealed` (critical) |
//! | 530 | removed from the raft cluster | down | `OpenBaoRemovedFromCluster` (warning) |
//!
//! Whether a node is initialised and sealed is taken from the seal status, which also gives the
//! threshold, shares and progress. A node that cannot be read is a down row with an
//! `OpenBaoUnreachable` warning; when none answers, the poll is an error and every node shows
//! so (see [`Poller::unanswered`]).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;

use super::alerting::{self, FirstSeen};
use super::fetch::{self, Fetched};
use super::{Poller, SourceError};
use crate::config::{OpenBaoNode, OpenBaoSource, mask_url};
use crate::model::{AlertRow, HostRow, HostStatus, Observation, Severity, host_fields};

pub const OPENBAO_SEALED: &str = "OpenBaoSealed";
pub const OPENBAO_UNINITIALIZED: &str = "OpenBaoUninitialized";
pub const OPENBAO_UNREACHABLE: &str = "OpenBaoUnreachable";
pub const OPENBAO_REMOVED: &str = "OpenBaoRemovedFromCluster";
pub const OPENBAO_STANDBY_DISCONNECTED: &str = "OpenBaoStandbyDisconnected";

#[derive(Debug)]
pub struct OpenBaoPoller {
    source: String,
    nodes: Vec<OpenBaoNode>,
    standby_ok: bool,
    client: reqwest::Client,
    first_seen: FirstSeen,
}

impl OpenBaoPoller {
    /// `timeout` is the whole poll's; each request gets [`fetch::endpoint_timeout`] of it.
    pub fn new(
        source: &str,
        spec: &OpenBaoSource,
        timeout: Duration,
    ) -> Result<OpenBaoPoller, SourceError> {
        let nodes = spec.nodes(source);
        if nodes.is_empty() {
            return Err(SourceError::Setup("no OpenBao URL configured".into()));
        }
        Ok(OpenBaoPoller {
            source: source.to_owned(),
            nodes,
            standby_ok: spec.standby_ok,
            client: fetch::client(
                fetch::endpoint_timeout(timeout),
                &Default::default(),
                fetch::Redirects::for_urls(spec.urls.iter().map(String::as_str)),
            )?,
            first_seen: FirstSeen::default(),
        })
    }

    async fn read_node(&self, node: &OpenBaoNode) -> Result<NodeState, SourceError> {
        let seal_url = format!("{}/v1/sys/seal-status", node.url);
        let health_url = format!("{}/v1/sys/health", node.url);
        let no_headers = Default::default();
        let seal = async {
            fetch::get(&self.client, &seal_url, &no_headers)
                .await?
                .require_success(&seal_url)?
                .json::<SealStatus>("OpenBao seal status")
        };
        let health = async {
            let fetched = fetch::get(&self.client, &health_url, &no_headers).await?;
            health_state(fetched, &health_url)
        };
        let (seal, (health_status, health, latency_ms)) = tokio::try_join!(seal, health)?;
        Ok(NodeState {
            seal,
            health_status,
            health,
            latency_ms,
        })
    }
}

impl Poller for OpenBaoPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let answers = join_all(self.nodes.iter().map(|node| self.read_node(node))).await;
        let now = Utc::now();
        if answers.iter().all(Result::is_err) {
            if let Some(Err(error)) = answers.into_iter().next() {
                return Err(error);
            }
            return Err(SourceError::Setup("no OpenBao URL configured".into()));
        }
        let mut observation = Observation::default();
        for (node, answer) in self.nodes.iter().zip(answers) {
            let (host, alert) = match answer {
                Ok(state) => node_rows(node, &state, self.standby_ok, &self.source, now),
                Err(error) => unreachable_rows(node, &error, &self.source, now),
            };
            observation.hosts.push(host);
            observation.alerts.extend(alert);
        }
        self.first_seen.stamp(&mut observation.alerts, now);
        Ok(observation)
    }

    /// No node answered (or the poll timed out): every node is down, each with its
    /// `OpenBaoUnreachable`, as a single unreachable node is beside answering ones.
    fn unanswered(&mut self, error: &SourceError, now: DateTime<Utc>) -> Option<Observation> {
        if matches!(error, SourceError::Setup(_)) {
            return None;
        }
        let mut observation = Observation::default();
        for node in &self.nodes {
            let (host, alert) = unreachable_rows(node, error, &self.source, now);
            observation.hosts.push(host);
            observation.alerts.extend(alert);
        }
        self.first_seen.stamp(&mut observation.alerts, now);
        Some(observation)
    }
}

/// `GET /v1/sys/seal-status`, and the answer to `PUT /v1/sys/unseal`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SealStatus {
    #[serde(rename = "type", default)]
    pub seal_type: String,
    pub initialized: bool,
    pub sealed: bool,
    /// The threshold: how many shares unseal it.
    pub t: u32,
    /// How many shares there are.
    pub n: u32,
    /// Shares counted so far in this unseal attempt.
    pub progress: u32,
    /// The attempt the counted shares belong to; empty when none is under way. A reset or a
    /// restart starts a new one.
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub version: String,
    pub cluster_name: Option<String>,
    pub storage_type: Option<String>,
}

/// `GET /v1/sys/health`; the fields Vault added later are optional.
#[derive(Debug, Clone, Deserialize)]
struct Health {
    /// Required, so that an error list (`{"errors":[…]}`) is not read as a health state; the
    /// seal status says the same and is what the row shows.
    #[serde(rename = "initialized")]
    _initialized: bool,
    #[serde(default)]
    version: String,
    cluster_name: Option<String>,
    /// Vault 1.17+, with a 474: whether a standby can reach the active node.
    ha_connection_healthy: Option<bool>,
    /// Vault 1.19+, with a 530.
    removed_from_cluster: Option<bool>,
}

/// What one node answered.
#[derive(Debug, Clone)]
struct NodeState {
    seal: SealStatus,
    health_status: u16,
    health: Health,
    latency_ms: u64,
}

/// The health answer, whatever its status, as long as its body is the documented JSON.
fn health_state(fetched: Fetched, url: &str) -> Result<(u16, Health, u64), SourceError> {
    match serde_json::from_slice::<Health>(&fetched.body) {
        Ok(health) => Ok((fetched.status, health, fetched.latency_ms)),
        Err(error) => {
            let status = fetched.status;
            // A proxy's error page or OpenBao's own error list says more through its status.
            fetched.require_success(url)?;
            Err(SourceError::BadResponse {
                what: format!("OpenBao health answer (HTTP {status})"),
                reason: error.to_string(),
            })
        }
    }
}

/// What a node's answers mean for its row.
#[derive(Debug)]
struct Assessment {
    status: HostStatus,
    role: Option<&'static str>,
    alert: Option<Raised>,
}

/// An alert a node's state raises.
#[derive(Debug)]
struct Raised {
    name: &'static str,
    severity: Severity,
    summary: String,
}

/// `standby_ok`: whether a healthy standby counts as up (see [`OpenBaoSource::standby_ok`]).
fn assess(state: &NodeState, standby_ok: bool) -> Assessment {
    let seal = &state.seal;
    let down = |name, severity, summary: String| Assessment {
        status: HostStatus::Down,
        role: None,
        alert: Some(Raised {
            name,
            severity,
            summary,
        }),
    };
    let up = |role| Assessment {
        status: HostStatus::Up,
        role: Some(role),
        alert: None,
    };
    let standby = |role| Assessment {
        status: if standby_ok {
            HostStatus::Up
        } else {
            HostStatus::Degraded
        },
        role: Some(role),
        alert: None,
    };
    if !seal.initialized {
        return down(
            OPENBAO_UNINITIALIZED,
            Severity::Critical,
            "not initialized".to_owned(),
        );
    }
    if seal.sealed {
        return down(
            OPENBAO_SEALED,
            Severity::Critical,
            format!("sealed, unseal progress {}/{}", seal.progress, seal.t),
        );
    }
    match state.health_status {
        200 => up("active"),
        429 => standby("standby"),
        472 => standby("dr-secondary"),
        473 => standby("perf-standby"),
        474 => Assessment {
            status: HostStatus::Degraded,
            role: Some("standby"),
            alert: Some(Raised {
                name: OPENBAO_STANDBY_DISCONNECTED,
                severity: Severity::Warning,
                summary: "standby cannot reach the active node".to_owned(),
            }),
        },
        530 => down(
            OPENBAO_REMOVED,
            Severity::Warning,
            "removed from the raft cluster".to_owned(),
        ),
        // The seal status says unsealed but health disagrees (a state change between the two
        // requests, or a code this build does not know): say so rather than guess.
        _ => Assessment {
            status: HostStatus::Unknown,
            role: None,
            alert: None,
        },
    }
}

fn node_rows(
    node: &OpenBaoNode,
    state: &NodeState,
    standby_ok: bool,
    source: &str,
    now: DateTime<Utc>,
) -> (HostRow, Option<AlertRow>) {
    let Assessment {
        status,
        role,
        alert,
    } = assess(state, standby_ok);
    let seal = &state.seal;
    let version = if seal.version.is_empty() {
        state.health.version.clone()
    } else {
        seal.version.clone()
    };
    let mut fields = BTreeMap::from([
        ("initialized".to_owned(), json!(seal.initialized)),
        (host_fields::SEALED.to_owned(), json!(seal.sealed)),
        (host_fields::UNSEAL_THRESHOLD.to_owned(), json!(seal.t)),
        ("n".to_owned(), json!(seal.n)),
        (
            host_fields::UNSEAL_PROGRESS.to_owned(),
            json!(seal.progress),
        ),
        ("version".to_owned(), json!(version)),
        ("url".to_owned(), json!(mask_url(&node.url))),
    ]);
    let optional = [
        ("ha_role", role.map(str::to_owned)),
        (
            "cluster_name",
            seal.cluster_name
                .clone()
                .or_else(|| state.health.cluster_name.clone()),
        ),
        ("storage_type", seal.storage_type.clone()),
        (
            "seal_type",
            Some(seal.seal_type.clone()).filter(|t| !t.is_empty()),
        ),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            fields.insert(key.to_owned(), json!(value));
        }
    }
    if let Some(healthy) = state.health.ha_connection_healthy {
        fields.insert("ha_connection_healthy".to_owned(), json!(healthy));
    }
    if let Some(removed) = state.health.removed_from_cluster {
        fields.insert("removed_from_cluster".to_owned(), json!(removed));
    }
    let host = HostRow {
        latency_ms: Some(state.latency_ms),
        version: Some(version).filter(|v| !v.is_empty()),
        fields,
        ..HostRow::checked(source, node.name.clone(), "openbao", status, now)
    };
    let alert = alert.map(|raised| alert_row(node, raised, source, now));
    (host, alert)
}

fn unreachable_rows(
    node: &OpenBaoNode,
    error: &SourceError,
    source: &str,
    now: DateTime<Utc>,
) -> (HostRow, Option<AlertRow>) {
    let reason = error.to_string();
    let host = HostRow {
        fields: BTreeMap::from([
            ("url".to_owned(), json!(mask_url(&node.url))),
            (host_fields::REASON.to_owned(), json!(reason)),
        ]),
        ..HostRow::checked(source, node.name.clone(), "openbao", HostStatus::Down, now)
    };
    let raised = Raised {
        name: OPENBAO_UNREACHABLE,
        severity: Severity::Warning,
        summary: reason,
    };
    let alert = alert_row(node, raised, source, now);
    (host, Some(alert))
}

fn alert_row(node: &OpenBaoNode, raised: Raised, source: &str, now: DateTime<Utc>) -> AlertRow {
    let Raised {
        name,
        severity,
        summary,
    } = raised;
    let labels = BTreeMap::from([
        ("alertname".to_owned(), name.to_owned()),
        ("instance".to_owned(), mask_url(&node.url)),
    ]);
    AlertRow {
        since: None,
        fingerprint: alerting::fingerprint(&labels),
        ..AlertRow::raised(source, name, severity, node.name.clone(), summary, now)
    }
}

/// "bao1.example.com:8200" for "https://bao1.example.com:8200/": what tells nodes apart.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlertState;

    fn fetched(status: u16, body: &str) -> Fetched {
        Fetched {
            status,
            body: body.as_bytes().to_vec(),
            latency_ms: 3,
            request_id: "test".into(),
            peer_certificate: None,
        }
    }

    // As OpenBao 2.7 answered in the lab.
    const UNSEALED: &str = r#"{"type":"shamir","initialized":true,"sealed":false,"t":3,"n":5,"progress":0,
        "nonce":"","recovery_seal":false,"version":"2.7.2","commit_date":"2026-10-26T20:32:27Z","migration":false,
        "cluster_name":"vault-cluster-8751df9a","cluster_id":"df6f2532","storage_type":"raft"}"#;
    const SEALED: &str = r#"{"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":1,
        "nonce":"9f1c","recovery_seal":false,"version":"2.7.2","commit_date":"2026-10-26T20:32:27Z",
        "migration":false,"storage_type":"raft"}"#;
    const UNINITIALIZED: &str = r#"{"type":"shamir","initialized":false,"sealed":true,"t":0,"n":0,
        "progress":0,"nonce":"","version":"2.7.2","migration":false,"recovery_seal":false,"storage_type":"raft"}"#;
    const HEALTH_ACTIVE: &str = r#"{"initialized":true,"sealed":false,"standby":false,
        "replication_performance_mode":"primary","replication_dr_mode":"disabled",
        "server_time_utc":1795323874,"version":"2.7.2","cluster_name":"vault-cluster-8751df9a","cluster_id":"df6f2532"}"#;
    const HEALTH_SEALED: &str = r#"{"initialized":true,"sealed":true,"standby":true,
        "replication_performance_mode":"unknown","replication_dr_mode":"unknown",
        "server_time_utc":1795323874,"version":"2.7.2"}"#;
    // Vault's documented bodies for the codes OpenBao does not send.
    const HEALTH_DR_SECONDARY: &str = r#"{"initialized":true,"sealed":false,"standby":false,
        "performance_standby":false,"replication_performance_mode":"disabled","replication_dr_mode":"secondary",
        "server_time_utc":1716383912,"version":"1.17.0+ent","cluster_name":"vault-cluster-dr","cluster_id":"b3c4"}"#;
    const HEALTH_PERF_STANDBY: &str = r#"{"initialized":true,"sealed":false,"standby":true,
        "performance_standby":true,"replication_performance_mode":"primary","replication_dr_mode":"disabled",
        "server_time_utc":1716383912,"version":"1.17.0+ent","cluster_name":"vault-cluster-a","cluster_id":"a1b2"}"#;
    const HEALTH_DISCONNECTED: &str = r#"{"initialized":true,"sealed":false,"standby":true,
        "performance_standby":false,"replication_performance_mode":"disabled","replication_dr_mode":"disabled",
        "server_time_utc":1716383912,"version":"1.17.0","cluster_name":"vault-cluster-a","cluster_id":"a1b2",
        "ha_connection_healthy":false,"last_request_forwarding_heartbeat_ms":0}"#;
    const HEALTH_REMOVED: &str = r#"{"initialized":true,"sealed":false,"standby":true,
        "performance_standby":false,"replication_performance_mode":"disabled","replication_dr_mode":"disabled",
        "server_time_utc":1739893452,"version":"1.19.0","cluster_name":"vault-cluster-a","cluster_id":"a1b2",
        "removed_from_cluster":true}"#;

    fn state(seal: &str, health_status: u16, health: &str) -> NodeState {
        let (health_status, health, latency_ms) =
            health_state(fetched(health_status, health), "http://bao/v1/sys/health").unwrap();
        NodeState {
            seal: serde_json::from_str(seal).unwrap(),
            health_status,
            health,
            latency_ms,
        }
    }

    fn node() -> OpenBaoNode {
        OpenBaoNode {
            url: "http://bao1.example.com:8200".into(),
            name: "bao1.example.com:8200".into(),
        }
    }

    #[test]
    fn an_active_node_is_up_with_its_seal_configuration() {
        let now = Utc::now();
        let (host, alert) = node_rows(
            &node(),
            &state(UNSEALED, 200, HEALTH_ACTIVE),
            false,
            "bao",
            now,
        );
        assert!(alert.is_none());
        assert_eq!(host.source, "bao");
        assert_eq!(host.name, "bao1.example.com:8200");
        assert_eq!(host.kind, "openbao");
        assert_eq!(host.status, HostStatus::Up);
        assert_eq!(host.version.as_deref(), Some("2.7.2"));
        assert_eq!(host.latency_ms, Some(3));
        let f = &host.fields;
        assert_eq!(f["initialized"], json!(true));
        assert_eq!(f["sealed"], json!(false));
        assert_eq!((f["t"].clone(), f["n"].clone()), (json!(3), json!(5)));
        assert_eq!(f["progress"], json!(0));
        assert_eq!(f["version"], json!("2.7.2"));
        assert_eq!(f["ha_role"], json!("active"));
        assert_eq!(f["cluster_name"], json!("vault-cluster-8751df9a"));
        assert_eq!(f["storage_type"], json!("raft"));
        assert_eq!(f["url"], json!("http://bao1.example.com:8200"));
    }

    #[test]
    fn a_sealed_node_is_down_with_a_critical_alert_showing_progress() {
        let now = Utc::now();
        let (host, alert) = node_rows(
            &node(),
            &state(SEALED, 503, HEALTH_SEALED),
            false,
            "bao",
            now,
        );
        assert_eq!(host.status, HostStatus::Down);
        assert_eq!(host.fields["sealed"], json!(true));
        assert_eq!(host.fields["progress"], json!(1));
        assert!(!host.fields.contains_key("ha_role"));
        let alert = alert.unwrap();
        assert_eq!(alert.name, OPENBAO_SEALED);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.state, AlertState::Firing);
        assert_eq!(alert.target, "bao1.example.com:8200");
        assert_eq!(alert.summary, "sealed, unseal progress 1/3");
        assert_eq!(alert.fingerprint.len(), 16);
    }

    #[test]
    fn an_uninitialized_node_is_down_with_a_critical_alert() {
        let health = r#"{"initialized":false,"sealed":true,"standby":true,"version":"2.7.2"}"#;
        let (host, alert) = node_rows(
            &node(),
            &state(UNINITIALIZED, 501, health),
            false,
            "bao",
            Utc::now(),
        );
        assert_eq!(host.status, HostStatus::Down);
        assert_eq!(host.fields["initialized"], json!(false));
        let alert = alert.unwrap();
        assert_eq!(alert.name, OPENBAO_UNINITIALIZED);
        assert_eq!(alert.severity, Severity::Critical);
    }

    #[test]
    fn only_the_active_node_is_up_unless_standbys_are_expected() {
        for (code, body, role) in [
            (429, HEALTH_ACTIVE, "standby"),
            (472, HEALTH_DR_SECONDARY, "dr-secondary"),
            (473, HEALTH_PERF_STANDBY, "perf-standby"),
        ] {
            for (standby_ok, status) in [(false, HostStatus::Degraded), (true, HostStatus::Up)] {
                let (host, alert) = node_rows(
                    &node(),
                    &state(UNSEALED, code, body),
                    standby_ok,
                    "bao",
                    Utc::now(),
                );
                assert_eq!(host.status, status, "{code} standby_ok={standby_ok}");
                assert_eq!(host.fields["ha_role"], json!(role), "{code}");
                assert!(alert.is_none(), "{code}");
            }
        }
    }

    #[test]
    fn a_standby_cut_off_from_the_active_node_is_degraded() {
        let (host, alert) = node_rows(
            &node(),
            &state(UNSEALED, 474, HEALTH_DISCONNECTED),
            false,
            "bao",
            Utc::now(),
        );
        assert_eq!(host.status, HostStatus::Degraded);
        assert_eq!(host.fields["ha_role"], json!("standby"));
        assert_eq!(host.fields["ha_connection_healthy"], json!(false));
        assert_eq!(alert.unwrap().name, OPENBAO_STANDBY_DISCONNECTED);
    }

    #[test]
    fn a_node_removed_from_the_cluster_is_down() {
        let (host, alert) = node_rows(
            &node(),
            &state(UNSEALED, 530, HEALTH_REMOVED),
            false,
            "bao",
            Utc::now(),
        );
        assert_eq!(host.status, HostStatus::Down);
        assert_eq!(host.fields["removed_from_cluster"], json!(true));
        let alert = alert.unwrap();
        assert_eq!(alert.name, OPENBAO_REMOVED);
        assert_eq!(alert.severity, Severity::Warning);
    }

    #[test]
    fn a_health_answer_that_is_not_health_json_is_an_error() {
        let errors = health_state(
            fetched(500, r#"{"errors":["internal error"]}"#),
            "http://bao/v1/sys/health",
        )
        .unwrap_err();
        assert!(matches!(errors, SourceError::Status { status: 500, .. }));
        assert!(errors.to_string().contains("internal error"));
        let proxy = health_state(
            fetched(502, "<html>Bad Gateway</html>"),
            "http://bao/v1/sys/health",
        );
        assert!(matches!(
            proxy,
            Err(SourceError::Status { status: 502, .. })
        ));
        let garbage = health_state(
            fetched(200, "{\"initialized\":"),
            "http://bao/v1/sys/health",
        );
        assert!(matches!(garbage, Err(SourceError::BadResponse { .. })));
    }

    #[test]
    fn an_unreachable_node_is_down_with_a_warning() {
        let error = SourceError::Http {
            url: "http://bao1.example.com:8200/v1/sys/health".into(),
            reason: "cannot connect: Connection refused".into(),
        };
        let (host, alert) = unreachable_rows(&node(), &error, "bao", Utc::now());
        assert_eq!(host.status, HostStatus::Down);
        assert_eq!(host.name, "bao1.example.com:8200");
        let alert = alert.unwrap();
        assert_eq!(alert.name, OPENBAO_UNREACHABLE);
        assert_eq!(alert.severity, Severity::Warning);
        assert!(alert.summary.contains("Connection refused"));
    }

    #[test]
    fn nodes_are_named_by_host_and_port_unless_alone() {
        let one = OpenBaoSource {
            urls: vec!["https://bao1.example.com/".into()],
            standby_ok: false,
        };
        let poller = OpenBaoPoller::new("bao", &one, Duration::from_secs(5)).unwrap();
        assert_eq!(poller.nodes[0].name, "bao");
        assert_eq!(poller.nodes[0].url, "https://bao1.example.com");
        let two = OpenBaoSource {
            urls: vec![
                "https://bao1.example.com".into(),
                "http://ops:secret@bao2.example.com:8200".into(),
            ],
            standby_ok: false,
        };
        let poller = OpenBaoPoller::new("bao", &two, Duration::from_secs(5)).unwrap();
        let names: Vec<&str> = poller.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["bao1.example.com:443", "bao2.example.com:8200"]);
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing::{self, assert_explained, json_body};

        fn seal_and_health() -> impl Strategy<Value = (String, &'static str)> {
            prop::sample::select(vec![
                (UNSEALED.to_owned(), HEALTH_ACTIVE),
                (SEALED.to_owned(), HEALTH_SEALED),
                (UNINITIALIZED.to_owned(), HEALTH_SEALED),
                (UNSEALED.to_owned(), HEALTH_DISCONNECTED),
                (UNSEALED.to_owned(), HEALTH_REMOVED),
                (UNSEALED.to_owned(), HEALTH_PERF_STANDBY),
                (UNSEALED.to_owned(), HEALTH_DR_SECONDARY),
            ])
        }

        proptest! {
            #![proptest_config(fuzzing::config())]

            /// Seal status and health answers become a node row, or the node is unreachable
            /// with the reason.
            #[test]
            fn fuzz_openbao(
                (seal, health) in seal_and_health().prop_flat_map(|(seal, health)| (
                    json_body(serde_json::from_str(&seal).unwrap()),
                    json_body(serde_json::from_str(health).unwrap()),
                )),
                seal_status in fuzzing::status(),
                health_status in prop_oneof![Just(200u16), Just(429), Just(472), Just(473), Just(474), Just(501), Just(503), Just(530), 0u16..1000],
                standby_ok in any::<bool>(),
            ) {
                let url = "http://bao1.example.com:8200/v1/sys/health";
                let read = fuzzing::answer(seal_status, seal)
                    .require_success(url)
                    .and_then(|fetched| fetched.json::<SealStatus>("OpenBao seal status"))
                    .and_then(|seal| {
                        let (health_status, health, latency_ms) =
                            health_state(fuzzing::answer(health_status, health), url)?;
                        Ok(NodeState { seal, health_status, health, latency_ms })
                    });
                let now = Utc::now();
                match read {
                    Ok(state) => {
                        node_rows(&node(), &state, standby_ok, "bao", now);
                    }
                    Err(error) => {
                        assert_explained(&error);
                        unreachable_rows(&node(), &error, "bao", now);
                    }
                }
            }
        }
    }
}
