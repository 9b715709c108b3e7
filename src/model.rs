//! The rows the five panes show, as sources report them.
//!
//! These types are plain data: pollers build them, `update` stores them, the UI and
//! `ondeck snapshot --json` read them. Their serde form is the JSON schema documented in
//! `docs/snapshot-json.md`, so fields are only ever added, never renamed.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::OperatorIdentity;

/// Health of one host row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Down,
    Degraded,
    Stale,
    Unknown,
    Up,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Up => "up",
            HostStatus::Degraded => "degraded",
            HostStatus::Down => "down",
            HostStatus::Stale => "stale",
            HostStatus::Unknown => "unknown",
        }
    }
}

/// Alert severity; the order is the Alerts pane's grouping order (most severe first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Maps the free-form `severity` label used by Prometheus rules and Alertmanager.
    pub fn from_label(label: &str) -> Severity {
        match label.to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "error" | "high" | "emergency" | "alert" => {
                Severity::Critical
            }
            "warning" | "warn" | "medium" => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Pending,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRow {
    pub source: String,
    pub name: String,
    pub kind: String,
    pub status: HostStatus,
    pub latency_ms: Option<u64>,
    pub cpu_pct: Option<f64>,
    pub mem_pct: Option<f64>,
    /// Used share of the fullest disk, in percent.
    pub disk_pct: Option<f64>,
    pub load1: Option<f64>,
    pub uptime_s: Option<u64>,
    pub version: Option<String>,
    /// When the data behind this row was read.
    pub observed_at: DateTime<Utc>,
    /// Kind-specific fields (an OpenBao node's `sealed`, `t`, `n`, …; a disk per mount).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub source: String,
    pub user: String,
    pub client: String,
    pub state: String,
    /// What the session is on and doing beyond its client, in the source's words (its database
    /// and application, what it waits for); empty when the source says nothing more.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub since: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl SessionRow {
    /// A `detail` from the parts a source knows, in the order given, the same way for every
    /// source: `waits Lock:relation · db certhub`.
    pub fn detail_of(parts: impl IntoIterator<Item = Option<String>>) -> String {
        parts.into_iter().flatten().collect::<Vec<_>>().join(" · ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub source: String,
    pub id: String,
    pub action: String,
    pub target: String,
    pub operator: String,
    pub state: String,
    /// 0.0 ..= 1.0 where known.
    pub progress: Option<f64>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// How it ended, in a line: its error, or the summary its work gave.
    pub result: Option<String>,
    pub observed_at: DateTime<Utc>,
}

impl JobRow {
    pub fn duration_s(&self, now: DateTime<Utc>) -> Option<i64> {
        let start = self.started?;
        Some((self.finished.unwrap_or(now) - start).num_seconds().max(0))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub source: String,
    pub name: String,
    pub severity: Severity,
    pub state: AlertState,
    pub target: String,
    pub since: Option<DateTime<Utc>>,
    pub silenced: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Identity used to deduplicate the same alert seen through several sources.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// The alert's labels as its rule or Alertmanager gives them (`instance`, `job`, …), for the
    /// detail view.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub observed_at: DateTime<Utc>,
}

/// The kind-specific host fields that are read by more than the source that writes them.
pub mod host_fields {
    /// Why a host is down or degraded, in one line (`answered 503, expected 200`).
    pub const REASON: &str = "reason";
    /// An OpenBao node: whether it is sealed, and its unseal progress of threshold `t`.
    pub const SEALED: &str = "sealed";
    pub const UNSEAL_PROGRESS: &str = "progress";
    pub const UNSEAL_THRESHOLD: &str = "t";
    /// A release: the release deployed now and the one before it.
    pub const CURRENT_REF: &str = "current_ref";
    pub const PREVIOUS_REF: &str = "previous_ref";
}

/// A sealed OpenBao node's unseal progress: `progress` of `threshold` key shares given, where
/// the node said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub progress: Option<u64>,
    pub threshold: Option<u64>,
}

impl HostRow {
    /// A row for what a check saw of `name` at `now`, with no measurements yet: the kinds that
    /// report few of the columns set theirs on top.
    pub fn checked(
        source: &str,
        name: impl Into<String>,
        kind: &str,
        status: HostStatus,
        now: DateTime<Utc>,
    ) -> HostRow {
        HostRow {
            source: source.to_owned(),
            name: name.into(),
            kind: kind.to_owned(),
            status,
            latency_ms: None,
            cpu_pct: None,
            mem_pct: None,
            disk_pct: None,
            load1: None,
            uptime_s: None,
            version: None,
            observed_at: now,
            fields: BTreeMap::new(),
        }
    }
}

impl HostRow {
    fn text_field(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// Why the host is down or degraded, when its source said.
    pub fn reason(&self) -> Option<&str> {
        self.text_field(host_fields::REASON)
    }

    /// The seal of a sealed OpenBao node; `None` for any other row.
    pub fn sealed(&self) -> Option<Sealed> {
        let field = |key: &str| self.fields.get(key).and_then(serde_json::Value::as_u64);
        let sealed = self.fields.get(host_fields::SEALED)?.as_bool()?;
        sealed.then(|| Sealed {
            progress: field(host_fields::UNSEAL_PROGRESS),
            threshold: field(host_fields::UNSEAL_THRESHOLD),
        })
    }

    /// The release a rollback of this row would go from and to: its current and previous refs.
    /// `None` for a row that is not a release, has no previous release, or whose previous
    /// release is the current one (nothing to roll back to).
    pub fn rollback_target(&self) -> Option<(String, String)> {
        if self.kind != "release" {
            return None;
        }
        let from = self.text_field(host_fields::CURRENT_REF)?;
        let to = self.text_field(host_fields::PREVIOUS_REF)?;
        (from != to).then(|| (from.to_owned(), to.to_owned()))
    }
}

impl AlertRow {
    /// An alert ondeck raises itself from what it read at `now`: firing, not silenced, first
    /// seen `now` (a poller that remembers earlier sightings moves `since` back), with no
    /// fingerprint.
    pub fn raised(
        source: &str,
        name: &str,
        severity: Severity,
        target: impl Into<String>,
        summary: impl Into<String>,
        now: DateTime<Utc>,
    ) -> AlertRow {
        AlertRow {
            source: source.to_owned(),
            name: name.to_owned(),
            severity,
            state: AlertState::Firing,
            target: target.into(),
            since: Some(now),
            silenced: false,
            summary: summary.into(),
            fingerprint: String::new(),
            labels: BTreeMap::new(),
            observed_at: now,
        }
    }
}

/// What the console and `snapshot` read from the store: the job ledger, the audit tail, the
/// open operator consoles, and the alerts ondeck raises on its own jobs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreRows {
    pub jobs: Vec<JobRow>,
    pub audit: Vec<AuditRow>,
    pub sessions: Vec<SessionRow>,
    pub alerts: Vec<AlertRow>,
    /// The two-person requests waiting for a second operator.
    pub approvals: Vec<ApprovalRequest>,
}

/// A two-person request waiting for another operator's approval (its job is REQUESTED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub job_id: String,
    pub action: String,
    pub target: String,
    /// The requester's label, as the Jobs pane shows it.
    pub operator: String,
    /// The requester's OS account and host (`alice@ops-01`), whom the approver must not be.
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub source: String,
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub operator: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Who acted, as the OS saw it: the store's records since the identity was recorded (for
    /// them `operator` is the OS account's name). Older records and named queries have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<OperatorIdentity>,
    /// The job the record opens, moves or closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything one successful poll of one source saw. It replaces that source's previous rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub hosts: Vec<HostRow>,
    pub sessions: Vec<SessionRow>,
    pub jobs: Vec<JobRow>,
    pub alerts: Vec<AlertRow>,
    pub audit: Vec<AuditRow>,
    /// The named queries that returned more rows than they may show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Truncated>,
}

/// A named query cut at its `max_rows`: the pane it feeds shows only the first rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    pub query: String,
    /// The pane its rows go to: `hosts`, `jobs` or `audit`.
    pub pane: String,
    pub max_rows: usize,
}

impl Truncated {
    /// `fleet: first 5,000 rows`.
    pub fn describe(&self) -> String {
        format!("{}: first {} rows", self.query, thousands(self.max_rows))
    }
}

/// A source's own health, shown in the Sources view and the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Not polled yet.
    Pending,
    Ok,
    Failing,
    Stale,
}

impl SourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Pending => "pending",
            SourceStatus::Ok => "ok",
            SourceStatus::Failing => "failing",
            SourceStatus::Stale => "stale",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub name: String,
    pub kind: String,
    pub status: SourceStatus,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub latency_ms: Option<u64>,
    /// Poll interval in seconds; data older than twice this is stale.
    pub every_s: u64,
    /// The named queries its last answer cut short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Truncated>,
}

impl SourceRow {
    /// The row of a source that has not been polled yet.
    pub fn pending(name: &str, kind: &str, every: std::time::Duration) -> SourceRow {
        SourceRow {
            name: name.to_owned(),
            kind: kind.to_owned(),
            status: SourceStatus::Pending,
            last_success: None,
            last_error: None,
            consecutive_failures: 0,
            latency_ms: None,
            every_s: every.as_secs(),
            truncated: Vec::new(),
        }
    }

    /// How long this source's data counts as fresh: twice its poll interval. Saturates rather
    /// than overflows, so no interval can make the date arithmetic that uses it panic.
    pub fn fresh_for(&self) -> chrono::TimeDelta {
        let seconds = i64::try_from(self.every_s.saturating_mul(2)).unwrap_or(i64::MAX);
        chrono::TimeDelta::try_seconds(seconds).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// Folds one poll's outcome into the source's health row.
    ///
    /// `last_error` describes the current failure streak: it is cleared by the next success, so
    /// an `ok` source never shows an old error as if it were current.
    pub fn apply_poll(
        &mut self,
        at: DateTime<Utc>,
        latency_ms: u64,
        result: &Result<Observation, String>,
    ) {
        self.latency_ms = Some(latency_ms);
        match result {
            Ok(observation) => {
                self.status = SourceStatus::Ok;
                self.last_success = Some(at);
                self.last_error = None;
                self.consecutive_failures = 0;
                self.truncated.clone_from(&observation.truncated);
            }
            Err(error) => {
                self.status = SourceStatus::Failing;
                self.last_error = Some(error.clone());
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            }
        }
    }
}

/// Which alerts to show: all but those that an Alertmanager source also reports, by the same
/// fingerprint. A team that polls Prometheus and the Alertmanager it sends to would otherwise see
/// every alert twice and count it twice, and a silence set in Alertmanager would not quiet the
/// Prometheus copy: the row Alertmanager reports is the one that knows about silences.
pub fn shown_alerts(alerts: &[AlertRow], sources: &[SourceRow]) -> Vec<bool> {
    let alertmanagers: HashSet<&str> = sources
        .iter()
        .filter(|s| s.kind == "alertmanager")
        .map(|s| s.name.as_str())
        .collect();
    let is_alertmanager = |source: &str| alertmanagers.contains(source);
    let managed: HashSet<&str> = alerts
        .iter()
        .filter(|a| !a.fingerprint.is_empty() && is_alertmanager(&a.source))
        .map(|a| a.fingerprint.as_str())
        .collect();
    alerts
        .iter()
        .map(|a| is_alertmanager(&a.source) || !managed.contains(a.fingerprint.as_str()))
        .collect()
}

/// `3380` as `3,380`: counts an operator reads at a glance. Hand-written: grouping digits is
/// four lines, not worth a formatting crate.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// How an age or a running span under a minute reads.
pub const UNDER_A_MINUTE: &str = "<1m";

/// An age to the minute: `<1m`, `5m`, `3h`, `2d`.
///
/// An idle console writes nothing to the terminal: it redraws when something changes and, at
/// the latest, when the clock's minute turns. An age on screen can therefore be up to a minute
/// old, which would make a count of seconds up to 59 s wrong; to the minute it stays true to
/// its unit.
pub fn format_age_to_minute(seconds: i64) -> String {
    if seconds < 60 {
        UNDER_A_MINUTE.to_owned()
    } else {
        format_age(seconds)
    }
}

/// Rounded age for display: `42s`, `5m`, `3h`, `2d`.
pub fn format_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_round_down_to_the_largest_unit() {
        assert_eq!(format_age(-3), "0s");
        assert_eq!(format_age(59), "59s");
        assert_eq!(format_age(60), "1m");
        assert_eq!(format_age(3599), "59m");
        assert_eq!(format_age(7200), "2h");
        assert_eq!(format_age(86_400 * 3 + 5), "3d");
        assert_eq!(format_age_to_minute(59), "<1m");
        assert_eq!(format_age_to_minute(61), "1m");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(3380), "3,380");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn every_10s() -> std::time::Duration {
        std::time::Duration::from_secs(10)
    }

    #[test]
    fn apply_poll_counts_failures_and_clears_them_on_success() {
        let mut row = SourceRow::pending("web", "http", every_10s());
        assert_eq!(row.status, SourceStatus::Pending);
        assert_eq!(row.every_s, 10);

        apply_ok(&mut row, t(0), Observation::default());
        assert_eq!(row.status, SourceStatus::Ok);
        assert_eq!(row.last_success, Some(t(0)));
        assert_eq!(row.latency_ms, Some(12));

        row.apply_poll(t(10), 3000, &Err("timed out after 3s".into()));
        row.apply_poll(t(10), 3000, &Err("connection refused".into()));
        assert_eq!(row.status, SourceStatus::Failing);
        assert_eq!(row.consecutive_failures, 2);
        assert_eq!(row.last_error.as_deref(), Some("connection refused"));
        assert_eq!(
            row.last_success,
            Some(t(0)),
            "a failure keeps the last success"
        );
        assert_eq!(row.latency_ms, Some(3000));

        apply_ok(&mut row, t(30), Observation::default());
        assert_eq!(row.status, SourceStatus::Ok);
        assert_eq!(row.consecutive_failures, 0);
        assert_eq!(row.last_error, None);
        assert_eq!(row.last_success, Some(t(30)));
    }

    fn apply_ok(row: &mut SourceRow, at: DateTime<Utc>, observation: Observation) {
        row.apply_poll(at, 12, &Ok(observation));
    }

    #[test]
    fn a_source_row_keeps_what_its_last_answer_cut_short() {
        let mut row = SourceRow::pending("hub-db", "postgres", every_10s());
        let cut = Truncated {
            query: "fleet".into(),
            pane: "hosts".into(),
            max_rows: 5_000,
        };
        let observation = Observation {
            truncated: vec![cut.clone()],
            ..Observation::default()
        };
        apply_ok(&mut row, t(0), observation);
        assert_eq!(row.truncated, std::slice::from_ref(&cut));
        assert_eq!(cut.describe(), "fleet: first 5,000 rows");
        row.apply_poll(t(10), 5, &Err("refused".into()));
        assert_eq!(row.truncated, [cut], "a failure keeps what is shown");
        apply_ok(&mut row, t(20), Observation::default());
        assert!(row.truncated.is_empty());
    }

    fn host(kind: &str, fields: serde_json::Value) -> HostRow {
        HostRow {
            fields: serde_json::from_value(fields).unwrap(),
            ..HostRow::checked("s", "h", kind, HostStatus::Up, t(0))
        }
    }

    #[test]
    fn a_sealed_node_says_its_unseal_progress() {
        let sealed = host(
            "openbao",
            serde_json::json!({"sealed": true, "progress": 1, "t": 3}),
        );
        assert_eq!(
            sealed.sealed(),
            Some(Sealed {
                progress: Some(1),
                threshold: Some(3)
            })
        );
        let unsealed = host("openbao", serde_json::json!({"sealed": false, "t": 3}));
        assert_eq!(unsealed.sealed(), None);
        assert_eq!(host("http", serde_json::json!({})).sealed(), None);
    }

    #[test]
    fn no_rollback_target_without_two_different_releases() {
        let release = |fields| host("release", fields);
        assert_eq!(
            release(serde_json::json!({"current_ref": "v2", "previous_ref": "v1"}))
                .rollback_target(),
            Some(("v2".to_owned(), "v1".to_owned()))
        );
        assert_eq!(
            release(serde_json::json!({"current_ref": "v1", "previous_ref": "v1"}))
                .rollback_target(),
            None
        );
        assert_eq!(
            release(serde_json::json!({"current_ref": "v1", "previous_ref": "  "}))
                .rollback_target(),
            None
        );
        assert_eq!(
            release(serde_json::json!({"current_ref": "v1"})).rollback_target(),
            None
        );
        let other = host(
            "http",
            serde_json::json!({"current_ref": "v2", "previous_ref": "v1"}),
        );
        assert_eq!(other.rollback_target(), None, "only release rows");
    }

    #[test]
    fn an_alert_alertmanager_also_reports_is_shown_once_as_alertmanager_has_it() {
        let from = |source: &str, fingerprint: &str| AlertRow {
            fingerprint: fingerprint.into(),
            ..AlertRow::raised(source, "ServiceDown", Severity::Critical, "db1", "", t(0))
        };
        let alerts = [
            from("prometheus", "60c2a5111a4c195a"),
            from("am", "60c2a5111a4c195a"),
            from("prometheus", "0d2f1e3c4b5a6978"),
            from("bao", ""),
            from("am-dr", "60c2a5111a4c195a"),
        ];
        let sources = ["prometheus", "am", "bao", "am-dr"].map(|name| {
            let kind = if name.starts_with("am") {
                "alertmanager"
            } else {
                name
            };
            SourceRow::pending(name, kind, every_10s())
        });
        let shown = shown_alerts(&alerts, &sources);
        // The Prometheus copy gives way; a Prometheus-only alert, one without a fingerprint and
        // a second Alertmanager (another cluster) stay.
        assert_eq!(shown, [false, true, true, true, true]);
    }

    #[test]
    fn severity_labels_map_to_three_levels() {
        assert_eq!(Severity::from_label("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::from_label("warning"), Severity::Warning);
        assert_eq!(Severity::from_label("none"), Severity::Info);
        assert!(Severity::Critical < Severity::Warning);
    }
}
