//! The `proxmox` and `kasm` sources against local servers that answer like the real APIs.
//!
//! Neither Proxmox VE nor Kasm Workspaces can run here, so each test starts a small HTTP
//! server on 127.0.0.1 whose answers follow the shapes their public API documentation shows;
//! every canned answer names the endpoint and the documentation it stands for.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_http::{FakeServer, Reply, Request};
use ondeck::config::{KasmSource, ProxmoxSource, Secret};
use ondeck::model::{AlertState, HostStatus, Observation, Severity};
use ondeck::sources::{KasmPoller, Poller, ProxmoxPoller, SourceError};
use serde_json::{Value, json};

const GIB: u64 = 1024 * 1024 * 1024;

/// A documented answer: a status and a JSON body.
fn answer(status: u16, body: &Value) -> Reply {
    Reply::json(status, &body.to_string())
}

/// A secret kept in a file (`file:PATH`), so tests need not touch the process environment.
fn file_secret(dir: &tempfile::TempDir, name: &str, value: &str) -> Secret {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    Secret::File(path)
}

fn timeout() -> Duration {
    Duration::from_secs(5)
}

// ---------------------------------------------------------------------------------------------
// Proxmox VE
// ---------------------------------------------------------------------------------------------

const PVE_TOKEN: &str = "ondeck@pve!monitor=6f1c2d3e-0000-4a5b-9c8d-123456789abc";
const PVE_SECRET_PART: &str = "6f1c2d3e-0000-4a5b-9c8d-123456789abc";

/// The unix time the fake cluster's tasks are dated from.
const T0: i64 = 1_715_000_000;

/// The documented answers of a two-node cluster: `pve1` online with the runbook's VMs (pfSense,
/// Kasm, a stopped test VM and a template), `pve2` offline.
fn pve_cluster(nodes: Value) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| {
        // Proxmox VE API, authentication with API tokens ("Authorization: PVEAPIToken=…"); a
        // request without a valid token is refused with 401 and `{"data":null}`.
        let authorised = request.headers.get("authorization").map(String::as_str)
            == Some(&*format!("PVEAPIToken={PVE_TOKEN}"));
        if !authorised {
            return answer(401, &json!({ "data": null }));
        }
        match request.route() {
            // GET /api2/json/nodes — "Cluster node index" (pve-docs api-viewer: nodes).
            "/api2/json/nodes" => answer(200, &json!({ "data": nodes })),
            // GET /api2/json/nodes/{node}/qemu — "Virtual machine index (per node)".
            "/api2/json/nodes/pve1/qemu" => answer(
                200,
                &json!({ "data": [
                    { "vmid": 101, "name": "pfSense", "status": "running", "cpu": 0.031,
                      "cpus": 2, "mem": 1_073_741_824u64, "maxmem": 4_294_967_296u64, "disk": 0,
                      "maxdisk": 34_359_738_368u64, "uptime": 864_000, "netin": 1, "netout": 2 },
                    { "vmid": 102, "name": "kasm-01", "status": "running", "cpu": 0.52,
                      "cpus": 8, "mem": 12_884_901_888u64, "maxmem": 17_179_869_184u64,
                      "disk": 0, "maxdisk": 107_374_182_400u64, "uptime": 3600,
                      "lock": "backup" },
                    { "vmid": 103, "name": "lab-test", "status": "stopped", "cpu": 0,
                      "cpus": 1, "mem": 0, "maxmem": 2_147_483_648u64, "disk": 0,
                      "maxdisk": 8_589_934_592u64, "uptime": 0 },
                    { "vmid": 9000, "name": "tpl-ubuntu-kasm", "status": "stopped",
                      "template": 1, "cpu": 0, "mem": 0, "maxmem": 2_147_483_648u64 }
                ]}),
            ),
            // GET /api2/json/nodes/{node}/tasks?typefilter=vzdump — "Read task list for one
            // node (finished tasks)"; a running task has no `status` and no `endtime`.
            "/api2/json/nodes/pve1/tasks" => answer(
                200,
                &json!({ "data": [
                    { "upid": format!("UPID:pve1:0000A1B2:0F3E2D1C:{:08X}:vzdump:102:root@pam:", T0 + 86_400),
                      "node": "pve1", "pid": 41394, "pstart": 255_733_020, "type": "vzdump",
                      "id": "102", "user": "root@pam", "starttime": T0 + 86_400 },
                    { "upid": format!("UPID:pve1:00009F00:0F3E0000:{:08X}:vzdump:101:root@pam:", T0),
                      "node": "pve1", "type": "vzdump", "id": "101", "user": "root@pam",
                      "status": "OK", "starttime": T0, "endtime": T0 + 300 },
                    { "upid": format!("UPID:pve1:00009E00:0F3D0000:{:08X}:vzdump:103:backup@pve:", T0 - 10),
                      "node": "pve1", "type": "vzdump", "id": "103", "user": "backup@pve",
                      "status": "job errors", "starttime": T0 - 10, "endtime": T0 + 20 },
                    { "upid": format!("UPID:pve1:00009D00:0F3C0000:{:08X}:vzdump:103:backup@pve:", T0 - 86_400),
                      "node": "pve1", "type": "vzdump", "id": "103", "user": "backup@pve",
                      "status": "OK", "starttime": T0 - 86_400, "endtime": T0 - 86_000 }
                ]}),
            ),
            _ => answer(
                404,
                &json!({ "data": null, "errors": { "path": "no such path" } }),
            ),
        }
    }
}

fn pve_nodes_calm() -> Value {
    json!([
        { "node": "pve1", "status": "online", "cpu": 0.12, "maxcpu": 16,
          "mem": 20 * GIB, "maxmem": 64 * GIB, "disk": 30 * GIB, "maxdisk": 100 * GIB,
          "uptime": 1_209_600, "level": "", "type": "node", "id": "node/pve1" },
        { "node": "pve2", "status": "offline", "type": "node", "id": "node/pve2" }
    ])
}

fn proxmox(url: &str, token: Secret) -> ProxmoxPoller {
    let spec = ProxmoxSource {
        url: url.to_owned(),
        token,
        trust: Default::default(),
    };
    ProxmoxPoller::new("pve", spec, timeout()).unwrap()
}

fn host<'a>(observation: &'a Observation, name: &str) -> &'a ondeck::model::HostRow {
    observation
        .hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name} in {:?}", observation.hosts))
}

fn at(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

#[tokio::test]
async fn proxmox_nodes_vms_and_backups_become_rows() {
    let server = FakeServer::start(pve_cluster(pve_nodes_calm())).await;
    let dir = tempfile::tempdir().unwrap();
    let mut poller = proxmox(&server.url(""), file_secret(&dir, "token", PVE_TOKEN));
    let seen = poller.poll().await.unwrap();

    let names: Vec<(&str, &str, HostStatus)> = seen
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.kind.as_str(), h.status))
        .collect();
    assert_eq!(
        names,
        [
            ("pve1", "proxmox-node", HostStatus::Up),
            ("pfSense", "proxmox-vm", HostStatus::Up),
            ("kasm-01", "proxmox-vm", HostStatus::Up),
            ("lab-test", "proxmox-vm", HostStatus::Down),
            ("pve2", "proxmox-node", HostStatus::Down),
        ],
        "templates are not hosts; offline nodes are down"
    );
    let pve1 = host(&seen, "pve1");
    assert_eq!(pve1.cpu_pct, Some(12.0));
    assert_eq!(pve1.mem_pct, Some(31.3));
    assert_eq!(pve1.disk_pct, Some(30.0));
    assert_eq!(pve1.uptime_s, Some(1_209_600));
    assert_eq!(pve1.fields["mem_free_bytes"], json!(44 * GIB));
    assert_eq!(pve1.fields["cpus"], json!(16));
    assert!(pve1.latency_ms.is_some());
    let kasm = host(&seen, "kasm-01");
    assert_eq!(kasm.cpu_pct, Some(52.0));
    assert_eq!(kasm.mem_pct, Some(75.0));
    assert_eq!(kasm.disk_pct, None, "QEMU guests report no disk use");
    assert_eq!(kasm.fields["vmid"], json!("102"));
    assert_eq!(kasm.fields["node"], json!("pve1"));
    assert_eq!(kasm.fields["lock"], json!("backup"));
    assert_eq!(host(&seen, "lab-test").cpu_pct, None);
    assert!(seen.hosts.iter().all(|h| h.source == "pve"));

    let jobs: Vec<(&str, &str, &str, &str)> = seen
        .jobs
        .iter()
        .map(|j| {
            (
                j.id.as_str(),
                j.target.as_str(),
                j.operator.as_str(),
                j.state.as_str(),
            )
        })
        .collect();
    let start = |t: i64| format!("{t:08X}");
    assert_eq!(
        jobs,
        [
            (
                &*format!("pve1:0000A1B2:{}", start(T0 + 86_400)),
                "102 kasm-01",
                "root@pam",
                "RUNNING"
            ),
            (
                &*format!("pve1:00009F00:{}", start(T0)),
                "101 pfSense",
                "root@pam",
                "OK"
            ),
            (
                &*format!("pve1:00009E00:{}", start(T0 - 10)),
                "103 lab-test",
                "backup@pve",
                "ERROR: job errors"
            ),
            (
                &*format!("pve1:00009D00:{}", start(T0 - 86_400)),
                "103 lab-test",
                "backup@pve",
                "OK"
            ),
        ]
    );
    assert!(seen.jobs.iter().all(|j| j.action == "vzdump"));
    assert_eq!(seen.jobs[0].started, at(T0 + 86_400));
    assert_eq!(seen.jobs[0].finished, None);
    assert_eq!(seen.jobs[1].finished, at(T0 + 300));

    let alerts: Vec<(&str, &str, Severity)> = seen
        .alerts
        .iter()
        .map(|a| (a.name.as_str(), a.target.as_str(), a.severity))
        .collect();
    assert_eq!(
        alerts,
        [
            ("ProxmoxNodeDown", "pve2", Severity::Critical),
            ("BackupFailed", "pve1:103 lab-test", Severity::Warning),
        ],
        "a calm node raises nothing; the failed backup is the latest of VM 103"
    );
    assert_eq!(seen.alerts[1].since, at(T0 + 20));

    let requests = server.requests();
    let tasks = requests
        .iter()
        .find(|r| r.route() == "/api2/json/nodes/pve1/tasks")
        .unwrap();
    assert!(tasks.path.contains("typefilter=vzdump"), "{}", tasks.path);
    assert!(
        !requests.iter().any(|r| r.route().contains("pve2")),
        "an offline node is not asked for its VMs"
    );
    assert!(requests.iter().all(|r| r.method == "GET"));
    assert!(
        requests
            .iter()
            .all(|r| r.headers.contains_key("x-request-id"))
    );
}

#[tokio::test]
async fn proxmox_capacity_table_alerts_on_a_busy_node() {
    let busy = json!([
        { "node": "pve1", "status": "online", "cpu": 0.93, "maxcpu": 16,
          "mem": 62 * GIB, "maxmem": 64 * GIB, "disk": 90 * GIB, "maxdisk": 100 * GIB,
          "uptime": 100 }
    ]);
    let server = FakeServer::start(pve_cluster(busy)).await;
    let dir = tempfile::tempdir().unwrap();
    // The API root as Terraform's provider writes it works as well as the bare server.
    let mut poller = proxmox(
        &format!("{}/api2/json/", server.url("")),
        file_secret(&dir, "token", PVE_TOKEN),
    );
    let seen = poller.poll().await.unwrap();
    let node_alerts: Vec<(&str, &str, Severity, AlertState)> = seen
        .alerts
        .iter()
        .filter(|a| a.name != "BackupFailed")
        .map(|a| (a.name.as_str(), a.target.as_str(), a.severity, a.state))
        .collect();
    assert_eq!(
        node_alerts,
        [
            // 93 % is past 90 %, two thirds of the way from 70 % to full.
            (
                "HighCPUUsage",
                "pve1",
                Severity::Critical,
                AlertState::Pending
            ),
            // 2 GiB free: under 6 GiB, not under a quarter of it.
            (
                "HighMemoryUsage",
                "pve1",
                Severity::Warning,
                AlertState::Firing
            ),
            // 10 % free: under 20 %, and under 15 %.
            (
                "DiskSpaceLow",
                "pve1:/",
                Severity::Critical,
                AlertState::Firing
            ),
        ]
    );
    assert_eq!(host(&seen, "pve1").status, HostStatus::Degraded);
}

#[tokio::test]
async fn proxmox_refused_token_is_a_clear_error_without_the_secret() {
    let server = FakeServer::start(pve_cluster(pve_nodes_calm())).await;
    let dir = tempfile::tempdir().unwrap();
    let token = file_secret(&dir, "token", "ondeck@pve!monitor=wrong-secret-value");
    let shown = token.to_string();
    let error = proxmox(&server.url(""), token).poll().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, SourceError::Status { status: 401, .. }));
    assert!(message.contains("authentication failed"), "{message}");
    assert!(
        message.contains(&shown),
        "names where the token comes from: {message}"
    );
    assert!(!message.contains("wrong-secret-value"), "{message}");
    assert!(!message.contains(PVE_SECRET_PART));

    let garbled = file_secret(&dir, "garbled", "just-a-password");
    let error = proxmox(&server.url(""), garbled).poll().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is not of the form USER@REALM!TOKENID=SECRET"),
        "{error}"
    );
    assert!(!error.to_string().contains("just-a-password"));
}

#[tokio::test]
async fn proxmox_malformed_answers_are_errors_not_panics() {
    let bodies = [
        // Cut off mid-way.
        (200, r#"{"data":[{"node":"pve1","status":"onl"#),
        // Not the documented shape.
        (200, r#"{"data":"pve1"}"#),
        // A 200 that carries no data.
        (200, r#"{"data":null}"#),
        // A proxy's error page.
        (502, "<html>Bad Gateway</html>"),
    ];
    for (status, body) in bodies {
        let server = FakeServer::start(move |_: &Request| Reply::json(status, body)).await;
        let dir = tempfile::tempdir().unwrap();
        let error = proxmox(&server.url(""), file_secret(&dir, "token", PVE_TOKEN))
            .poll()
            .await
            .unwrap_err();
        let message = error.to_string();
        if status == 200 {
            assert!(
                message.starts_with("unexpected Proxmox answer from /nodes"),
                "{message}"
            );
        } else {
            assert!(message.contains("answered 502"), "{message}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kasm Workspaces
// ---------------------------------------------------------------------------------------------

const KASM_KEY: &str = "bMjMwTT0JKUQ";
const KASM_KEY_SECRET: &str = "KUNAvRw4KLHGmldBxhRUD5sAhWkvJVzS";

/// One session as the Kasm Developer API documentation's "Get Kasms" example response lists
/// it (`POST /api/public/get_kasms`): the session with its `user`, `image` and `server`
/// objects, `operational_status`, and dates in UTC written without a zone. The field names
/// were checked against Kasm's docs and public clients of the API (`kasms`, `kasm_id`,
/// `operational_status`, `start_date`, `keepalive_date`, `image.friendly_name`).
fn kasm_session(id: &str, user: &str, image: &str, status: &str, started: &str) -> Value {
    json!({
        "kasm_id": id,
        "user_id": format!("{id}-user"),
        "user": { "username": user },
        "username": user,
        "image_id": "c6f3ad5bb3e54d6b9b8f9a8e7d6c5b4a",
        "image": { "image_id": "c6f3ad5bb3e54d6b9b8f9a8e7d6c5b4a", "name": "kasmweb/chrome:1.15.0",
                   "friendly_name": image, "image_src": "img/thumbnails/chrome.png" },
        "operational_status": status,
        "start_date": started,
        "keepalive_date": "2024-05-02 09:40:00.000000",
        "expiration_date": "2024-05-02 10:40:00.000000",
        "container_ip": "172.18.0.5",
        "hostname": "kasm-agent-01",
        "port": 443,
        "server_id": "4f3e2d1c0b0a09080706050403020100",
        "server": { "server_id": "4f3e2d1c0b0a09080706050403020100", "hostname": "kasm-agent-01",
                    "port": 443, "zone_name": "default" },
        "is_persistent_profile": false,
        "share_id": null
    })
}

/// `POST /api/public/get_kasms`: the sessions when the body carries the right key pair;
/// otherwise the documented error envelope `{"error_message": "…"}`.
fn kasm_api(
    sessions: Vec<Value>,
    refused_status: u16,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| {
        if request.method != "POST" || request.route() != "/api/public/get_kasms" {
            return answer(404, &json!({ "error_message": "Not found" }));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if body["api_key"] != KASM_KEY || body["api_key_secret"] != KASM_KEY_SECRET {
            return answer(
                refused_status,
                &json!({ "error_message": "Invalid API Key" }),
            );
        }
        answer(
            200,
            &json!({ "kasms": sessions, "current_time": "2024-05-02 09:45:00.000000" }),
        )
    }
}

fn kasm(url: &str, dir: &tempfile::TempDir, key: &str, limit: u32) -> KasmPoller {
    let spec = KasmSource {
        url: format!("{url}/"),
        api_key: file_secret(dir, "key", key),
        api_key_secret: file_secret(dir, "key-secret", KASM_KEY_SECRET),
        session_limit: limit,
    };
    KasmPoller::new("kasm", spec, timeout()).unwrap()
}

fn running(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            kasm_session(
                &format!("k{i}"),
                &format!("op{i}@example.com"),
                "Chrome",
                "running",
                "2024-05-02 09:00:00.000000",
            )
        })
        .collect()
}

#[tokio::test]
async fn kasm_sessions_become_rows_with_a_summary_host() {
    let sessions = vec![
        kasm_session(
            "a1b2",
            "alice@example.com",
            "Chrome",
            "running",
            "2024-05-02 09:14:03.512346",
        ),
        kasm_session(
            "c3d4",
            "bob@example.com",
            "Ubuntu Jammy",
            "starting",
            "2024-05-02 09:44:00.000000",
        ),
        json!({ "kasm_id": "e5f6", "operational_status": "stopped", "user": null,
                "hostname": "kasm-agent-02" }),
    ];
    let server = FakeServer::start(kasm_api(sessions, 200)).await;
    let dir = tempfile::tempdir().unwrap();
    let seen = kasm(&server.url(""), &dir, KASM_KEY, 5)
        .poll()
        .await
        .unwrap();

    let rows: Vec<(&str, &str, &str)> = seen
        .sessions
        .iter()
        .map(|s| (s.user.as_str(), s.client.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("alice@example.com", "Chrome", "running"),
            ("bob@example.com", "Ubuntu Jammy", "starting"),
            ("anonymous", "kasm-agent-02", "stopped"),
        ]
    );
    let alice = &seen.sessions[0];
    assert_eq!(
        alice.since,
        Some(
            "2024-05-02T09:14:03.512346Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        )
    );
    assert_eq!(alice.fields["kasm_id"], json!("a1b2"));
    assert_eq!(alice.fields["server"], json!("kasm-agent-01"));
    // Measured by the server's current_time (09:45:00) against the keepalive (09:40:00).
    assert_eq!(alice.fields["keepalive_age_s"], json!(300));
    assert_eq!(alice.detail, "keepalive 5m ago · on kasm-agent-01");
    assert!(seen.sessions.iter().all(|s| s.source == "kasm"));

    let summary = host(&seen, "kasm");
    assert_eq!(summary.kind, "kasm");
    assert_eq!(summary.status, HostStatus::Up);
    assert_eq!(summary.fields["active_sessions"], json!(1));
    assert_eq!(summary.fields["sessions"], json!(3));
    assert_eq!(summary.fields["session_limit"], json!(5));
    assert!(seen.alerts.is_empty());

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.contains_key("x-request-id"));
    assert_eq!(
        requests[0].headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
}

#[tokio::test]
async fn kasm_alerts_only_above_the_session_limit() {
    let dir = tempfile::tempdir().unwrap();
    let at_limit = FakeServer::start(kasm_api(running(5), 200)).await;
    let seen = kasm(&at_limit.url(""), &dir, KASM_KEY, 5)
        .poll()
        .await
        .unwrap();
    assert!(seen.alerts.is_empty(), "five is within the runbook's limit");

    let over = FakeServer::start(kasm_api(running(6), 200)).await;
    let seen = kasm(&over.url(""), &dir, KASM_KEY, 5).poll().await.unwrap();
    assert_eq!(seen.alerts.len(), 1);
    let alert = &seen.alerts[0];
    assert_eq!(alert.name, "KasmSessionLimit");
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.target, "kasm");
    assert_eq!(alert.summary, "6 active sessions (limit 5)");
    assert_eq!(host(&seen, "kasm").status, HostStatus::Degraded);
}

#[tokio::test]
async fn kasm_refused_keys_are_a_clear_error_without_the_secrets() {
    // Kasm reports a refusal in `error_message`; whether the status is 200 or 401, it fails.
    for status in [200, 401] {
        let server = FakeServer::start(kasm_api(running(1), status)).await;
        let dir = tempfile::tempdir().unwrap();
        let error = kasm(&server.url(""), &dir, "not-the-key", 5)
            .poll()
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("Invalid API Key"), "{message}");
        assert!(message.contains("api_key file:"), "{message}");
        assert!(!message.contains("not-the-key"), "{message}");
        assert!(!message.contains(KASM_KEY_SECRET), "{message}");
    }
}

#[tokio::test]
async fn kasm_malformed_answers_are_errors_not_panics() {
    let cases = [
        (
            200,
            r#"{"kasms":[{"kasm_id":"a1b2","user":{"user"#,
            "Kasm get_kasms answer",
        ),
        (
            200,
            r#"{"current_time":"2024-05-02 09:45:00"}"#,
            "no `kasms` list",
        ),
        (
            200,
            r#"{"kasms":[{"operational_status":"running"}]}"#,
            "kasm_id",
        ),
        (500, "Internal Server Error", "answered 500"),
    ];
    for (status, body, expected) in cases {
        let server = FakeServer::start(move |_: &Request| Reply::json(status, body)).await;
        let dir = tempfile::tempdir().unwrap();
        let error = kasm(&server.url(""), &dir, KASM_KEY, 5)
            .poll()
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}
