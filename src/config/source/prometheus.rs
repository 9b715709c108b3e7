//! `kind = "prometheus"`: its firing alerts.

use crate::config::diagnostics::{Problems, Table};
use crate::config::values::http_url;

#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusSource {
    pub url: String,
}

pub(super) fn read_prometheus(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<PrometheusSource> {
    http_url(table, problems, "url").map(|url| PrometheusSource { url })
}
