//! `kind = "http"`: a health URL.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::de::DeValue;

use crate::config::diagnostics::{self, DurationLimits, Problems, Table};
use crate::config::secret::{Secret, SecretKind};
use crate::config::values::{HOUR, LONGER_THAN_ZERO, http_status, http_url, limits};

/// A health URL: status, optional JSON field match, latency, TLS expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    pub url: String,
    /// Default 200.
    pub expect_status: u16,
    /// Fields the JSON body must contain with these values (`{ status = "ok" }`).
    pub expect_json: Option<serde_json::Map<String, serde_json::Value>>,
    /// https only: alert when the certificate expires in fewer days. Default 14.
    pub tls_warn_days: u32,
    /// Alert when the answer takes longer (the runbook's WAN→DMZ check alerts over 150 ms).
    pub latency_warn: Option<Duration>,
    /// Extra request headers; values may be secrets (`Authorization = "env:API_TOKEN"`).
    pub headers: BTreeMap<String, Secret>,
}

const LATENCY_WARN: DurationLimits = limits(Duration::from_millis(1), HOUR, LONGER_THAN_ZERO);

pub(super) fn read_http(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<HttpSource> {
    let url = http_url(table, problems, "url");
    let expect_status = http_status(table, problems);
    let expect_json = table
        .value("expect_json")
        .and_then(|value| match value.get_ref() {
            DeValue::Table(fields) => Some(
                fields
                    .iter()
                    .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                    .collect(),
            ),
            _ => {
                table.wrong_type(
                    problems,
                    "expect_json",
                    value,
                    "a table of fields, e.g. { status = \"ok\" }",
                );
                None
            }
        });
    let tls_warn_days = table
        .integer(
            problems,
            "tls_warn_days",
            0..=3650,
            "a number of days such as 14",
        )
        .map_or(14, |days| days as u32);
    let latency_warn = table.duration(problems, "latency_warn", LATENCY_WARN);
    let mut headers = BTreeMap::new();
    if let Some(header_table) = table.table(
        problems,
        "headers",
        "a table such as { Accept = \"application/json\" }",
    ) {
        for (key, value) in header_table.entries() {
            let key_path = header_table.key_path(key.get_ref());
            match value.get_ref() {
                DeValue::String(text) => match Secret::parse(text, SecretKind::Value) {
                    Ok(secret) => {
                        headers.insert(key.get_ref().to_string(), secret);
                    }
                    Err(message) => problems.report(value.span(), &key_path, message),
                },
                other => problems.report(
                    value.span(),
                    &key_path,
                    format!("expected a string, found {}.", diagnostics::found(other)),
                ),
            }
        }
    }
    Some(HttpSource {
        url: url?,
        expect_status,
        expect_json,
        tls_warn_days,
        latency_warn,
        headers,
    })
}

/// TOML → JSON for `expect_json`, which is matched against a JSON body.
fn to_json(value: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        DeValue::String(s) => Json::String(s.to_string()),
        DeValue::Integer(_) => diagnostics::as_i64(value).map_or(Json::Null, Json::from),
        DeValue::Float(_) => diagnostics::as_f64(value)
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(d) => Json::String(d.to_string()),
        DeValue::Array(items) => Json::Array(items.iter().map(|i| to_json(i.get_ref())).collect()),
        DeValue::Table(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}
