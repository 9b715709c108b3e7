//! The `alertmanager` source: the alerts one or more Alertmanager instances hold, with their
//! silences.
//!
//! All instances are asked at once, each for `/api/v2/alerts` (active, silenced and inhibited
//! alike) and `/api/v2/silences`. An alert several instances report (an HA pair, or the same
//! instance configured twice) is one row, known by Alertmanager's fingerprint. It reads as
//! silenced only when every instance that has it silences it, because an instance that does
//! not will still notify. Its summary says who silenced it and until when (from the silence
//! list), or which alert inhibits it.
//!
//! An instance that cannot be read (refused, failing, or silent for three quarters of the
//! poll's timeout) does not hide the others: their alerts are shown, and the
//! failing instance becomes an `AlertmanagerUnreachable` warning whose target is its URL
//! (password masked) and whose summary is the error. Only when every instance fails is the poll
//! an error (the first instance's), which the Sources view shows.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Deserialize;

use super::alerting::{self, FirstSeen};
use super::fetch;
use super::{Poller, SourceError};
use crate::config::{AlertmanagerSource, mask_url};
use crate::model::{AlertRow, AlertState, Observation, Severity};

/// The alert raised for an instance that cannot be read.
pub const ALERTMANAGER_UNREACHABLE: &str = "AlertmanagerUnreachable";

#[derive(Debug)]
pub struct AlertmanagerPoller {
    source: String,
    /// Base URLs without a trailing slash, each once, in configuration order.
    urls: Vec<String>,
    client: reqwest::Client,
    unreachable_since: FirstSeen,
}

impl AlertmanagerPoller {
    /// `timeout` is the whole poll's; each request gets [`fetch::endpoint_timeout`] of it.
    pub fn new(
        source: &str,
        spec: &AlertmanagerSource,
        timeout: Duration,
    ) -> Result<AlertmanagerPoller, SourceError> {
        let mut urls: Vec<String> = Vec::with_capacity(spec.urls.len());
        for url in &spec.urls {
            let url = url.trim_end_matches('/').to_owned();
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        if urls.is_empty() {
            return Err(SourceError::Setup("no Alertmanager URL configured".into()));
        }
        let client = fetch::client(
            fetch::endpoint_timeout(timeout),
            &Default::default(),
            fetch::Redirects::for_urls(urls.iter().map(String::as_str)),
        )?;
        Ok(AlertmanagerPoller {
            source: source.to_owned(),
            urls,
            client,
            unreachable_since: FirstSeen::default(),
        })
    }

    async fn read_instance(&self, base_url: &str) -> Result<Instance, SourceError> {
        let alerts_url = format!("{base_url}/api/v2/alerts");
        let silences_url = format!("{base_url}/api/v2/silences");
        let alerts = async {
            let request = self.client.get(&alerts_url).query(&[
                ("active", "true"),
                ("silenced", "true"),
                ("inhibited", "true"),
            ]);
            fetch::send(request, &alerts_url)
                .await?
                .require_success(&alerts_url)?
                .json::<Vec<GettableAlert>>("Alertmanager alert list")
        };
        let silences = async {
            fetch::get(&self.client, &silences_url, &Default::default())
                .await?
                .require_success(&silences_url)?
                .json::<Vec<Silence>>("Alertmanager silence list")
        };
        let (alerts, silences) = tokio::try_join!(alerts, silences)?;
        Ok(Instance { alerts, silences })
    }
}

impl Poller for AlertmanagerPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let answers = join_all(self.urls.iter().map(|url| self.read_instance(url))).await;
        let now = Utc::now();
        let mut instances = Vec::with_capacity(answers.len());
        let mut failures = Vec::new();
        for (url, answer) in self.urls.iter().zip(answers) {
            match answer {
                Ok(instance) => instances.push(instance),
                Err(error) => failures.push((url, error)),
            }
        }
        if instances.is_empty() {
            return Err(failures
                .into_iter()
                .next()
                .map(|(_, error)| error)
                .unwrap_or_else(|| SourceError::Setup("no Alertmanager URL configured".into())));
        }
        let mut unreachable: Vec<AlertRow> = failures
            .into_iter()
            .map(|(url, error)| unreachable_row(url, &error, &self.source, now))
            .collect();
        self.unreachable_since.stamp(&mut unreachable, now);
        let mut alerts = merge(&instances, &self.source, now);
        alerts.append(&mut unreachable);
        Ok(Observation {
            alerts,
            ..Observation::default()
        })
    }
}

/// What one instance answered.
#[derive(Debug)]
struct Instance {
    alerts: Vec<GettableAlert>,
    silences: Vec<Silence>,
}

/// An element of `GET /api/v2/alerts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    fingerprint: String,
    starts_at: Option<DateTime<Utc>>,
    status: AlertStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

/// An element of `GET /api/v2/silences`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Silence {
    id: String,
    status: SilenceStatus,
    #[serde(default)]
    created_by: String,
    ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct SilenceStatus {
    /// `active`, `pending` or `expired`.
    state: String,
}

/// The alerts of all instances that answered, one row per fingerprint, in the order first seen.
fn merge(instances: &[Instance], source: &str, now: DateTime<Utc>) -> Vec<AlertRow> {
    // The silences every instance knows, by id; in a cluster they are the same.
    let silences: HashMap<&str, &Silence> = instances
        .iter()
        .flat_map(|instance| &instance.silences)
        .map(|silence| (silence.id.as_str(), silence))
        .collect();
    let mut order: Vec<&str> = Vec::new();
    // fingerprint → (the first instance's copy, silenced on every instance so far)
    let mut seen: HashMap<&str, (&GettableAlert, bool)> = HashMap::new();
    for alert in instances.iter().flat_map(|instance| &instance.alerts) {
        let silenced = !alert.status.silenced_by.is_empty();
        seen.entry(&alert.fingerprint)
            .and_modify(|(_, everywhere)| *everywhere &= silenced)
            .or_insert_with(|| {
                order.push(&alert.fingerprint);
                (alert, silenced)
            });
    }
    order
        .into_iter()
        .filter_map(|fingerprint| seen.get(fingerprint))
        .map(|&(alert, silenced)| {
            let mut summary = alerting::summary(&alert.annotations);
            let note = if silenced {
                silence_note(&alert.status.silenced_by, &silences)
            } else if !alert.status.inhibited_by.is_empty() {
                inhibition_note(&alert.status.inhibited_by, &seen)
            } else {
                String::new()
            };
            if !note.is_empty() {
                if !summary.is_empty() {
                    summary.push_str(" — ");
                }
                summary.push_str(&note);
            }
            AlertRow {
                source: source.to_owned(),
                name: alert.labels.get("alertname").cloned().unwrap_or_default(),
                severity: Severity::from_label(
                    alert.labels.get("severity").map_or("", String::as_str),
                ),
                // Alertmanager lists only alerts that have not ended; they all fire.
                state: AlertState::Firing,
                target: alerting::target(&alert.labels),
                since: alert.starts_at,
                silenced,
                summary,
                fingerprint: alert.fingerprint.clone(),
                labels: alert.labels.clone(),
                observed_at: now,
            }
        })
        .collect()
}

/// "silenced by alice until 2026-11-22 05:09 UTC (83b6c83e)", for each silence; a silence id
/// shortened to its first block, enough to find it in Alertmanager's UI.
fn silence_note(silence_ids: &[String], silences: &HashMap<&str, &Silence>) -> String {
    let notes: Vec<String> = silence_ids
        .iter()
        .map(|id| {
            let short_id = id.split('-').next().unwrap_or(id);
            match silences.get(id.as_str()) {
                Some(silence) if silence.status.state == "active" => {
                    let by = if silence.created_by.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", silence.created_by)
                    };
                    let until = silence
                        .ends_at
                        .map(|end| format!(" until {}", end.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default();
                    format!("silenced{by}{until} ({short_id})")
                }
                // Created or expired between the two requests.
                _ => format!("silenced ({short_id})"),
            }
        })
        .collect();
    notes.join("; ")
}

/// "inhibited by ServiceDown": the names of the inhibiting alerts, where they are listed.
fn inhibition_note(
    fingerprints: &[String],
    alerts: &HashMap<&str, (&GettableAlert, bool)>,
) -> String {
    let names: Vec<&str> = fingerprints
        .iter()
        .map(|fingerprint| {
            alerts
                .get(fingerprint.as_str())
                .and_then(|(alert, _)| alert.labels.get("alertname"))
                .map_or(fingerprint.as_str(), String::as_str)
        })
        .collect();
    format!("inhibited by {}", names.join(", "))
}

fn unreachable_row(url: &str, error: &SourceError, source: &str, now: DateTime<Utc>) -> AlertRow {
    let target = mask_url(url);
    let labels = BTreeMap::from([
        ("alertname".to_owned(), ALERTMANAGER_UNREACHABLE.to_owned()),
        ("instance".to_owned(), target.clone()),
    ]);
    AlertRow {
        since: None,
        fingerprint: alerting::fingerprint(&labels),
        ..AlertRow::raised(
            source,
            ALERTMANAGER_UNREACHABLE,
            Severity::Warning,
            target,
            error.to_string(),
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shapes Alertmanager 0.25 answered in the lab.
    const SERVICE_DOWN_SILENCED: &str = r#"[{"annotations":{"summary":"api_backend is down"},
        "endsAt":"2026-11-22T05:08:12.466Z","fingerprint":"60c2a5111a4c195a","receivers":[{"name":"nowhere"}],
        "startsAt":"2026-11-22T05:04:12.466Z",
        "status":{"inhibitedBy":[],"silencedBy":["83b6c83e-7a03-4279-8943-20583ea31e14"],"state":"suppressed"},
        "updatedAt":"2026-11-22T05:04:12.474Z","generatorURL":"http://prom/graph",
        "labels":{"alertname":"ServiceDown","instance":"127.0.0.1:59999","job":"api_backend","severity":"critical"}}]"#;
    const SILENCES: &str = r#"[{"id":"83b6c83e-7a03-4279-8943-20583ea31e14","status":{"state":"active"},
        "updatedAt":"2026-11-22T05:04:32.572Z","comment":"deploying","createdBy":"alice",
        "endsAt":"2026-11-22T05:09:32.000Z",
        "matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"ServiceDown"}],
        "startsAt":"2026-11-22T05:04:32.572Z"}]"#;

    fn instance(alerts: &str, silences: &str) -> Instance {
        Instance {
            alerts: serde_json::from_str(alerts).unwrap(),
            silences: serde_json::from_str(silences).unwrap(),
        }
    }

    fn unsilenced() -> String {
        SERVICE_DOWN_SILENCED
            .replace(r#"["83b6c83e-7a03-4279-8943-20583ea31e14"]"#, "[]")
            .replace("suppressed", "active")
    }

    #[test]
    fn a_silenced_alert_says_by_whom_and_until_when() {
        let rows = merge(
            &[instance(SERVICE_DOWN_SILENCED, SILENCES)],
            "am",
            Utc::now(),
        );
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.source, "am");
        assert_eq!(row.name, "ServiceDown");
        assert_eq!(row.severity, Severity::Critical);
        assert_eq!(row.state, AlertState::Firing);
        assert_eq!(row.target, "127.0.0.1:59999");
        assert_eq!(row.fingerprint, "60c2a5111a4c195a");
        assert_eq!(row.since, Some("2026-11-22T05:04:12.466Z".parse().unwrap()));
        assert!(row.silenced);
        assert_eq!(
            row.summary,
            "api_backend is down — silenced by alice until 2026-11-22 05:09 UTC (83b6c83e)"
        );
    }

    #[test]
    fn the_same_alert_from_two_instances_is_one_row() {
        let rows = merge(
            &[instance(&unsilenced(), "[]"), instance(&unsilenced(), "[]")],
            "am",
            Utc::now(),
        );
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].silenced);
        assert_eq!(rows[0].summary, "api_backend is down");
        assert_eq!(
            rows[0].labels["alertname"], "ServiceDown",
            "labels kept for the detail view"
        );
    }

    #[test]
    fn an_alert_is_silenced_only_where_every_instance_silences_it() {
        let both = merge(
            &[
                instance(SERVICE_DOWN_SILENCED, SILENCES),
                instance(SERVICE_DOWN_SILENCED, SILENCES),
            ],
            "am",
            Utc::now(),
        );
        assert!(both[0].silenced);
        let one = merge(
            &[
                instance(SERVICE_DOWN_SILENCED, SILENCES),
                instance(&unsilenced(), "[]"),
            ],
            "am",
            Utc::now(),
        );
        assert_eq!(one.len(), 1);
        assert!(!one[0].silenced, "the other instance still notifies");
        assert_eq!(one[0].summary, "api_backend is down");
    }

    #[test]
    fn an_inhibited_alert_names_what_inhibits_it() {
        let inhibited = r#"[
            {"fingerprint":"aaaa","startsAt":"2026-11-22T05:00:00Z","annotations":{},
             "status":{"inhibitedBy":["60c2a5111a4c195a"],"silencedBy":[],"state":"suppressed"},
             "labels":{"alertname":"HighLatency","job":"api_backend","severity":"warning"}}]"#;
        let rows = merge(
            &[instance(inhibited, "[]"), instance(&unsilenced(), "[]")],
            "am",
            Utc::now(),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "HighLatency");
        assert_eq!(rows[0].target, "api_backend");
        assert!(!rows[0].silenced);
        assert_eq!(rows[0].summary, "inhibited by ServiceDown");
    }

    #[test]
    fn a_silence_missing_from_the_list_still_marks_the_alert() {
        let rows = merge(&[instance(SERVICE_DOWN_SILENCED, "[]")], "am", Utc::now());
        assert!(rows[0].silenced);
        assert!(rows[0].summary.ends_with("silenced (83b6c83e)"));
    }

    #[test]
    fn an_unreachable_instance_is_a_warning_without_its_password() {
        let error = SourceError::Http {
            url: mask_url("http://ops:hunter2@am.example.com:9093/api/v2/alerts"),
            reason: "cannot connect: Connection refused".into(),
        };
        let row = unreachable_row(
            "http://ops:hunter2@am.example.com:9093",
            &error,
            "am",
            Utc::now(),
        );
        assert_eq!(row.name, ALERTMANAGER_UNREACHABLE);
        assert_eq!(row.severity, Severity::Warning);
        assert_eq!(row.state, AlertState::Firing);
        assert_eq!(row.target, "http://ops:***@am.example.com:9093");
        assert!(row.summary.contains("Connection refused"));
        assert!(!format!("{row:?}").contains("hunter2"));
        assert_eq!(row.fingerprint.len(), 16);
    }

    #[test]
    fn configured_urls_are_asked_once_each() {
        let spec = AlertmanagerSource {
            urls: vec![
                "http://am1.example.com:9093/".into(),
                "http://am1.example.com:9093".into(),
                "http://am2.example.com:9093".into(),
            ],
        };
        let poller = AlertmanagerPoller::new("am", &spec, Duration::from_secs(5)).unwrap();
        assert_eq!(
            poller.urls,
            ["http://am1.example.com:9093", "http://am2.example.com:9093"]
        );
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing::{self, assert_explained, json_body};

        fn decode<T: serde::de::DeserializeOwned>(
            status: u16,
            body: Vec<u8>,
            what: &str,
        ) -> Result<T, SourceError> {
            fuzzing::answer(status, body)
                .require_success("http://am.example.com/api/v2/alerts")?
                .json(what)
        }

        proptest! {
            #![proptest_config(fuzzing::config())]

            /// Alert and silence lists from two instances merge into rows, or are refused.
            #[test]
            fn fuzz_alertmanager(
                status in fuzzing::status(),
                alerts in json_body(serde_json::from_str(SERVICE_DOWN_SILENCED).unwrap()),
                silences in json_body(serde_json::from_str(SILENCES).unwrap()),
                other_alerts in json_body(serde_json::from_str(&unsilenced()).unwrap()),
            ) {
                let first = decode::<Vec<GettableAlert>>(status, alerts, "Alertmanager alert list")
                    .and_then(|alerts| Ok(Instance {
                        alerts,
                        silences: decode(200, silences, "Alertmanager silence list")?,
                    }));
                let second = decode::<Vec<GettableAlert>>(200, other_alerts, "Alertmanager alert list")
                    .map(|alerts| Instance { alerts, silences: Vec::new() });
                let mut instances = Vec::new();
                for answer in [first, second] {
                    match answer {
                        Ok(instance) => instances.push(instance),
                        Err(error) => {
                            assert_explained(&error);
                            unreachable_row("http://am.example.com", &error, "am", Utc::now());
                        }
                    }
                }
                merge(&instances, "am", Utc::now());
            }
        }
    }
}
