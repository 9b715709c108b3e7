//! The rows the five panes show, as sources report them.
//!
//! These types are plain data: pollers build them, `update` stores them, the UI and
//! `ondeck snapshot --json` read them. Their serde form is the JSON schema documented in the
//! README, so fields are only ever added, never renamed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    pub observed_at: DateTime<Utc>,
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
            observed_at: now,
        }
    }
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
}

/// Everything one successful poll of one source saw. It replaces that source's previous rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub hosts: Vec<HostRow>,
    pub sessions: Vec<SessionRow>,
    pub jobs: Vec<JobRow>,
    pub alerts: Vec<AlertRow>,
    pub audit: Vec<AuditRow>,
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
}

/// Control characters (an escape sequence in a target name read from another system's table)
/// shown escaped instead of acting on the terminal.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
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
    }

    #[test]
    fn severity_labels_map_to_three_levels() {
        assert_eq!(Severity::from_label("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::from_label("warning"), Severity::Warning);
        assert_eq!(Severity::from_label("none"), Severity::Info);
        assert!(Severity::Critical < Severity::Warning);
    }
}
