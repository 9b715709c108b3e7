//! `[[source]]`: what every source has (name, kind, `every`, `timeout`), and one file per
//! kind with its spec and the reader that builds it.

mod alertmanager;
mod http;
mod kasm;
mod local;
mod openbao;
mod postgres;
mod prometheus;
mod proxmox;
mod release;

use std::collections::BTreeMap;
use std::time::Duration;

use super::diagnostics::{DurationLimits, Problems, Table};
use super::secret::mask_url;
use super::transport::DANGEROUS_PLAIN_HTTP_KEY;
use super::values::{DAY, LONGER_THAN_ZERO, limits, read_kind, read_name};
use crate::store::{OPERATOR_SESSIONS_SOURCE, STORE_SOURCE};

pub use alertmanager::AlertmanagerSource;
pub use http::HttpSource;
pub use kasm::KasmSource;
pub use local::LocalSource;
pub use openbao::{OpenBaoNode, OpenBaoSource};
pub use postgres::{PgQuery, PostgresSource, QueryTarget};
pub use prometheus::PrometheusSource;
pub use proxmox::ProxmoxSource;
pub use release::{ReleaseFrom, ReleaseSource};

/// Every source kind; the configuration names them in lower case (`vault` is OpenBao under
/// its older name).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[strum(serialize_all = "lowercase")]
pub enum SourceKind {
    Local,
    Http,
    Prometheus,
    Alertmanager,
    #[strum(serialize = "openbao")]
    OpenBao,
    Vault,
    Postgres,
    Proxmox,
    Kasm,
    Release,
}

const DEFAULT_EVERY: Duration = Duration::from_secs(10);
const LOCAL_EVERY: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The names under which the console shows rows of its own (the store's jobs and audit, the
/// open operator consoles). Each store refresh replaces every row of these sources, so a
/// configured source so named would lose its rows every few seconds.
const RESERVED_SOURCE_NAMES: [&str; 2] = [STORE_SOURCE, OPERATOR_SESSIONS_SOURCE];

const EVERY: DurationLimits = limits(
    MIN_EVERY,
    DAY,
    "ondeck polls a source at most once a second",
);
const SOURCE_TIMEOUT: DurationLimits = limits(
    Duration::from_millis(1),
    Duration::from_secs(600),
    LONGER_THAN_ZERO,
);

/// The shortest `every`: polling faster only loads the systems being watched.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub name: String,
    pub every: Duration,
    pub timeout: Duration,
    pub spec: SourceSpec,
}

impl SourceConfig {
    /// The configured `kind`, as written in the file (`vault` reads as `openbao`).
    pub fn kind(&self) -> &'static str {
        match self.spec {
            SourceSpec::Local(_) => "local",
            SourceSpec::Http(_) => "http",
            SourceSpec::Prometheus(_) => "prometheus",
            SourceSpec::Alertmanager(_) => "alertmanager",
            SourceSpec::OpenBao(_) => "openbao",
            SourceSpec::Postgres(_) => "postgres",
            SourceSpec::Proxmox(_) => "proxmox",
            SourceSpec::Kasm(_) => "kasm",
            SourceSpec::Release(_) => "release",
        }
    }

    /// Whether this source can raise alerts: a deploy-state source only reports releases, so
    /// its health says nothing about whether the Alerts pane is complete.
    pub fn raises_alerts(&self) -> bool {
        !matches!(self.spec, SourceSpec::Release(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Local(LocalSource),
    Http(HttpSource),
    Prometheus(PrometheusSource),
    Alertmanager(AlertmanagerSource),
    OpenBao(OpenBaoSource),
    Postgres(PostgresSource),
    Proxmox(ProxmoxSource),
    Kasm(KasmSource),
    Release(ReleaseSource),
}

pub(super) fn read_source(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
) -> Option<SourceConfig> {
    let name = read_name(table, problems, names, "source", &RESERVED_SOURCE_NAMES);
    let kind: SourceKind = read_kind(table, problems, "source")?;
    let default_every = if kind == SourceKind::Local {
        LOCAL_EVERY
    } else {
        DEFAULT_EVERY
    };
    let every = table
        .duration(problems, "every", EVERY)
        .unwrap_or(default_every);
    let timeout = table
        .duration(problems, "timeout", SOURCE_TIMEOUT)
        .unwrap_or(DEFAULT_TIMEOUT);
    let spec = match kind {
        SourceKind::Local => Some(SourceSpec::Local(local::read_local(table, problems))),
        SourceKind::Http => http::read_http(table, problems).map(SourceSpec::Http),
        SourceKind::Prometheus => {
            prometheus::read_prometheus(table, problems).map(SourceSpec::Prometheus)
        }
        SourceKind::Alertmanager => {
            alertmanager::read_alertmanager(table, problems).map(SourceSpec::Alertmanager)
        }
        SourceKind::OpenBao | SourceKind::Vault => {
            openbao::read_openbao(table, problems).map(SourceSpec::OpenBao)
        }
        SourceKind::Postgres => postgres::read_postgres(table, problems).map(SourceSpec::Postgres),
        SourceKind::Proxmox => proxmox::read_proxmox(table, problems).map(SourceSpec::Proxmox),
        SourceKind::Kasm => kasm::read_kasm(table, problems).map(SourceSpec::Kasm),
        SourceKind::Release => release::read_release(table, problems).map(SourceSpec::Release),
    };
    let dangerous_plain_http = table
        .bool(problems, DANGEROUS_PLAIN_HTTP_KEY)
        .unwrap_or(false);
    if let Some(spec) = &spec
        && !dangerous_plain_http
    {
        refuse_plain_http_credentials(table, problems, spec);
    }
    table.finish(problems, &format!("a `{kind}` source"));
    Some(SourceConfig {
        name: name?,
        every,
        timeout,
        spec: spec?,
    })
}

/// Credentials (headers, an API key, a token, a user in the URL) go over plain `http://` only
/// to this machine: on a network anyone on the path reads them.
fn refuse_plain_http_credentials(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    spec: &SourceSpec,
) {
    let plain = spec.plain_http_credentials();
    if plain.is_empty() {
        return;
    }
    let key = if table.has("urls") { "urls" } else { "url" };
    let span = table.value(key).map_or_else(|| table.span(), |v| v.span());
    let shown: Vec<String> = plain
        .iter()
        .map(|url| format!("`{}`", mask_url(url)))
        .collect();
    problems.report(
        span,
        &table.key_path(key),
        format!(
            "this source sends credentials, and {} is plain http:// to another machine, where anyone on the way can read them: use https://. Only if the network is trusted, set {DANGEROUS_PLAIN_HTTP_KEY} = true.",
            shown.join(", ")
        ),
    );
}
