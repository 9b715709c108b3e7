//! The `proxmox` source: a Proxmox VE cluster's nodes and QEMU VMs as host rows, its vzdump
//! tasks (the daily VM backups) as jobs, and the capacity table's alerts per node.
//!
//! Endpoints (Proxmox VE API, `/api2/json`, every answer wrapped in `{"data": …}`):
//! `GET /nodes`, `GET /nodes/{node}/qemu` and `GET /nodes/{node}/tasks?typefilter=vzdump`,
//! authenticated with an API token (`Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`).
//!
//! The capacity table (CPU < 70 %, > 6 GiB RAM free, > 20 % disk free) is about the Proxmox
//! host, so its rules apply to nodes, through the same rules and alert names as the `local`
//! source (HighCPUUsage held pending for five minutes, HighMemoryUsage, DiskSpaceLow on the
//! node's root disk). An offline node is `ProxmoxNodeDown` (critical); a VM whose latest
//! vzdump failed is `BackupFailed` (warning) until a later backup of it succeeds.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::alerting::FirstSeen;
use super::fetch;
use super::local::{self, Measurements, MountUsage, round1};
use super::{Poller, SourceError};
use crate::config::{LocalSource, ProxmoxSource, Secret, mask_url};
use crate::model::{AlertRow, AlertState, HostRow, HostStatus, JobRow, Observation, Severity};

pub const NODE_DOWN: &str = "ProxmoxNodeDown";
pub const BACKUP_FAILED: &str = "BackupFailed";

/// How many recent vzdump tasks are read per node: a few days of daily backups of a
/// handful of VMs.
const TASK_LIMIT: u32 = 50;

/// Polls one Proxmox VE cluster (or single node) through its API.
#[derive(Debug)]
pub struct ProxmoxPoller {
    source: String,
    /// `https://host:8006/api2/json`, without a trailing slash.
    api: String,
    token: Secret,
    client: reqwest::Client,
    limits: LocalSource,
    first_seen: FirstSeen,
}

impl ProxmoxPoller {
    /// `spec.url` may be the server (`https://pve.example.com:8006`) or its API root
    /// (`…/api2/json`, as Terraform's provider is configured).
    pub fn new(
        source: &str,
        spec: ProxmoxSource,
        timeout: Duration,
    ) -> Result<ProxmoxPoller, SourceError> {
        let base = spec.url.trim_end_matches('/');
        let base = base.strip_suffix("/api2/json").unwrap_or(base);
        Ok(ProxmoxPoller {
            source: source.to_owned(),
            api: format!("{base}/api2/json"),
            token: spec.token,
            client: fetch::client(timeout, &spec.trust, fetch::Redirects::Never)?,
            limits: LocalSource::default(),
            first_seen: FirstSeen::default(),
        })
    }

    /// The token header, resolved at each poll so a rotated token file is picked up.
    fn auth_headers(&self) -> Result<HeaderMap, SourceError> {
        let token = self
            .token
            .resolve()
            .map_err(|e| SourceError::Setup(e.to_string()))?;
        let token = token.strip_prefix("PVEAPIToken=").unwrap_or(&token);
        let well_formed = token
            .split_once('!')
            .is_some_and(|(user, rest)| user.contains('@') && rest.contains('='));
        if !well_formed {
            return Err(SourceError::Setup(format!(
                "the Proxmox token ({}) is not of the form USER@REALM!TOKENID=SECRET",
                self.token
            )));
        }
        fetch::headers([("authorization", format!("PVEAPIToken={token}"))])
    }

    /// GET one API path and unwrap its `{"data": …}`; also returns the round trip.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<(T, u64), SourceError> {
        let url = format!("{}{path}", self.api);
        let fetched = fetch::get(&self.client, &url, headers).await?;
        let refused = match fetched.status {
            401 => Some(format!(
                "authentication failed; check the API token ({})",
                self.token
            )),
            403 => Some(format!(
                "permission denied; give the token ({}) the PVEAuditor role on /",
                self.token
            )),
            _ => None,
        };
        if let Some(body) = refused {
            return Err(SourceError::Status {
                url: mask_url(&url),
                status: fetched.status,
                body,
            });
        }
        let fetched = fetched.require_success(&url)?;
        let what = format!("Proxmox answer from {path}");
        let envelope: Envelope<T> = fetched.json(&what)?;
        let data = envelope.data.ok_or_else(|| SourceError::BadResponse {
            what,
            reason: "`data` is null".to_owned(),
        })?;
        Ok((data, fetched.latency_ms))
    }

    /// A node's VMs and recent backups; a failure stays with that node.
    async fn node_details(&self, node: &str, headers: &HeaderMap) -> NodeDetails {
        if !valid_node_name(node) {
            return NodeDetails::failed(format!("node name {node:?} is not a Proxmox node name"));
        }
        let vms_path = format!("/nodes/{node}/qemu");
        // `source=all`: running backups too, not only the finished ones kept in the archive.
        let tasks_path =
            format!("/nodes/{node}/tasks?typefilter=vzdump&source=all&limit={TASK_LIMIT}");
        let vms = self.get::<Vec<Vm>>(&vms_path, headers);
        let tasks = self.get::<Vec<Task>>(&tasks_path, headers);
        match futures_util::future::try_join(vms, tasks).await {
            Ok(((vms, _), (tasks, _))) => NodeDetails {
                vms,
                tasks,
                error: None,
            },
            Err(error) => NodeDetails::failed(error.to_string()),
        }
    }
}

impl Poller for ProxmoxPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let headers = self.auth_headers()?;
        let (nodes, latency_ms) = self.get::<Vec<Node>>("/nodes", &headers).await?;
        let details = join_all(nodes.iter().map(|node| async {
            if node.online() {
                self.node_details(&node.node, &headers).await
            } else {
                NodeDetails::default()
            }
        }))
        .await;
        let now = Utc::now();
        let cluster: Vec<(Node, NodeDetails)> = nodes.into_iter().zip(details).collect();
        let mut observation = observe(&cluster, &self.source, &self.limits, latency_ms, now);
        // A failed backup is dated by the task's end; the others by when they were first seen.
        let (backups, mut alerts): (Vec<AlertRow>, Vec<AlertRow>) = observation
            .alerts
            .into_iter()
            .partition(|alert| alert.name == BACKUP_FAILED);
        local::stamp_and_hold(&mut self.first_seen, &mut alerts, now);
        alerts.extend(backups);
        observation.alerts = alerts;
        // Firing capacity alerts degrade a node; a pending CPU spike does not, and neither
        // does a failed backup, which is about one VM.
        for host in &mut observation.hosts {
            let firing = observation.alerts.iter().any(|alert| {
                alert.state == AlertState::Firing
                    && alert.name != BACKUP_FAILED
                    && alert_is_about(alert, &host.name)
            });
            if host.kind == NODE_KIND && host.status == HostStatus::Up && firing {
                host.status = HostStatus::Degraded;
            }
        }
        Ok(observation)
    }
}

pub const NODE_KIND: &str = "proxmox-node";
pub const VM_KIND: &str = "proxmox-vm";

fn alert_is_about(alert: &AlertRow, node: &str) -> bool {
    alert.target == node
        || alert
            .target
            .strip_prefix(node)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// Node names go into request paths; a lying server must not steer them elsewhere.
fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Proxmox wraps every answer in `{"data": …}`; errors come with `"data": null`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Option<T>,
}

/// One entry of `GET /nodes`. CPU is a share of all cores (0.12 = 12 %); sizes are bytes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Node {
    pub node: String,
    /// `online`, `offline` or `unknown`.
    #[serde(default)]
    pub status: String,
    pub cpu: Option<f64>,
    pub maxcpu: Option<f64>,
    pub mem: Option<f64>,
    pub maxmem: Option<f64>,
    pub disk: Option<f64>,
    pub maxdisk: Option<f64>,
    pub uptime: Option<f64>,
}

impl Node {
    fn online(&self) -> bool {
        self.status == "online"
    }
}

/// One entry of `GET /nodes/{node}/qemu`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Vm {
    pub vmid: VmId,
    pub name: Option<String>,
    /// `running` or `stopped`.
    #[serde(default)]
    pub status: String,
    /// `paused` for a running VM that is paused.
    pub qmpstatus: Option<String>,
    pub cpu: Option<f64>,
    pub cpus: Option<f64>,
    pub mem: Option<f64>,
    pub maxmem: Option<f64>,
    pub disk: Option<f64>,
    pub maxdisk: Option<f64>,
    pub uptime: Option<f64>,
    /// `1` for a template, which is never started and so is no host.
    pub template: Option<serde_json::Value>,
    /// `backup` while vzdump holds it.
    pub lock: Option<String>,
}

impl Vm {
    fn is_template(&self) -> bool {
        matches!(&self.template, Some(v) if v == &json!(1) || v == &json!(true) || v == &json!("1"))
    }

    fn display_name(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("vm{}", self.vmid.0))
    }
}

/// A VM id, which the API gives as a number (and some versions as a string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmId(pub String);

impl<'de> Deserialize<'de> for VmId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        Ok(VmId(match Raw::deserialize(deserializer)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(text) => text,
        }))
    }
}

/// One entry of `GET /nodes/{node}/tasks`. A running task has no `status` and no `endtime`;
/// a finished one says `OK`, `WARNINGS: n` or the error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Task {
    pub upid: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The VM id for vzdump; empty for a job over all VMs.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user: String,
    pub status: Option<String>,
    pub starttime: Option<i64>,
    pub endtime: Option<i64>,
}

/// A node's VMs and tasks, or why they could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeDetails {
    pub vms: Vec<Vm>,
    pub tasks: Vec<Task>,
    pub error: Option<String>,
}

impl NodeDetails {
    fn failed(error: String) -> NodeDetails {
        NodeDetails {
            error: Some(error),
            ..NodeDetails::default()
        }
    }
}

/// Everything one poll saw, as rows. Pure, so the mapping and the rules can be checked
/// without a server; `since` of every alert is `now` (or the failed backup's end).
pub fn observe(
    cluster: &[(Node, NodeDetails)],
    source: &str,
    limits: &LocalSource,
    latency_ms: u64,
    now: DateTime<Utc>,
) -> Observation {
    let mut observation = Observation::default();
    for (node, details) in cluster {
        observation
            .hosts
            .push(node_row(node, details, source, latency_ms, now));
        if node.online() {
            observation
                .alerts
                .extend(local::evaluate(&measurements(node), limits, source, now));
        } else {
            observation.alerts.push(AlertRow::raised(
                source,
                NODE_DOWN,
                Severity::Critical,
                node.node.clone(),
                format!("node {} is {}", node.node, node.status),
                now,
            ));
        }
        for vm in details.vms.iter().filter(|vm| !vm.is_template()) {
            observation.hosts.push(vm_row(vm, &node.node, source, now));
        }
        let names: HashMap<&str, String> = details
            .vms
            .iter()
            .map(|vm| (vm.vmid.0.as_str(), vm.display_name()))
            .collect();
        let mut tasks: Vec<&Task> = details
            .tasks
            .iter()
            .filter(|t| t.kind == "vzdump")
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.starttime));
        observation
            .jobs
            .extend(tasks.iter().map(|task| job_row(task, &names, source, now)));
        observation
            .alerts
            .extend(backup_alerts(&tasks, &node.node, &names, source, now));
    }
    observation
}

/// A node in the shape of the local source's readings, so the same threshold rules apply.
fn measurements(node: &Node) -> Measurements {
    let bytes = |value: Option<f64>| value.unwrap_or(0.0).max(0.0) as u64;
    let mem_total = bytes(node.maxmem);
    let disk_total = bytes(node.maxdisk);
    Measurements {
        hostname: node.node.clone(),
        os: String::new(),
        cpu_pct: (node.cpu.unwrap_or(0.0) * 100.0).clamp(0.0, 100.0),
        cpu_count: bytes(node.maxcpu) as usize,
        mem_total_bytes: mem_total,
        mem_available_bytes: mem_total.saturating_sub(bytes(node.mem)),
        load: [0.0; 3],
        uptime_s: bytes(node.uptime),
        mounts: if disk_total > 0 {
            vec![MountUsage {
                mount: "/".to_owned(),
                total_bytes: disk_total,
                available_bytes: disk_total.saturating_sub(bytes(node.disk)),
            }]
        } else {
            Vec::new()
        },
    }
}

fn share_pct(used: Option<f64>, total: Option<f64>) -> Option<f64> {
    match (used, total) {
        (Some(used), Some(total)) if total > 0.0 => Some(round1(used / total * 100.0)),
        _ => None,
    }
}

fn node_row(
    node: &Node,
    details: &NodeDetails,
    source: &str,
    latency_ms: u64,
    now: DateTime<Utc>,
) -> HostRow {
    let mut fields = BTreeMap::new();
    let numbers = [
        ("cpus", node.maxcpu),
        ("mem_total_bytes", node.maxmem),
        ("disk_total_bytes", node.maxdisk),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            fields.insert(key.to_owned(), json!(value.max(0.0) as u64));
        }
    }
    if let (Some(mem), Some(total)) = (node.mem, node.maxmem) {
        fields.insert(
            "mem_free_bytes".to_owned(),
            json!((total - mem).max(0.0) as u64),
        );
    }
    if let Some(error) = &details.error {
        fields.insert("error".to_owned(), json!(error));
    }
    let online = node.online();
    HostRow {
        source: source.to_owned(),
        name: node.node.clone(),
        kind: NODE_KIND.to_owned(),
        status: match node.status.as_str() {
            "online" if details.error.is_some() => HostStatus::Degraded,
            "online" => HostStatus::Up,
            "offline" => HostStatus::Down,
            _ => HostStatus::Unknown,
        },
        latency_ms: Some(latency_ms),
        cpu_pct: online
            .then(|| node.cpu.map(|c| round1((c * 100.0).clamp(0.0, 100.0))))
            .flatten(),
        mem_pct: online.then(|| share_pct(node.mem, node.maxmem)).flatten(),
        disk_pct: online.then(|| share_pct(node.disk, node.maxdisk)).flatten(),
        load1: None,
        uptime_s: online
            .then(|| node.uptime.map(|u| u.max(0.0) as u64))
            .flatten(),
        version: None,
        observed_at: now,
        fields,
    }
}

fn vm_row(vm: &Vm, node: &str, source: &str, now: DateTime<Utc>) -> HostRow {
    let running = vm.status == "running";
    let mut fields = BTreeMap::from([
        ("vmid".to_owned(), json!(vm.vmid.0)),
        ("node".to_owned(), json!(node)),
    ]);
    if let Some(cpus) = vm.cpus {
        fields.insert("cpus".to_owned(), json!(cpus));
    }
    if let Some(maxmem) = vm.maxmem {
        fields.insert("mem_total_bytes".to_owned(), json!(maxmem.max(0.0) as u64));
    }
    if let Some(lock) = &vm.lock {
        fields.insert("lock".to_owned(), json!(lock));
    }
    let paused = matches!(vm.qmpstatus.as_deref(), Some("paused" | "suspended"));
    HostRow {
        source: source.to_owned(),
        name: vm.display_name(),
        kind: VM_KIND.to_owned(),
        status: match vm.status.as_str() {
            "running" if paused => HostStatus::Degraded,
            "running" => HostStatus::Up,
            "stopped" => HostStatus::Down,
            "paused" | "suspended" => HostStatus::Degraded,
            _ => HostStatus::Unknown,
        },
        latency_ms: None,
        cpu_pct: running
            .then(|| vm.cpu.map(|c| round1((c * 100.0).clamp(0.0, 100.0))))
            .flatten(),
        mem_pct: running.then(|| share_pct(vm.mem, vm.maxmem)).flatten(),
        // The list reports no disk use for QEMU guests (0) unless an agent fills it in.
        disk_pct: share_pct(vm.disk.filter(|d| *d > 0.0), vm.maxdisk),
        load1: None,
        uptime_s: running
            .then(|| vm.uptime.map(|u| u.max(0.0) as u64))
            .flatten(),
        version: None,
        observed_at: now,
        fields,
    }
}

/// `UPID:pve1:000A1B2C:0F3E2D1C:65F0A1B2:vzdump:101:root@pam:` → `pve1:000A1B2C:65F0A1B2`:
/// node, process and start time identify the task and fit a table column.
pub fn short_upid(upid: &str) -> String {
    let parts: Vec<&str> = upid.split(':').collect();
    match parts.as_slice() {
        ["UPID", node, pid, _pstart, start, ..] => format!("{node}:{pid}:{start}"),
        _ => upid.to_owned(),
    }
}

/// RUNNING, OK, `WARNINGS: n` (a backup that finished with warnings), or `ERROR: …`.
pub fn task_state(task: &Task) -> String {
    match task.status.as_deref().map(str::trim) {
        None => "RUNNING".to_owned(),
        Some(_) if task.endtime.is_none() => "RUNNING".to_owned(),
        Some("OK") => "OK".to_owned(),
        Some(warnings) if warnings.starts_with("WARNINGS") => warnings.to_owned(),
        Some(error) => format!("ERROR: {error}"),
    }
}

fn task_target(task: &Task, names: &HashMap<&str, String>) -> String {
    match names.get(task.id.as_str()) {
        _ if task.id.is_empty() => "all VMs".to_owned(),
        Some(name) => format!("{} {name}", task.id),
        None => task.id.clone(),
    }
}

fn timestamp(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn job_row(task: &Task, names: &HashMap<&str, String>, source: &str, now: DateTime<Utc>) -> JobRow {
    JobRow {
        source: source.to_owned(),
        id: short_upid(&task.upid),
        action: "vzdump".to_owned(),
        target: task_target(task, names),
        operator: task.user.clone(),
        state: task_state(task),
        progress: None,
        started: timestamp(task.starttime),
        finished: timestamp(task.endtime),
        result: None,
        observed_at: now,
    }
}

/// One alert per VM whose most recent finished backup failed. `tasks` is newest first.
fn backup_alerts(
    tasks: &[&Task],
    node: &str,
    names: &HashMap<&str, String>,
    source: &str,
    now: DateTime<Utc>,
) -> Vec<AlertRow> {
    let mut seen = std::collections::HashSet::new();
    let mut alerts = Vec::new();
    for task in tasks.iter().filter(|t| t.endtime.is_some()) {
        if !seen.insert(task.id.as_str()) {
            continue;
        }
        let state = task_state(task);
        if state == "OK" || state.starts_with("WARNINGS") {
            continue;
        }
        let target = task_target(task, names);
        alerts.push(AlertRow {
            since: timestamp(task.endtime).or(Some(now)),
            ..AlertRow::raised(
                source,
                BACKUP_FAILED,
                Severity::Warning,
                format!("{node}:{target}"),
                format!("vzdump of {target} on {node}: {state}"),
                now,
            )
        });
    }
    alerts
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzzing::{self, assert_explained, json_body};

    /// `get`'s decoding: the envelope and its `data`.
    fn decode<T: DeserializeOwned>(status: u16, body: Vec<u8>) -> Result<T, SourceError> {
        let what = "Proxmox answer from /nodes".to_owned();
        let envelope: Envelope<T> = fuzzing::answer(status, body)
            .require_success("https://pve.example.com:8006/api2/json/nodes")?
            .json(&what)?;
        envelope.data.ok_or_else(|| SourceError::BadResponse {
            what,
            reason: "`data` is null".to_owned(),
        })
    }

    proptest! {
        #![proptest_config(fuzzing::config())]

        /// Nodes, VMs and backup tasks become rows, jobs and alerts, or are refused.
        #[test]
        fn fuzz_proxmox(
            status in fuzzing::status(),
            nodes in json_body(json!({"data": [
                {"node": "pve1", "status": "online", "cpu": 0.12, "maxcpu": 8, "mem": 4.0e9,
                 "maxmem": 3.2e10, "disk": 1.0e10, "maxdisk": 1.0e11, "uptime": 86400},
                {"node": "pve2", "status": "offline"}]})),
            vms in json_body(json!({"data": [
                {"vmid": 100, "name": "web", "status": "running", "qmpstatus": "running", "cpu": 0.5,
                 "cpus": 2, "mem": 1.0e9, "maxmem": 2.0e9, "disk": 0, "maxdisk": 3.0e10, "uptime": 3600},
                {"vmid": "101", "name": "", "status": "stopped", "template": 1, "lock": "backup"}]})),
            tasks in json_body(json!({"data": [
                {"upid": "UPID:pve1:00001234:0000ABCD:66380000:vzdump:100:root@pam:", "type": "vzdump",
                 "id": "100", "user": "root@pam", "status": "job errors", "starttime": 1715000000,
                 "endtime": 1715000600},
                {"upid": "UPID:pve1:1:2:3:vzdump::root@pam:", "type": "vzdump", "id": "",
                 "user": "root@pam", "starttime": 1715000000}]})),
        ) {
            let nodes = decode::<Vec<Node>>(status, nodes);
            let vms = decode::<Vec<Vm>>(200, vms);
            let tasks = decode::<Vec<Task>>(200, tasks);
            for error in [nodes.as_ref().err(), vms.as_ref().err(), tasks.as_ref().err()].into_iter().flatten() {
                assert_explained(error);
            }
            if let Ok(nodes) = nodes {
                let details = match (vms, tasks) {
                    (Ok(vms), Ok(tasks)) => NodeDetails { vms, tasks, error: None },
                    (Err(error), _) | (_, Err(error)) => NodeDetails::failed(error.to_string()),
                };
                let cluster: Vec<(Node, NodeDetails)> =
                    nodes.into_iter().map(|node| (node, details.clone())).collect();
                observe(&cluster, "pve", &LocalSource::default(), 12, Utc::now());
            }
        }

        #[test]
        fn fuzz_proxmox_names(text in "\\PC{0,80}") {
            valid_node_name(&text);
            short_upid(&text);
        }
    }
}
