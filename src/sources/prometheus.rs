//! The `prometheus` source: one host row per scraped instance, with node_exporter's CPU, memory,
//! disk and load where the instance runs it, and the alerts Prometheus's rules hold firing or
//! pending.
//!
//! The host list comes from `up`, so every target Prometheus scrapes shows, and a target that
//! stopped answering shows as down even though its node_exporter numbers are gone. The numbers
//! come from PromQL aggregated `by (instance)` and are joined on the `instance` label; an
//! instance scraped by several jobs is one row (up when every job reaches it, degraded when only
//! some do).
//!
//! Alert fingerprints are computed the way Alertmanager computes them (see
//! [`alerting::fingerprint`]), so an alert read here and the same alert read from Alertmanager
//! carry the same fingerprint. Both sources keep their own rows, each under its own source name;
//! where an Alertmanager source reports the same alert, the Alerts pane, the counts and
//! `snapshot` show Alertmanager's row alone ([`crate::model::shown_alerts`]), as it knows silences.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::alerting;
use super::fetch::{self, Fetched};
use super::local::round1;
use super::{Poller, SourceError};
use crate::config::{PrometheusSource, mask_url};
use crate::model::{AlertRow, AlertState, HostRow, HostStatus, Observation, Severity};

/// Busy share of all CPUs over the last minute, in percent.
const CPU_PCT: &str =
    r#"100 - avg by(instance)(rate(node_cpu_seconds_total{mode="idle"}[1m]))*100"#;
/// Memory in use, counting the page cache as free (MemAvailable), in percent.
const MEM_PCT: &str = "(1 - node_memory_MemAvailable_bytes/node_memory_MemTotal_bytes)*100";
/// The fullest real file system's used share, in percent; memory-backed and image file systems
/// are always "full" and say nothing about the disks.
const DISK_PCT: &str = r#"max by(instance)((1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}/node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})*100)"#;
const LOAD1: &str = "node_load1";
const UPTIME_S: &str = "node_time_seconds - node_boot_time_seconds";
/// How long Prometheus's last scrape of the instance took: the latency Prometheus sees.
const SCRAPE_S: &str = "scrape_duration_seconds";

#[derive(Debug)]
pub struct PrometheusPoller {
    source: String,
    base_url: String,
    client: reqwest::Client,
}

impl PrometheusPoller {
    /// `timeout` bounds each request (the supervisor bounds the whole poll too).
    pub fn new(
        source: &str,
        spec: &PrometheusSource,
        timeout: Duration,
    ) -> Result<PrometheusPoller, SourceError> {
        Ok(PrometheusPoller {
            source: source.to_owned(),
            base_url: spec.url.trim_end_matches('/').to_owned(),
            client: fetch::client(
                timeout,
                &Default::default(),
                fetch::Redirects::for_urls([spec.url.as_str()]),
            )?,
        })
    }

    /// One instant query; the samples of its vector result.
    async fn query(&self, promql: &str) -> Result<Vec<Sample>, SourceError> {
        let endpoint = format!("{}/api/v1/query", self.base_url);
        // Named with the query so an error says which one failed.
        let shown = format!("{endpoint}?query={promql}");
        let request = self.client.get(&endpoint).query(&[("query", promql)]);
        let fetched = fetch::send(request, &shown).await?;
        let data: QueryData = decode(fetched, &shown, "Prometheus query result")?;
        Ok(data.result)
    }

    async fn alerts(&self) -> Result<Vec<RuleAlert>, SourceError> {
        let url = format!("{}/api/v1/alerts", self.base_url);
        let fetched = fetch::get(&self.client, &url, &Default::default()).await?;
        let data: AlertsData = decode(fetched, &url, "Prometheus alert list")?;
        Ok(data.alerts)
    }
}

impl Poller for PrometheusPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let (up, alerts, cpu, mem, disk, load1, uptime, scrape) = tokio::try_join!(
            self.query("up"),
            self.alerts(),
            self.query(CPU_PCT),
            self.query(MEM_PCT),
            self.query(DISK_PCT),
            self.query(LOAD1),
            self.query(UPTIME_S),
            self.query(SCRAPE_S),
        )?;
        let numbers = NodeNumbers {
            cpu_pct: by_instance(&cpu),
            mem_pct: by_instance(&mem),
            disk_pct: by_instance(&disk),
            load1: by_instance(&load1),
            uptime_s: by_instance(&uptime),
            scrape_s: by_instance(&scrape),
        };
        let now = Utc::now();
        Ok(Observation {
            hosts: host_rows(&up, &numbers, &self.source, now),
            alerts: alert_rows(alerts, &self.source, now),
            ..Observation::default()
        })
    }
}

/// Prometheus's answer envelope: `{"status":"success","data":…}` or
/// `{"status":"error","errorType":…,"error":…}` (with a 4xx/5xx status).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error: String,
}

/// The `data` of an envelope, or an error that quotes Prometheus's own `errorType` and `error`.
fn decode<T: DeserializeOwned>(fetched: Fetched, url: &str, what: &str) -> Result<T, SourceError> {
    let envelope = match serde_json::from_slice::<Envelope<T>>(&fetched.body) {
        Ok(envelope) => envelope,
        // Not Prometheus's JSON at all: a proxy's error page says more through its status.
        Err(error) => {
            fetched.require_success(url)?;
            return Err(SourceError::BadResponse {
                what: what.to_owned(),
                reason: error.to_string(),
            });
        }
    };
    match (envelope.status.as_str(), envelope.data) {
        ("success", Some(data)) => Ok(data),
        ("error", _) => Err(SourceError::Status {
            url: mask_url(url),
            status: fetched.status,
            body: format!("{}: {}", envelope.error_type, envelope.error),
        }),
        (status, _) => Err(SourceError::BadResponse {
            what: what.to_owned(),
            reason: format!("status `{status}` without data"),
        }),
    }
}

#[derive(Debug, Deserialize)]
struct QueryData {
    result: Vec<Sample>,
}

/// One element of an instant vector: labels and `[unix time, "value"]`.
#[derive(Debug, Deserialize)]
struct Sample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

impl Sample {
    /// The value, unless it is NaN or infinite (a division by a zero-sized file system), which
    /// no pane can show.
    fn number(&self) -> Option<f64> {
        self.value
            .1
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
    }
}

#[derive(Debug, Deserialize)]
struct AlertsData {
    alerts: Vec<RuleAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    active_at: Option<DateTime<Utc>>,
}

/// node_exporter's numbers, each by instance.
#[derive(Debug, Default)]
struct NodeNumbers {
    cpu_pct: HashMap<String, f64>,
    mem_pct: HashMap<String, f64>,
    disk_pct: HashMap<String, f64>,
    load1: HashMap<String, f64>,
    uptime_s: HashMap<String, f64>,
    scrape_s: HashMap<String, f64>,
}

/// The value of each instance; the largest where several series share an instance (one
/// node_exporter scraped by two jobs), since the worse reading is the one to show.
fn by_instance(samples: &[Sample]) -> HashMap<String, f64> {
    let mut values: HashMap<String, f64> = HashMap::new();
    for sample in samples {
        let (Some(instance), Some(value)) = (sample.metric.get("instance"), sample.number()) else {
            continue;
        };
        values
            .entry(instance.clone())
            .and_modify(|known| *known = known.max(value))
            .or_insert(value);
    }
    values
}

/// One row per instance `up` knows, in instance order.
fn host_rows(
    up: &[Sample],
    numbers: &NodeNumbers,
    source: &str,
    now: DateTime<Utc>,
) -> Vec<HostRow> {
    // instance → (jobs, how many of its series are up, how many there are)
    let mut instances: BTreeMap<String, (BTreeSet<String>, usize, usize)> = BTreeMap::new();
    for sample in up {
        let instance = alerting::target(&sample.metric);
        let (jobs, reached, scraped) = instances.entry(instance).or_default();
        if let Some(job) = sample.metric.get("job") {
            jobs.insert(job.clone());
        }
        *scraped += 1;
        if sample.number() == Some(1.0) {
            *reached += 1;
        }
    }
    instances
        .into_iter()
        .map(|(instance, (jobs, reached, scraped))| {
            let status = match reached {
                0 => HostStatus::Down,
                _ if reached == scraped => HostStatus::Up,
                _ => HostStatus::Degraded,
            };
            let number = |values: &HashMap<String, f64>| values.get(&instance).copied();
            let jobs: Vec<&str> = jobs.iter().map(String::as_str).collect();
            HostRow {
                source: source.to_owned(),
                kind: "prometheus".to_owned(),
                status,
                latency_ms: number(&numbers.scrape_s)
                    .map(|seconds| (seconds * 1000.0).round().max(0.0) as u64),
                cpu_pct: number(&numbers.cpu_pct).map(|pct| round1(pct.clamp(0.0, 100.0))),
                mem_pct: number(&numbers.mem_pct).map(round1),
                disk_pct: number(&numbers.disk_pct).map(round1),
                load1: number(&numbers.load1),
                uptime_s: number(&numbers.uptime_s).map(|seconds| seconds.max(0.0) as u64),
                version: None,
                observed_at: now,
                fields: BTreeMap::from([("job".to_owned(), json!(jobs.join(", ")))]),
                name: instance,
            }
        })
        .collect()
}

/// The firing and pending alerts as rows; inactive ones (which Prometheus lists for rules with
/// `keep_firing_for`) are left out.
fn alert_rows(alerts: Vec<RuleAlert>, source: &str, now: DateTime<Utc>) -> Vec<AlertRow> {
    alerts
        .into_iter()
        .filter_map(|alert| {
            let state = match alert.state.as_str() {
                "firing" => AlertState::Firing,
                "pending" => AlertState::Pending,
                _ => return None,
            };
            Some(AlertRow {
                source: source.to_owned(),
                name: alert.labels.get("alertname").cloned().unwrap_or_default(),
                severity: Severity::from_label(
                    alert.labels.get("severity").map_or("", String::as_str),
                ),
                state,
                target: alerting::target(&alert.labels),
                since: alert.active_at,
                silenced: false,
                summary: alerting::summary(&alert.annotations),
                fingerprint: alerting::fingerprint(&alert.labels),
                labels: alert.labels,
                observed_at: now,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(status: u16, body: &str) -> Fetched {
        Fetched {
            status,
            body: body.as_bytes().to_vec(),
            latency_ms: 1,
            request_id: "test".into(),
            peer_certificate: None,
        }
    }

    fn samples(body: &str) -> Vec<Sample> {
        let data: QueryData = decode(fetched(200, body), "http://prom/api/v1/query", "q").unwrap();
        data.result
    }

    // Shapes as Prometheus 2.42 answered in the lab.
    const UP: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"up","instance":"127.0.0.1:59100","job":"node"},"value":[1795323872.495,"1"]},
        {"metric":{"__name__":"up","instance":"127.0.0.1:59999","job":"api_backend"},"value":[1795323872.495,"0"]}]}}"#;
    const CPU: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"instance":"127.0.0.1:59100"},"value":[1795323872.504,"73.10682833333338"]}]}}"#;
    const ALERTS: &str = r#"{"status":"success","data":{"alerts":[
        {"labels":{"alertname":"ServiceDown","instance":"127.0.0.1:59999","job":"api_backend","severity":"critical"},
         "annotations":{"summary":"api_backend is down"},"state":"firing","activeAt":"2026-11-22T05:04:10.466618635Z","value":"0e+00"},
        {"labels":{"alertname":"HighCPUUsage","instance":"127.0.0.1:59100","severity":"warning"},
         "annotations":{"description":"CPU busy"},"state":"pending","activeAt":"2026-11-22T05:05:00Z","value":"91"},
        {"labels":{"alertname":"Gone"},"annotations":{},"state":"inactive","activeAt":null,"value":"0"}]}}"#;

    #[test]
    fn hosts_come_from_up_with_node_numbers_where_known() {
        let numbers = NodeNumbers {
            cpu_pct: by_instance(&samples(CPU)),
            ..NodeNumbers::default()
        };
        let now = Utc::now();
        let hosts = host_rows(&samples(UP), &numbers, "prom", now);
        assert_eq!(hosts.len(), 2);
        let node = &hosts[0];
        assert_eq!(node.name, "127.0.0.1:59100");
        assert_eq!(node.kind, "prometheus");
        assert_eq!(node.source, "prom");
        assert_eq!(node.status, HostStatus::Up);
        assert_eq!(node.cpu_pct, Some(73.1));
        assert_eq!(node.fields["job"], json!("node"));
        let backend = &hosts[1];
        assert_eq!(backend.name, "127.0.0.1:59999");
        assert_eq!(backend.status, HostStatus::Down);
        assert_eq!(backend.cpu_pct, None, "no node_exporter, no numbers");
        assert_eq!(backend.observed_at, now);
    }

    #[test]
    fn an_instance_reached_by_only_some_jobs_is_degraded() {
        let up = samples(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"db1:9100","job":"node"},"value":[1,"1"]},
            {"metric":{"instance":"db1:9100","job":"blackbox"},"value":[1,"0"]}]}}"#,
        );
        let hosts = host_rows(&up, &NodeNumbers::default(), "prom", Utc::now());
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].status, HostStatus::Degraded);
        assert_eq!(hosts[0].fields["job"], json!("blackbox, node"));
    }

    #[test]
    fn values_prometheus_cannot_compute_are_left_out() {
        let disk = samples(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"a"},"value":[1,"NaN"]},
            {"metric":{"instance":"b"},"value":[1,"+Inf"]},
            {"metric":{"instance":"c","job":"x"},"value":[1,"40"]},
            {"metric":{"instance":"c","job":"y"},"value":[1,"60"]}]}}"#,
        );
        let values = by_instance(&disk);
        assert_eq!(values.len(), 1);
        assert_eq!(values["c"], 60.0, "the worse of two readings");
    }

    #[test]
    fn firing_and_pending_alerts_become_rows() {
        let data: AlertsData = decode(fetched(200, ALERTS), "http://prom", "alerts").unwrap();
        let rows = alert_rows(data.alerts, "prom", Utc::now());
        assert_eq!(rows.len(), 2, "inactive alerts are left out");
        let down = &rows[0];
        assert_eq!(down.name, "ServiceDown");
        assert_eq!(down.severity, Severity::Critical);
        assert_eq!(down.state, AlertState::Firing);
        assert_eq!(down.target, "127.0.0.1:59999");
        assert_eq!(down.summary, "api_backend is down");
        assert_eq!(
            down.since,
            Some("2026-11-22T05:04:10.466618635Z".parse().unwrap())
        );
        assert_eq!(
            down.fingerprint, "60c2a5111a4c195a",
            "Alertmanager's fingerprint"
        );
        assert!(!down.silenced);
        assert_eq!(
            down.labels["job"], "api_backend",
            "labels kept for the detail view"
        );
        let cpu = &rows[1];
        assert_eq!(cpu.state, AlertState::Pending);
        assert_eq!(cpu.severity, Severity::Warning);
        assert_eq!(cpu.summary, "CPU busy");
    }

    #[test]
    fn an_error_envelope_names_prometheus_error() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unclosed left parenthesis"}"#;
        let error = decode::<QueryData>(fetched(400, body), "http://prom/api/v1/query", "q")
            .unwrap_err()
            .to_string();
        assert!(error.contains("400"), "{error}");
        assert!(error.contains("bad_data: invalid parameter"), "{error}");
    }

    #[test]
    fn a_proxy_error_page_reports_its_status() {
        let error = decode::<QueryData>(
            fetched(502, "<html>Bad Gateway</html>"),
            "http://prom/api/v1/query",
            "q",
        )
        .unwrap_err();
        assert!(matches!(error, SourceError::Status { status: 502, .. }));
    }

    #[test]
    fn a_success_without_the_documented_shape_is_a_bad_response() {
        for body in [
            r#"{"status":"success"}"#,
            r#"{"status":"success","data":{"result":"nope"}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
        ] {
            let error = decode::<QueryData>(fetched(200, body), "http://prom", "q").unwrap_err();
            assert!(matches!(error, SourceError::BadResponse { .. }), "{body}");
        }
    }

    mod fuzz {
        use proptest::prelude::*;
        use serde_json::json;

        use super::*;
        use crate::fuzzing::{self, assert_explained, json_body};

        const URL: &str = "http://prom.example.com/api/v1/query";

        proptest! {
            #![proptest_config(fuzzing::config())]

            /// Query answers: samples become host rows, or the answer is a bad response.
            #[test]
            fn fuzz_prometheus_query(
                status in fuzzing::status(),
                up in json_body(serde_json::from_str(UP).unwrap()),
                cpu in json_body(serde_json::from_str(CPU).unwrap()),
            ) {
                let up = decode::<QueryData>(fuzzing::answer(status, up), URL, "up");
                let cpu = decode::<QueryData>(fuzzing::answer(200, cpu), URL, "cpu");
                match (up, cpu) {
                    (Ok(up), Ok(cpu)) => {
                        let numbers = NodeNumbers {
                            cpu_pct: by_instance(&cpu.result),
                            load1: by_instance(&up.result),
                            ..NodeNumbers::default()
                        };
                        host_rows(&up.result, &numbers, "prom", Utc::now());
                    }
                    (Err(error), _) | (_, Err(error)) => assert_explained(&error),
                }
            }

            #[test]
            fn fuzz_prometheus_alerts(
                status in fuzzing::status(),
                body in json_body(serde_json::from_str(ALERTS).unwrap()),
            ) {
                match decode::<AlertsData>(fuzzing::answer(status, body), URL, "alerts") {
                    Ok(data) => {
                        alert_rows(data.alerts, "prom", Utc::now());
                    }
                    Err(error) => assert_explained(&error),
                }
            }

            #[test]
            fn fuzz_prometheus_error_envelope(
                status in fuzzing::status(),
                body in json_body(json!({"status": "error", "errorType": "bad_data", "error": "parse error"})),
            ) {
                if let Err(error) = decode::<QueryData>(fuzzing::answer(status, body), URL, "up") {
                    assert_explained(&error);
                }
            }
        }
    }
}
