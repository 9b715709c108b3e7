//! The `local` source: this machine's CPU, memory, disks, load and uptime, its login sessions,
//! and threshold alerts from the capacity table (CPU < 70 %, > 6 GiB RAM free, > 20 % disk free).
//!
//! Alert names follow the Prometheus rules the operators already know (HighCPUUsage,
//! HighMemoryUsage, DiskSpaceLow), so a local alert and the same alert from Prometheus read
//! alike in the Alerts pane. A breach of the configured limit is a warning; it turns critical
//! when far past it: CPU two thirds of the way from the limit to 100 % (90 % for the default
//! 70 %), memory free under a quarter of the minimum, disk free under three quarters of the
//! minimum (15 % for the default 20 %, the level the operators' DiskSpaceLow rule pages at).
//!
//! CPU usage swings from one second to the next and the capacity table means an average, so
//! HighCPUUsage stays `pending` until the CPU has been over the limit at every poll for five
//! minutes (the `for: 5m` of the operators' rule); memory and disk levels fire at once. A
//! pending alert does not degrade the host.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sysinfo::{Disks, MINIMUM_CPU_UPDATE_INTERVAL, System};
use utmp_rs::UtmpEntry;

use super::alerting::FirstSeen;
use super::{Poller, SourceError};
use crate::config::LocalSource;
use crate::model::{AlertRow, AlertState, HostRow, HostStatus, Observation, SessionRow, Severity};

/// Where Linux keeps the current logins.
const UTMP_PATH: &str = "/var/run/utmp";

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub const HIGH_CPU_USAGE: &str = "HighCPUUsage";
pub const HIGH_MEMORY_USAGE: &str = "HighMemoryUsage";
pub const DISK_SPACE_LOW: &str = "DiskSpaceLow";

/// How long the CPU must stay over its limit before HighCPUUsage fires.
pub const CPU_SUSTAIN: Duration = Duration::from_secs(5 * 60);

/// Polls this machine.
#[derive(Debug)]
pub struct LocalPoller {
    source: String,
    limits: LocalSource,
    /// CPU usage is the difference between two readings of the kernel's counters, so the reader
    /// lives across polls. `None` before the first poll, while a reading runs on the blocking
    /// pool, or after a poll was cancelled mid-reading (the next poll then starts afresh).
    probe: Option<Probe>,
    first_seen: FirstSeen,
}

impl LocalPoller {
    pub fn new(source: &str, limits: LocalSource) -> LocalPoller {
        LocalPoller {
            source: source.to_owned(),
            limits,
            probe: None,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Poller for LocalPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let probe = self.probe.take();
        let (probe, measurements, logins) = tokio::task::spawn_blocking(move || {
            let mut probe = probe.unwrap_or_else(Probe::primed);
            let measurements = probe.measure();
            (probe, measurements, read_utmp(Path::new(UTMP_PATH)))
        })
        .await
        .map_err(|failure| SourceError::Worker {
            what: "this machine's counters",
            reason: failure.to_string(),
        })?;
        self.probe = Some(probe);

        let now = Utc::now();
        let mut alerts = evaluate(&measurements, &self.limits, &self.source, now);
        stamp_and_hold(&mut self.first_seen, &mut alerts, now);
        let mut host = host_row(&measurements, &self.source, &alerts, now);
        let sessions = match logins {
            Ok(entries) => login_sessions(&entries, &self.source, now),
            Err(error) => {
                // The machine's numbers are still good; say why the sessions are missing.
                host.fields.insert(
                    "sessions_error".into(),
                    json!(format!("reading {UTMP_PATH}: {error}")),
                );
                Vec::new()
            }
        };
        Ok(Observation {
            hosts: vec![host],
            sessions,
            alerts,
            ..Observation::default()
        })
    }
}

/// sysinfo's readers, kept between polls. Every method blocks.
#[derive(Debug)]
struct Probe {
    system: System,
    disks: Disks,
}

impl Probe {
    /// A reader whose first CPU reading is already taken, so the first poll reports real usage
    /// over the minimum interval rather than 0 %.
    fn primed() -> Probe {
        let mut system = System::new();
        system.refresh_cpu_usage();
        std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL);
        Probe {
            system,
            disks: Disks::new(),
        }
    }

    fn measure(&mut self) -> Measurements {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        let load = System::load_average();
        let mut mounts: Vec<MountUsage> = Vec::new();
        for disk in self.disks.list() {
            let mount = disk.mount_point().to_string_lossy().into_owned();
            // sysinfo already leaves out pseudo file systems (proc, sysfs, tmpfs, …); what
            // remains with no size is an unreadable or empty mount, and a path mounted twice
            // (bind mounts) is the same space.
            if disk.total_space() == 0 || mounts.iter().any(|known| known.mount == mount) {
                continue;
            }
            mounts.push(MountUsage {
                mount,
                total_bytes: disk.total_space(),
                available_bytes: disk.available_space(),
            });
        }
        Measurements {
            hostname: System::host_name().unwrap_or_else(|| "localhost".to_owned()),
            os: os_description(),
            cpu_pct: f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0),
            cpu_count: self.system.cpus().len(),
            mem_total_bytes: self.system.total_memory(),
            mem_available_bytes: self.system.available_memory(),
            load: [load.one, load.five, load.fifteen],
            uptime_s: System::uptime(),
            mounts,
        }
    }
}

/// "Debian GNU/Linux 12, kernel 6.1.0-18-amd64".
fn os_description() -> String {
    let name = match (System::name(), System::os_version()) {
        (Some(name), Some(version)) => format!("{name} {version}"),
        (Some(name), None) => name,
        (None, _) => System::distribution_id(),
    };
    match System::kernel_version() {
        Some(kernel) => format!("{name}, kernel {kernel}"),
        None => name,
    }
}

/// One reading of the machine, the input of the threshold rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    pub hostname: String,
    pub os: String,
    /// Busy share of all CPUs since the previous reading, 0 ..= 100.
    pub cpu_pct: f64,
    pub cpu_count: usize,
    pub mem_total_bytes: u64,
    /// Memory available to new work without swapping (the kernel's MemAvailable), which is what
    /// "RAM free" means to an operator; the page cache counts as available.
    pub mem_available_bytes: u64,
    /// Load averages over 1, 5 and 15 minutes.
    pub load: [f64; 3],
    pub uptime_s: u64,
    pub mounts: Vec<MountUsage>,
}

impl Measurements {
    pub fn mem_used_pct(&self) -> Option<f64> {
        percent(
            self.mem_total_bytes
                .saturating_sub(self.mem_available_bytes),
            self.mem_total_bytes,
        )
    }
}

/// The space of one mounted file system.
#[derive(Debug, Clone, PartialEq)]
pub struct MountUsage {
    pub mount: String,
    pub total_bytes: u64,
    /// Space an unprivileged writer can still use (root's reserve excluded), as node_exporter's
    /// `node_filesystem_avail_bytes` counts it.
    pub available_bytes: u64,
}

impl MountUsage {
    pub fn free_pct(&self) -> f64 {
        percent(self.available_bytes, self.total_bytes).unwrap_or(0.0)
    }

    pub fn used_pct(&self) -> f64 {
        100.0 - self.free_pct()
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    // Precision loss above 2^53 bytes is far below what a percentage shows.
    (whole > 0).then(|| part as f64 / whole as f64 * 100.0)
}

/// The CPU usage at which HighCPUUsage turns critical: two thirds of the way from the limit to
/// 100 %.
fn cpu_critical_pct(limits: &LocalSource) -> f64 {
    limits.cpu_max_pct + (100.0 - limits.cpu_max_pct) * 2.0 / 3.0
}

/// The threshold rules: which alerts one reading fires. Pure, so the rules can be checked
/// without the machine. Every alert is firing since `now`; [`LocalPoller`] replaces `since`
/// with when the alert was first seen and holds HighCPUUsage pending for [`CPU_SUSTAIN`].
pub fn evaluate(
    measured: &Measurements,
    limits: &LocalSource,
    source: &str,
    now: DateTime<Utc>,
) -> Vec<AlertRow> {
    let host = &measured.hostname;
    let alert = |name: &str, severity: Severity, target: String, summary: String| {
        AlertRow::raised(source, name, severity, target, summary, now)
    };
    let mut alerts = Vec::new();

    if measured.cpu_pct >= limits.cpu_max_pct {
        let severity = if measured.cpu_pct >= cpu_critical_pct(limits) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        alerts.push(alert(
            HIGH_CPU_USAGE,
            severity,
            host.clone(),
            format!(
                "CPU {:.1}% (limit {:.0}%)",
                measured.cpu_pct, limits.cpu_max_pct
            ),
        ));
    }

    if measured.mem_total_bytes > 0 && measured.mem_available_bytes < limits.mem_free_min_bytes {
        let severity = if measured.mem_available_bytes < limits.mem_free_min_bytes / 4 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        alerts.push(alert(
            HIGH_MEMORY_USAGE,
            severity,
            host.clone(),
            format!(
                "{} free of {} (minimum {})",
                format_gib(measured.mem_available_bytes),
                format_gib(measured.mem_total_bytes),
                format_gib(limits.mem_free_min_bytes),
            ),
        ));
    }

    for mount in &measured.mounts {
        let free_pct = mount.free_pct();
        if free_pct >= limits.disk_free_min_pct {
            continue;
        }
        let severity = if free_pct < limits.disk_free_min_pct * 0.75 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        alerts.push(alert(
            DISK_SPACE_LOW,
            severity,
            format!("{host}:{}", mount.mount),
            format!(
                "{} {free_pct:.1}% free, {} of {} (minimum {:.0}% free)",
                mount.mount,
                format_gib(mount.available_bytes),
                format_gib(mount.total_bytes),
                limits.disk_free_min_pct,
            ),
        ));
    }
    alerts
}

/// Bytes as GiB with one decimal, the unit the capacity table speaks in. Hand-written because
/// one format string does not justify a dependency.
fn format_gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

/// The Hosts pane row for this machine: degraded while any threshold alert fires (pending ones
/// do not count).
pub fn host_row(
    measured: &Measurements,
    source: &str,
    alerts: &[AlertRow],
    now: DateTime<Utc>,
) -> HostRow {
    let disks: serde_json::Map<String, serde_json::Value> = measured
        .mounts
        .iter()
        .map(|mount| {
            let usage = json!({
                "used_pct": round1(mount.used_pct()),
                "free_bytes": mount.available_bytes,
                "total_bytes": mount.total_bytes,
            });
            (mount.mount.clone(), usage)
        })
        .collect();
    let [load1, load5, load15] = measured.load;
    let fields = BTreeMap::from([
        ("disks".to_owned(), serde_json::Value::Object(disks)),
        (
            "mem_free_bytes".to_owned(),
            json!(measured.mem_available_bytes),
        ),
        (
            "mem_total_bytes".to_owned(),
            json!(measured.mem_total_bytes),
        ),
        ("cpus".to_owned(), json!(measured.cpu_count)),
        ("load5".to_owned(), json!(load5)),
        ("load15".to_owned(), json!(load15)),
    ]);
    HostRow {
        source: source.to_owned(),
        name: measured.hostname.clone(),
        kind: "local".to_owned(),
        status: if alerts.iter().any(|alert| alert.state == AlertState::Firing) {
            HostStatus::Degraded
        } else {
            HostStatus::Up
        },
        // Reading the local counters is not a network round trip; the source's own latency
        // is in the Sources view.
        latency_ms: None,
        cpu_pct: Some(round1(measured.cpu_pct)),
        mem_pct: measured.mem_used_pct().map(round1),
        disk_pct: measured
            .mounts
            .iter()
            .map(MountUsage::used_pct)
            .max_by(f64::total_cmp)
            .map(round1),
        load1: Some(load1),
        uptime_s: Some(measured.uptime_s),
        version: Some(measured.os.clone()),
        observed_at: now,
        fields,
    }
}

/// One decimal is all a pane or a JSON consumer needs; more digits are noise.
pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Dates each alert by when its condition was first seen (`first_seen`), and holds
/// HighCPUUsage pending until it has lasted [`CPU_SUSTAIN`]: a short spike is normal work.
pub(crate) fn stamp_and_hold(
    first_seen: &mut FirstSeen,
    alerts: &mut [AlertRow],
    now: DateTime<Utc>,
) {
    first_seen.stamp(alerts, now);
    for alert in alerts
        .iter_mut()
        .filter(|alert| alert.name == HIGH_CPU_USAGE)
    {
        let since = alert.since.unwrap_or(now);
        let sustained = (now - since).to_std().is_ok_and(|held| held >= CPU_SUSTAIN);
        if !sustained {
            alert.state = AlertState::Pending;
        }
    }
}

/// The login records, or none when the machine keeps no utmp file (containers often don't).
fn read_utmp(path: &Path) -> Result<Vec<UtmpEntry>, utmp_rs::ParseError> {
    match utmp_rs::parse_from_path(path) {
        Err(utmp_rs::ParseError::Io(error)) if error.kind() == io::ErrorKind::NotFound => {
            Ok(Vec::new())
        }
        other => other,
    }
}

/// The Sessions pane rows for the users logged in (utmp's USER_PROCESS records).
fn login_sessions(entries: &[UtmpEntry], source: &str, now: DateTime<Utc>) -> Vec<SessionRow> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            UtmpEntry::UserProcess {
                pid,
                line,
                user,
                host,
                time,
                ..
            } => Some(SessionRow {
                source: source.to_owned(),
                user: user.clone(),
                // A remote login is known by where it comes from, a console one by its terminal.
                client: if host.is_empty() {
                    line.clone()
                } else {
                    host.clone()
                },
                state: "active".to_owned(),
                since: DateTime::from_timestamp(time.unix_timestamp(), time.nanosecond()),
                detail: String::new(),
                observed_at: now,
                fields: BTreeMap::from([
                    ("tty".to_owned(), json!(line)),
                    ("pid".to_owned(), json!(pid)),
                ]),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(user: &str, line: &str, host: &str, unix: i64) -> UtmpEntry {
        UtmpEntry::UserProcess {
            pid: 4242,
            line: line.into(),
            user: user.into(),
            host: host.into(),
            session: 4242,
            time: time::OffsetDateTime::from_unix_timestamp(unix).unwrap(),
        }
    }

    #[test]
    fn only_user_processes_are_sessions() {
        let now = Utc::now();
        let entries = vec![
            UtmpEntry::BootTime {
                kernel_version: "6.1.0".into(),
                time: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            },
            login("alice", "pts/0", "192.0.2.10", 1_700_000_100),
            UtmpEntry::DeadProcess {
                pid: 17,
                line: "pts/1".into(),
                time: time::OffsetDateTime::from_unix_timestamp(1_700_000_200).unwrap(),
            },
            login("bob", "tty1", "", 1_700_000_300),
        ];
        let sessions = login_sessions(&entries, "this-host", now);
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].user, "alice");
        assert_eq!(sessions[0].client, "192.0.2.10");
        assert_eq!(sessions[0].fields["tty"], json!("pts/0"));
        assert_eq!(
            sessions[0].since,
            DateTime::from_timestamp(1_700_000_100, 0)
        );
        assert_eq!(sessions[1].client, "tty1", "console logins show the tty");
        assert!(sessions.iter().all(|s| s.state == "active"));
        assert!(sessions.iter().all(|s| s.source == "this-host"));
    }

    #[test]
    fn a_missing_utmp_file_means_no_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let entries = read_utmp(&dir.path().join("utmp")).unwrap();
        assert!(entries.is_empty());
    }

    fn firing(name: &str, at: DateTime<Utc>) -> AlertRow {
        AlertRow {
            source: "local".into(),
            name: name.into(),
            severity: Severity::Warning,
            state: AlertState::Firing,
            target: "db1".into(),
            since: Some(at),
            silenced: false,
            summary: String::new(),
            fingerprint: String::new(),
            labels: Default::default(),
            observed_at: at,
        }
    }

    #[test]
    fn an_alert_keeps_its_first_seen_time_until_it_clears() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t1 = t0 + chrono::Duration::seconds(10);
        let t2 = t1 + chrono::Duration::seconds(10);
        let mut tracker = FirstSeen::default();

        let mut first = vec![firing(DISK_SPACE_LOW, t0)];
        stamp_and_hold(&mut tracker, &mut first, t0);
        let mut again = vec![firing(DISK_SPACE_LOW, t1)];
        stamp_and_hold(&mut tracker, &mut again, t1);
        assert_eq!(again[0].since, Some(t0));
        assert_eq!(again[0].state, AlertState::Firing);

        stamp_and_hold(&mut tracker, &mut [], t1);
        let mut back = vec![firing(DISK_SPACE_LOW, t2)];
        stamp_and_hold(&mut tracker, &mut back, t2);
        assert_eq!(back[0].since, Some(t2), "a cleared alert starts afresh");
    }

    #[test]
    fn high_cpu_fires_only_once_sustained_for_five_minutes() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let almost = t0 + chrono::Duration::seconds(299);
        let sustained = t0 + chrono::Duration::seconds(300);
        let mut tracker = FirstSeen::default();
        let mut states = Vec::new();
        for at in [t0, almost, sustained] {
            let mut alerts = vec![firing(HIGH_CPU_USAGE, at), firing(HIGH_MEMORY_USAGE, at)];
            stamp_and_hold(&mut tracker, &mut alerts, at);
            states.push((alerts[0].state, alerts[1].state));
        }
        use AlertState::{Firing, Pending};
        assert_eq!(
            states,
            [(Pending, Firing), (Pending, Firing), (Firing, Firing)]
        );
    }
}
