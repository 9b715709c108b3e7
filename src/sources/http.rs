//! The `http` source: one health URL — its status, an optional match on fields of its JSON
//! body, its latency and, for https, how many days its certificate has left.
//!
//! What an operator sees depends on whether the endpoint answered:
//!
//! - **It answered wrongly** (a status other than `expect_status`, a body that is not JSON or
//!   whose fields differ from `expect_json`): the poll succeeds — the source works, it is the
//!   endpoint that is broken — with a `down` host row and a critical `EndpointDown` alert
//!   saying why (`answered 503, expected 200: …`, `` `status` is "degraded", expected "ok" ``).
//! - **It did not answer** (connection refused, timed out, DNS, TLS handshake, a body cut off
//!   or larger than [`fetch::MAX_BODY_BYTES`]): the poll fails, so the Sources view shows the
//!   source failing with the reason; and since for a health check no answer is an answer, the
//!   host is `down` with that reason and a critical `EndpointDown` ([`no_answer`]), from the
//!   first poll on, the supervisor's timeout included.
//! - **It answered rightly but slower than `latency_warn`**: `degraded`, with an `EndpointSlow`
//!   warning.
//! - **Its certificate expires in fewer than `tls_warn_days`**: a `TlsCertificateExpiring`
//!   alert, a warning that turns critical under [`TLS_CRITICAL_DAYS`] days; an otherwise
//!   healthy host shows `degraded` until the certificate is renewed. Once it has expired the
//!   handshake itself fails (certificates are always verified), so the source fails with
//!   `TLS handshake failed: the server's certificate expired on … (… ago)`.
//!
//! The request carries an `X-Request-ID` (shown in the row) so the check can be found in the
//! server's own logs.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::alerting::FirstSeen;
use super::fetch::{self, Fetched};
use super::{Poller, SourceError};
use crate::config::{HttpSource, mask_url};
use crate::model::{AlertRow, HostRow, HostStatus, Observation, Severity, host_fields};

pub const ENDPOINT_DOWN: &str = "EndpointDown";
pub const ENDPOINT_SLOW: &str = "EndpointSlow";
pub const TLS_CERTIFICATE_EXPIRING: &str = "TlsCertificateExpiring";

/// Fewer days than this left on a certificate is critical: a renewal that has not happened by
/// then needs someone now, not at the next working day.
pub const TLS_CRITICAL_DAYS: i64 = 3;

/// The longest JSON value quoted in a mismatch; a whole nested document would not fit a line.
const QUOTE_CHARS: usize = 60;

/// Polls one health URL.
#[derive(Debug)]
pub struct HttpPoller {
    source: String,
    spec: HttpSource,
    /// Shared with the other sources started together (see [`super::SharedClients`]). Its
    /// requests carry no timeout of their own: the supervisor's bounds the poll, so a hung
    /// endpoint is always "timed out after" the source's `timeout`, in one wording.
    client: reqwest::Client,
    first_seen: FirstSeen,
}

impl HttpPoller {
    pub fn new(source: &str, spec: HttpSource, client: reqwest::Client) -> HttpPoller {
        HttpPoller {
            source: source.to_owned(),
            spec,
            client,
            first_seen: FirstSeen::default(),
        }
    }

    /// Header values are resolved at every poll so a rotated token file is picked up.
    fn headers(&self) -> Result<HeaderMap, SourceError> {
        let mut pairs = Vec::with_capacity(self.spec.headers.len());
        for (name, secret) in &self.spec.headers {
            let value = secret
                .resolve()
                .map_err(|e| SourceError::Setup(format!("header `{name}`: {e}")))?;
            pairs.push((name.as_str(), value));
        }
        fetch::headers(pairs)
    }
}

impl Poller for HttpPoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let request = self.client.get(&self.spec.url).headers(self.headers()?);
        let answer = fetch::send(request, &self.spec.url).await?;
        let now = Utc::now();
        let mut observation = judge(&self.source, &self.spec, &answer, now);
        self.first_seen.stamp(&mut observation.alerts, now);
        Ok(observation)
    }

    /// No answer is the answer: the endpoint is down, whatever kept it from answering. Only a
    /// header that cannot be set up is ondeck's problem, not the endpoint's.
    fn unanswered(&mut self, error: &SourceError, now: DateTime<Utc>) -> Option<Observation> {
        let reason = match error {
            SourceError::Setup(_) => return None,
            // The row names the URL already.
            SourceError::Http { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        let mut observation = no_answer(&self.source, &self.spec, reason, now);
        self.first_seen.stamp(&mut observation.alerts, now);
        Some(observation)
    }
}

/// What an endpoint that did not answer (`reason`: refused, timed out, a failed TLS handshake)
/// is: down, with a critical `EndpointDown` saying why, as a wrong answer would be.
pub fn no_answer(
    source: &str,
    spec: &HttpSource,
    reason: String,
    now: DateTime<Utc>,
) -> Observation {
    let fields = BTreeMap::from([
        ("url".to_owned(), json!(mask_url(&spec.url))),
        (host_fields::REASON.to_owned(), json!(reason)),
    ]);
    let host = HostRow {
        fields,
        ..HostRow::checked(source, source, "http", HostStatus::Down, now)
    };
    let alert = AlertRow::raised(
        source,
        ENDPOINT_DOWN,
        Severity::Critical,
        source,
        reason,
        now,
    );
    Observation {
        hosts: vec![host],
        alerts: vec![alert],
        ..Observation::default()
    }
}

/// What an answer says about the endpoint: its host row and alerts, every alert raised since
/// `now`. Pure, so every verdict can be tested without a server.
pub fn judge(source: &str, spec: &HttpSource, answer: &Fetched, now: DateTime<Utc>) -> Observation {
    let mut fields = BTreeMap::from([
        ("url".to_owned(), json!(mask_url(&spec.url))),
        ("http_status".to_owned(), json!(answer.status)),
        ("request_id".to_owned(), json!(answer.request_id)),
    ]);
    let alert = |name: &str, severity: Severity, summary: String| {
        AlertRow::raised(source, name, severity, source, summary, now)
    };
    let mut alerts = Vec::new();

    let mut status = match wrong_answer(spec, answer) {
        Some(reason) => {
            alerts.push(alert(ENDPOINT_DOWN, Severity::Critical, reason.clone()));
            fields.insert(host_fields::REASON.to_owned(), json!(reason));
            HostStatus::Down
        }
        None => match spec.latency_warn {
            Some(limit) if Duration::from_millis(answer.latency_ms) > limit => {
                let reason = format!(
                    "answered in {} ms, slower than the {} limit",
                    answer.latency_ms,
                    humantime::format_duration(limit)
                );
                alerts.push(alert(ENDPOINT_SLOW, Severity::Warning, reason.clone()));
                fields.insert(host_fields::REASON.to_owned(), json!(reason));
                HostStatus::Degraded
            }
            _ => HostStatus::Up,
        },
    };

    if let Some(der) = &answer.peer_certificate {
        match certificate_not_after(der) {
            Ok(not_after) => {
                let days_left = days_until(not_after, now);
                fields.insert("tls_days_left".to_owned(), json!(days_left));
                fields.insert("tls_not_after".to_owned(), json!(not_after.to_rfc3339()));
                if days_left < i64::from(spec.tls_warn_days) {
                    let severity = if days_left < TLS_CRITICAL_DAYS {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    };
                    let summary = if not_after <= now {
                        format!("certificate expired on {}", not_after.date_naive())
                    } else {
                        format!(
                            "certificate expires in {days_left} days, on {}",
                            not_after.date_naive()
                        )
                    };
                    alerts.push(alert(TLS_CERTIFICATE_EXPIRING, severity, summary));
                    if status == HostStatus::Up {
                        status = HostStatus::Degraded;
                    }
                }
            }
            Err(reason) => {
                fields.insert("tls_error".to_owned(), json!(reason));
            }
        }
    }

    let host = HostRow {
        latency_ms: Some(answer.latency_ms),
        fields,
        ..HostRow::checked(source, source, "http", status, now)
    };
    Observation {
        hosts: vec![host],
        alerts,
        ..Observation::default()
    }
}

/// Why the answer is not the healthy one the configuration describes, if it is not.
fn wrong_answer(spec: &HttpSource, answer: &Fetched) -> Option<String> {
    if answer.status != spec.expect_status {
        let snippet = answer.body_snippet();
        let quoted = if snippet.is_empty() {
            String::new()
        } else {
            format!(": {snippet}")
        };
        return Some(format!(
            "answered {}, expected {}{quoted}",
            answer.status, spec.expect_status
        ));
    }
    let expected = spec.expect_json.as_ref()?;
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(body) => json_mismatch(expected, &body, ""),
        Err(e) => Some(format!("body is not JSON: {e}")),
    }
}

/// The first field of `expected` that `got` lacks or holds another value in, described as
/// `` `checks.db` is "down", expected "ok" ``. Nested tables match as subsets, so a health
/// document may carry more fields than the configuration names.
pub fn json_mismatch(expected: &Map<String, Value>, got: &Value, path: &str) -> Option<String> {
    expected.iter().find_map(|(key, want)| {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match (want, got.get(key)) {
            (_, None) => Some(format!("`{at}` is missing, expected {}", quote(want))),
            (Value::Object(inner), Some(found)) => json_mismatch(inner, found, &at),
            (want, Some(found)) if same_value(want, found) => None,
            (want, Some(found)) => Some(format!(
                "`{at}` is {}, expected {}",
                quote(found),
                quote(want)
            )),
        }
    })
}

/// JSON equality where `1` and `1.0` are the same number: TOML writes integers and floats
/// differently, health documents are not consistent either.
fn same_value(want: &Value, found: &Value) -> bool {
    match (want, found) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => want == found,
    }
}

fn quote(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= QUOTE_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(QUOTE_CHARS).collect();
    cut.push('…');
    cut
}

/// When a DER certificate stops being valid.
pub fn certificate_not_after(der: &[u8]) -> Result<DateTime<Utc>, String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("server certificate not readable: {e}"))?;
    let timestamp = certificate.validity().not_after.timestamp();
    DateTime::from_timestamp(timestamp, 0)
        .ok_or_else(|| format!("server certificate expiry out of range: {timestamp}"))
}

/// Whole days from `now` until `not_after`, rounded down: 0 on the last day, negative once
/// expired.
pub fn days_until(not_after: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (not_after - now).num_seconds().div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HttpSource {
        HttpSource {
            url: "https://api.example.com/healthz".into(),
            expect_status: 200,
            expect_json: None,
            tls_warn_days: 14,
            latency_warn: None,
            headers: BTreeMap::new(),
        }
    }

    fn answer(status: u16, body: &str) -> Fetched {
        Fetched {
            status,
            body: body.as_bytes().to_vec(),
            latency_ms: 20,
            request_id: "4f1c".into(),
            peer_certificate: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn expect_status_ok(spec: &mut HttpSource) {
        spec.expect_json = Some(json!({"status": "ok"}).as_object().unwrap().clone());
    }

    fn certificate_valid_for(days: i64) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["api.example.com".into()]).unwrap();
        let not_after =
            time::OffsetDateTime::from_unix_timestamp(now().timestamp() + days * 86_400 + 3600)
                .unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(0).unwrap();
        params.not_after = not_after;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_expected_answer_is_up_with_its_details() {
        let mut spec = spec();
        expect_status_ok(&mut spec);
        let seen = judge(
            "api",
            &spec,
            &answer(200, r#"{"status":"ok","db":"ok"}"#),
            now(),
        );
        assert!(seen.alerts.is_empty());
        let host = &seen.hosts[0];
        assert_eq!(
            (host.name.as_str(), host.kind.as_str(), host.status),
            ("api", "http", HostStatus::Up)
        );
        assert_eq!(host.latency_ms, Some(20));
        assert_eq!(host.fields["http_status"], json!(200));
        assert_eq!(host.fields["request_id"], json!("4f1c"));
        assert_eq!(host.fields["url"], json!("https://api.example.com/healthz"));
        assert_eq!(host.observed_at, now());
    }

    #[test]
    fn a_wrong_status_is_down_with_the_start_of_the_body() {
        let seen = judge(
            "api",
            &spec(),
            &answer(503, "  down for\nmaintenance "),
            now(),
        );
        assert_eq!(seen.hosts[0].status, HostStatus::Down);
        let alert = &seen.alerts[0];
        assert_eq!(alert.name, ENDPOINT_DOWN);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.target, "api");
        assert_eq!(
            alert.summary,
            "answered 503, expected 200: down for maintenance"
        );
        assert_eq!(seen.hosts[0].fields["reason"], json!(alert.summary));
    }

    #[test]
    fn a_mismatched_field_says_which_and_what() {
        let mut spec = spec();
        expect_status_ok(&mut spec);
        let seen = judge(
            "api",
            &spec,
            &answer(200, r#"{"status":"degraded"}"#),
            now(),
        );
        assert_eq!(seen.hosts[0].status, HostStatus::Down);
        assert_eq!(
            seen.alerts[0].summary,
            r#"`status` is "degraded", expected "ok""#
        );
        let missing = judge("api", &spec, &answer(200, r#"{"state":"ok"}"#), now());
        assert_eq!(
            missing.alerts[0].summary,
            r#"`status` is missing, expected "ok""#
        );
    }

    #[test]
    fn nested_fields_match_as_subsets_and_numbers_by_value() {
        let expected = json!({"checks": {"db": "ok"}, "workers": 4});
        let expected = expected.as_object().unwrap();
        let body = json!({"checks": {"db": "ok", "cache": "ok"}, "workers": 4.0, "x": 1});
        assert_eq!(json_mismatch(expected, &body, ""), None);
        let body = json!({"checks": {"db": "down"}, "workers": 4});
        assert_eq!(
            json_mismatch(expected, &body, ""),
            Some(r#"`checks.db` is "down", expected "ok""#.to_owned())
        );
        let body = json!({"checks": "fine", "workers": 4});
        assert_eq!(
            json_mismatch(expected, &body, ""),
            Some(r#"`checks.db` is missing, expected "ok""#.to_owned())
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_down_when_fields_are_expected() {
        let mut spec = spec();
        let garbage = answer(200, "<html>oops");
        assert_eq!(
            judge("api", &spec, &garbage, now()).hosts[0].status,
            HostStatus::Up
        );
        expect_status_ok(&mut spec);
        let seen = judge("api", &spec, &garbage, now());
        assert_eq!(seen.hosts[0].status, HostStatus::Down);
        assert!(
            seen.alerts[0].summary.starts_with("body is not JSON: "),
            "{}",
            seen.alerts[0].summary
        );
    }

    #[test]
    fn long_values_are_cut_in_the_summary() {
        let expected = json!({"status": "ok"});
        let body = json!({"status": "x".repeat(500)});
        let summary = json_mismatch(expected.as_object().unwrap(), &body, "").unwrap();
        assert!(summary.chars().count() < 100, "{summary}");
        assert!(summary.contains('…'));
    }

    #[test]
    fn a_slow_right_answer_is_degraded() {
        let mut spec = spec();
        spec.latency_warn = Some(Duration::from_millis(150));
        let mut slow = answer(200, "");
        slow.latency_ms = 151;
        let seen = judge("api", &spec, &slow, now());
        assert_eq!(seen.hosts[0].status, HostStatus::Degraded);
        assert_eq!(seen.alerts[0].name, ENDPOINT_SLOW);
        assert_eq!(seen.alerts[0].severity, Severity::Warning);
        assert_eq!(
            seen.alerts[0].summary,
            "answered in 151 ms, slower than the 150ms limit"
        );
        slow.latency_ms = 150;
        assert_eq!(
            judge("api", &spec, &slow, now()).hosts[0].status,
            HostStatus::Up
        );
        // A wrong answer is down however fast or slow it came.
        slow.status = 500;
        slow.latency_ms = 900;
        let seen = judge("api", &spec, &slow, now());
        assert_eq!(seen.hosts[0].status, HostStatus::Down);
        assert_eq!(seen.alerts.len(), 1);
    }

    #[test]
    fn certificate_days_count_down_to_the_alert() {
        let mut healthy = answer(200, "");
        healthy.peer_certificate = Some(certificate_valid_for(90));
        let seen = judge("api", &spec(), &healthy, now());
        assert_eq!(seen.hosts[0].fields["tls_days_left"], json!(90));
        assert_eq!(seen.hosts[0].status, HostStatus::Up);
        assert!(seen.alerts.is_empty());

        let mut soon = answer(200, "");
        soon.peer_certificate = Some(certificate_valid_for(10));
        let seen = judge("api", &spec(), &soon, now());
        assert_eq!(seen.hosts[0].status, HostStatus::Degraded);
        let alert = &seen.alerts[0];
        assert_eq!(alert.name, TLS_CERTIFICATE_EXPIRING);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.summary,
            "certificate expires in 10 days, on 2023-11-24"
        );

        soon.peer_certificate = Some(certificate_valid_for(2));
        let seen = judge("api", &spec(), &soon, now());
        assert_eq!(seen.alerts[0].severity, Severity::Critical);

        soon.peer_certificate = Some(certificate_valid_for(-5));
        let seen = judge("api", &spec(), &soon, now());
        assert_eq!(seen.hosts[0].fields["tls_days_left"], json!(-5));
        assert_eq!(seen.alerts[0].severity, Severity::Critical);
        assert!(
            seen.alerts[0]
                .summary
                .starts_with("certificate expired on ")
        );
    }

    #[test]
    fn an_unreadable_certificate_is_noted_not_fatal() {
        let mut odd = answer(200, "");
        odd.peer_certificate = Some(vec![0x30, 0x03, 0x01]);
        let seen = judge("api", &spec(), &odd, now());
        assert_eq!(seen.hosts[0].status, HostStatus::Up);
        assert!(
            seen.hosts[0].fields["tls_error"]
                .as_str()
                .unwrap()
                .starts_with("server certificate not readable")
        );
    }

    #[test]
    fn days_round_down_and_go_negative_once_expired() {
        let hours = |h: i64| now() + chrono::Duration::hours(h);
        assert_eq!(days_until(hours(47), now()), 1);
        assert_eq!(days_until(hours(1), now()), 0);
        assert_eq!(days_until(hours(-1), now()), -1);
    }

    #[test]
    fn passwords_in_the_url_never_reach_the_row() {
        let mut spec = spec();
        spec.url = "https://probe:hunter2@api.example.com/healthz".into();
        let seen = judge("api", &spec, &answer(500, ""), now());
        let shown = serde_json::to_string(&seen).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(seen.alerts[0].summary, "answered 500, expected 200");
    }

    mod fuzz {
        use std::sync::LazyLock;

        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing::{self, hostile_json, json_body};

        static CERTIFICATE: LazyLock<Vec<u8>> = LazyLock::new(|| certificate_valid_for(30));

        fn certificate() -> impl Strategy<Value = Option<Vec<u8>>> {
            prop_oneof![
                Just(None),
                Just(Some(CERTIFICATE.clone())),
                prop::collection::vec(any::<u8>(), 0..64).prop_map(Some),
                prop::collection::vec((any::<usize>(), any::<u8>()), 1..8).prop_map(|flips| {
                    let mut der = CERTIFICATE.clone();
                    for (at, byte) in flips {
                        let len = der.len();
                        der[at % len] = byte;
                    }
                    Some(der)
                }),
            ]
        }

        fn expected() -> impl Strategy<Value = Option<Map<String, Value>>> {
            prop_oneof![
                Just(None),
                Just(json!({"status": "ok"}).as_object().cloned()),
                prop::collection::btree_map("[a-z]{1,6}", hostile_json(), 0..3)
                    .prop_map(|map| Some(map.into_iter().collect())),
            ]
        }

        proptest! {
            #![proptest_config(fuzzing::config())]

            /// Whatever the endpoint answers, the verdict is a row; nothing panics.
            #[test]
            fn fuzz_http_health(
                status in fuzzing::status(),
                body in json_body(json!({"status": "ok", "checks": {"db": "up"}, "version": "1.2.3"})),
                latency_ms in prop_oneof![Just(20u64), any::<u64>()],
                peer_certificate in certificate(),
                expect_json in expected(),
                seconds in prop_oneof![Just(1_700_000_000i64), -62_135_596_800i64..253_402_300_799],
            ) {
                let spec = HttpSource {
                    expect_json,
                    latency_warn: Some(Duration::from_secs(1)),
                    ..spec()
                };
                let answer = Fetched {
                    latency_ms,
                    peer_certificate,
                    ..fuzzing::answer(status, body)
                };
                let now = DateTime::from_timestamp(seconds, 0).unwrap();
                let seen = judge("api", &spec, &answer, now);
                prop_assert_eq!(seen.hosts.len(), 1);
            }
        }
    }
}
