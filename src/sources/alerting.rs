//! What the sources that report alerts share: an alert's identity, the way Alertmanager computes
//! it, and how long ondeck has seen an alert it raises itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;

use chrono::{DateTime, Utc};

use crate::model::{AlertRow, SourceRow};

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

/// Remembers when each alert ondeck raises itself (a sealed node, an unreachable instance) was
/// first seen, so its `since` holds from poll to poll and starts afresh once it cleared.
#[derive(Debug, Default)]
pub struct FirstSeen(HashMap<String, DateTime<Utc>>);

impl FirstSeen {
    /// Sets each alert's `since` to when its fingerprint was first seen in an unbroken run of
    /// polls, and forgets the alerts that are gone.
    pub fn stamp(&mut self, alerts: &mut [AlertRow], now: DateTime<Utc>) {
        let mut seen = HashMap::with_capacity(alerts.len());
        for alert in alerts {
            let since = self.0.get(&alert.fingerprint).copied().unwrap_or(now);
            alert.since = Some(since);
            seen.insert(alert.fingerprint.clone(), since);
        }
        self.0 = seen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertState, Severity};

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

    fn raised(fingerprint: &str, now: DateTime<Utc>) -> AlertRow {
        AlertRow {
            source: "bao".into(),
            name: "OpenBaoSealed".into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            target: "bao1:8200".into(),
            since: None,
            silenced: false,
            summary: String::new(),
            fingerprint: fingerprint.into(),
            observed_at: now,
        }
    }

    #[test]
    fn an_alert_alertmanager_also_reports_is_shown_once_as_alertmanager_has_it() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let from = |source: &str, fingerprint: &str| AlertRow {
            source: source.into(),
            ..raised(fingerprint, now)
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
            crate::sources::pending_row(name, kind, std::time::Duration::from_secs(10))
        });
        let shown = shown_alerts(&alerts, &sources);
        // The Prometheus copy gives way; a Prometheus-only alert, one without a fingerprint and
        // a second Alertmanager (another cluster) stay.
        assert_eq!(shown, [false, true, true, true, true]);
    }

    #[test]
    fn an_alert_keeps_its_first_seen_time_until_it_clears() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t1 = t0 + chrono::Duration::seconds(10);
        let t2 = t1 + chrono::Duration::seconds(10);
        let mut first_seen = FirstSeen::default();

        let mut first = [raised("a", t0)];
        first_seen.stamp(&mut first, t0);
        let mut again = [raised("a", t1), raised("b", t1)];
        first_seen.stamp(&mut again, t1);
        assert_eq!(again[0].since, Some(t0));
        assert_eq!(again[1].since, Some(t1));

        first_seen.stamp(&mut [], t1);
        let mut back = [raised("a", t2)];
        first_seen.stamp(&mut back, t2);
        assert_eq!(back[0].since, Some(t2), "a cleared alert starts afresh");
    }
}
