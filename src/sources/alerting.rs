//! What the sources that report alerts share: an alert's identity, the way Alertmanager computes
//! it, how long ondeck has seen an alert it raises itself, and the alerts for down hosts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;

use chrono::{DateTime, Utc};

use crate::model::{AlertRow, HostStatus, Observation, Severity, thousands};

/// Alertmanager's fingerprint of a label set: FNV-1a (64 bit) over the labels sorted by name,
/// each name and value followed by a 0xff byte, as 16 hex digits.
///
/// Computing it the same way means an alert read from Prometheus's `/api/v1/alerts` carries the
/// fingerprint Alertmanager gives the same alert (as long as Prometheus adds no external labels
/// on the way), so the two rows can be recognised as one; and the alerts ondeck raises itself get
/// an identity that is stable from one poll to the next.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    // Prometheus's separator, a byte that cannot occur in UTF-8 text.
    const SEPARATOR: [u8; 1] = [0xff];
    let mut hasher = fnv::FnvHasher::default();
    for (name, value) in labels {
        hasher.write(name.as_bytes());
        hasher.write(&SEPARATOR);
        hasher.write(value.as_bytes());
        hasher.write(&SEPARATOR);
    }
    format!("{:016x}", hasher.finish())
}

/// What an alert is about, as its labels say: the `instance`, else the `job`, else nothing.
pub fn target(labels: &BTreeMap<String, String>) -> String {
    labels
        .get("instance")
        .or_else(|| labels.get("job"))
        .cloned()
        .unwrap_or_default()
}

/// The one line a rule's annotations give: `summary`, else `description`.
pub fn summary(annotations: &BTreeMap<String, String>) -> String {
    annotations
        .get("summary")
        .filter(|text| !text.is_empty())
        .or_else(|| annotations.get("description"))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Remembers when each alert ondeck raises itself (a sealed node, a full disk, an unreachable
/// instance) was first seen, so its `since` holds from poll to poll and starts afresh once it
/// cleared. An alert is known by its name and target, which every raised alert has (a
/// fingerprint only some do).
#[derive(Debug, Default)]
pub struct FirstSeen(HashMap<(String, String), DateTime<Utc>>);

impl FirstSeen {
    /// Sets each alert's `since` to when it was first seen in an unbroken run of polls, and
    /// forgets the alerts that are gone.
    pub fn stamp(&mut self, alerts: &mut [AlertRow], now: DateTime<Utc>) {
        let mut seen = HashMap::with_capacity(alerts.len());
        for alert in alerts {
            let key = (alert.name.clone(), alert.target.clone());
            let since = self.0.get(&key).copied().unwrap_or(now);
            alert.since = Some(since);
            seen.insert(key, since);
        }
        self.0 = seen;
    }
}

/// One host that is down.
pub const HOST_DOWN: &str = "HostDown";
/// Several hosts of one kind, down for one cause, as one alert.
pub const HOSTS_DOWN: &str = "HostsDown";

/// The alerts for the down hosts of `observation` that no alert of it is about already (an
/// `EndpointDown`, an `OpenBaoSealed`, Prometheus's own `ServiceDown`): critical, like a down
/// host in `snapshot`'s exit code. The hosts of one kind down for one reason are one alert
/// with their count (`3,380 hosts down in fleet`), not thousands of rows, so the Alerts pane
/// stays readable and the count in the status bar says how many problems, not how many rows.
pub fn down_host_alerts(
    source: &str,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Vec<AlertRow> {
    let covered: HashSet<&str> = observation
        .alerts
        .iter()
        .map(|alert| alert.target.as_str())
        .collect();
    let mut causes: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for host in &observation.hosts {
        if host.status == HostStatus::Down && !covered.contains(host.name.as_str()) {
            let reason = host.reason().unwrap_or("");
            causes
                .entry((host.kind.as_str(), reason))
                .or_default()
                .push(host.name.as_str());
        }
    }
    causes
        .into_iter()
        .map(|((kind, reason), names)| {
            let because = if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            };
            match names.as_slice() {
                [name] => {
                    let summary = format!("{name} is down{because}");
                    AlertRow::raised(source, HOST_DOWN, Severity::Critical, *name, summary, now)
                }
                _ => {
                    let summary =
                        format!("{} hosts down in {kind}{because}", thousands(names.len()));
                    AlertRow::raised(source, HOSTS_DOWN, Severity::Critical, kind, summary, now)
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertState, HostRow, host_fields};

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_match_what_alertmanager_computes() {
        // The labels and fingerprint Alertmanager 0.25 reported for the lab's ServiceDown alert.
        let service_down = labels(&[
            ("alertname", "ServiceDown"),
            ("instance", "127.0.0.1:59999"),
            ("job", "api_backend"),
            ("severity", "critical"),
        ]);
        assert_eq!(fingerprint(&service_down), "60c2a5111a4c195a");
        // The empty label set hashes to FNV's offset basis.
        assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
    }

    #[test]
    fn a_value_moved_between_labels_changes_the_fingerprint() {
        let one = labels(&[("a", "bc"), ("d", "")]);
        let other = labels(&[("a", "b"), ("d", "c")]);
        assert_ne!(fingerprint(&one), fingerprint(&other));
    }

    #[test]
    fn target_prefers_instance_over_job() {
        assert_eq!(
            target(&labels(&[("instance", "db1:9100"), ("job", "node")])),
            "db1:9100"
        );
        assert_eq!(target(&labels(&[("job", "node")])), "node");
        assert_eq!(target(&BTreeMap::new()), "");
    }

    #[test]
    fn summary_falls_back_to_description_on_one_line() {
        assert_eq!(
            summary(&labels(&[
                ("description", "disk\n  almost full"),
                ("summary", "")
            ])),
            "disk almost full"
        );
        assert_eq!(
            summary(&labels(&[("description", "long"), ("summary", "short")])),
            "short"
        );
    }

    fn raised(target: &str, now: DateTime<Utc>) -> AlertRow {
        AlertRow {
            since: None,
            ..AlertRow::raised("bao", "OpenBaoSealed", Severity::Critical, target, "", now)
        }
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn an_alert_keeps_its_first_seen_time_until_it_clears() {
        let mut first_seen = FirstSeen::default();
        let mut first = [raised("bao1:8200", t(0))];
        first_seen.stamp(&mut first, t(0));
        let mut again = [raised("bao1:8200", t(10)), raised("bao2:8200", t(10))];
        first_seen.stamp(&mut again, t(10));
        assert_eq!(again[0].since, Some(t(0)));
        assert_eq!(
            again[1].since,
            Some(t(10)),
            "another target is another alert"
        );

        first_seen.stamp(&mut [], t(10));
        let mut back = [raised("bao1:8200", t(20))];
        first_seen.stamp(&mut back, t(20));
        assert_eq!(back[0].since, Some(t(20)), "a cleared alert starts afresh");
    }

    fn down(name: &str, kind: &str, reason: Option<&str>) -> HostRow {
        let mut host = HostRow::checked("hub-db", name, kind, HostStatus::Down, t(0));
        if let Some(reason) = reason {
            host.fields
                .insert(host_fields::REASON.to_owned(), serde_json::json!(reason));
        }
        host
    }

    #[test]
    fn many_hosts_down_for_one_cause_are_one_alert_with_their_count() {
        let silent = Some("no heartbeat for more than 10m");
        let mut hosts: Vec<HostRow> = (0..3380)
            .map(|i| down(&format!("PC-{i:04}"), "fleet", silent))
            .collect();
        hosts.push(down("PC-9999", "fleet", Some("status OFFLINE")));
        hosts.push(HostRow::checked(
            "hub-db",
            "PC-up",
            "fleet",
            HostStatus::Up,
            t(0),
        ));
        hosts.push(down("hub-db", "postgres", None));
        let observation = Observation {
            hosts,
            ..Observation::default()
        };
        let alerts = down_host_alerts("hub-db", &observation, t(0));
        let shown: Vec<(&str, &str, &str)> = alerts
            .iter()
            .map(|a| (a.name.as_str(), a.target.as_str(), a.summary.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    HOSTS_DOWN,
                    "fleet",
                    "3,380 hosts down in fleet: no heartbeat for more than 10m"
                ),
                (HOST_DOWN, "PC-9999", "PC-9999 is down: status OFFLINE"),
                (HOST_DOWN, "hub-db", "hub-db is down"),
            ]
        );
        assert!(alerts.iter().all(|a| a.severity == Severity::Critical
            && a.state == AlertState::Firing
            && a.source == "hub-db"));
    }

    #[test]
    fn a_down_host_that_an_alert_is_about_already_raises_no_second_one() {
        let observation = Observation {
            hosts: vec![down("api", "http", Some("answered 503, expected 200"))],
            alerts: vec![AlertRow::raised(
                "api",
                "EndpointDown",
                Severity::Critical,
                "api",
                "answered 503, expected 200",
                t(0),
            )],
            ..Observation::default()
        };
        assert!(down_host_alerts("api", &observation, t(0)).is_empty());
    }
}
