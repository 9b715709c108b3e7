//! The kinds of source: the [`Poller`] each implements, [`SourcePoller`] dispatching over
//! them, and the HTTP clients they share.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use super::{
    AlertmanagerPoller, HttpPoller, KasmPoller, LocalPoller, OpenBaoPoller, PostgresPoller,
    PrometheusPoller, ProxmoxPoller, ReleasePoller, SourceError, fetch,
};
use crate::config::{SourceConfig, SourceSpec};
use crate::model::Observation;

/// One kind of source: something that can be asked, again and again, what it sees now.
///
/// Implementors keep whatever they need between polls (an HTTP client, the previous CPU
/// counters, when an alert started firing) in `self`.
pub trait Poller {
    fn poll(&mut self) -> impl Future<Output = Result<Observation, SourceError>> + Send;

    /// What a poll that got no answer (`error`, the supervisor's timeout included) still says:
    /// the rows that replace the source's, or `None` to keep those of its last answer, which
    /// then turn stale.
    ///
    /// A kind whose one host is the endpoint it asks (`http`, an OpenBao node) shows that host
    /// down with the reason, so an endpoint that hangs or refuses is as visible as one that
    /// answers 500. A kind whose rows come from the endpoint (a database's named queries, a
    /// deploy state's environments) does so only until its first answer: afterwards its last
    /// rows, kept and going stale, say more than a lone down row would.
    fn unanswered(&mut self, _error: &SourceError, _now: DateTime<Utc>) -> Option<Observation> {
        None
    }
}

/// What the pollers started together (by [`spawn`](super::spawn) or [`poll_once_all`](super::poll_once_all)) share.
///
/// `http` and `release` sources share one HTTP client, so sources on the same host and port
/// (several health paths of one API) share one pool of keep-alive connections instead of each
/// holding idle sockets of its own, and the system's CA certificates are read once rather than
/// for each of a thousand checks (a few milliseconds a client; see the `http_round`
/// benchmark). The kinds that need a client of their own (self-signed lab hosts) keep building
/// one with [`fetch::client`]. Built by the first poller that asks, on a poller's task, never
/// on the way to the first frame. Not process-wide on purpose: a client's pooled connections
/// belong to the tokio runtime that opened them.
#[derive(Debug, Clone, Default)]
pub struct SharedClients {
    /// The client, or why it could not be built: each source that needs it reports so.
    http: Arc<OnceLock<Result<reqwest::Client, String>>>,
    /// The same for sources whose requests carry credentials, which follows no redirect.
    credentialed: Arc<OnceLock<Result<reqwest::Client, String>>>,
    /// Set once each client above has been built on the blocking pool (see [`Self::prepare`]).
    http_built: Arc<tokio::sync::OnceCell<()>>,
    credentialed_built: Arc<tokio::sync::OnceCell<()>>,
}

impl SharedClients {
    pub fn new() -> SharedClients {
        SharedClients::default()
    }

    /// The client for a source, by whether its requests carry credentials.
    fn http(&self, spec: &SourceSpec) -> Result<reqwest::Client, SourceError> {
        let redirects = fetch::Redirects::for_credentials(spec.sends_credentials());
        let client = match redirects {
            fetch::Redirects::Never => &self.credentialed,
            fetch::Redirects::SameOrigin => &self.http,
        };
        client
            .get_or_init(|| fetch::shared_client(redirects).map_err(|e| e.to_string()))
            .clone()
            .map_err(SourceError::Setup)
    }

    /// Whether `source`'s poller takes one of these clients (see [`SourcePoller::new`]) rather
    /// than building a client of its own.
    pub(super) fn is_shared_by(source: &SourceConfig) -> bool {
        matches!(source.spec, SourceSpec::Http(_) | SourceSpec::Release(_))
    }

    /// Builds, once and on the blocking pool, the client that `spec` takes, so that its poller
    /// is then built in microseconds and no async worker waits on the CA certificates. The
    /// pollers of a thousand sources wait here for that one build, rather than each waiting
    /// for it on a blocking-pool thread of its own, which made tokio start hundreds of threads
    /// (most of a 1,000-endpoint snapshot's CPU; see the `snapshot_vs_curl` benchmark). A
    /// failure is kept, and reported by each source that needs that client.
    pub(super) async fn prepare(&self, spec: &SourceSpec) {
        let built = if spec.sends_credentials() {
            &self.credentialed_built
        } else {
            &self.http_built
        };
        built
            .get_or_init(|| {
                let (shared, spec) = (self.clone(), spec.clone());
                async move {
                    let _ = tokio::task::spawn_blocking(move || {
                        let _ = shared.http(&spec);
                    })
                    .await;
                }
            })
            .await;
    }
}

/// The poller of each configured kind.
// One value per source, built once and kept by its task: a few hundred bytes of difference
// between kinds is not worth a box per poller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SourcePoller {
    Local(LocalPoller),
    Prometheus(PrometheusPoller),
    Alertmanager(AlertmanagerPoller),
    OpenBao(OpenBaoPoller),
    Postgres(PostgresPoller),
    Proxmox(ProxmoxPoller),
    Kasm(KasmPoller),
    Http(HttpPoller),
    Release(ReleasePoller),
}

impl SourcePoller {
    /// Builds the poller for `source`. Fallible because some kinds need set-up (a TLS client,
    /// a parsed URL) that can fail; such a failure is reported like a failed poll.
    pub fn new(source: &SourceConfig, shared: &SharedClients) -> Result<SourcePoller, SourceError> {
        Ok(match &source.spec {
            SourceSpec::Local(limits) => {
                SourcePoller::Local(LocalPoller::new(&source.name, limits.clone()))
            }
            SourceSpec::Prometheus(spec) => {
                SourcePoller::Prometheus(PrometheusPoller::new(&source.name, spec, source.timeout)?)
            }
            SourceSpec::Alertmanager(spec) => SourcePoller::Alertmanager(AlertmanagerPoller::new(
                &source.name,
                spec,
                source.timeout,
            )?),
            SourceSpec::OpenBao(spec) => {
                SourcePoller::OpenBao(OpenBaoPoller::new(&source.name, spec, source.timeout)?)
            }
            SourceSpec::Postgres(spec) => SourcePoller::Postgres(PostgresPoller::new(
                &source.name,
                spec.clone(),
                source.every,
                source.timeout,
            )),
            SourceSpec::Proxmox(spec) => SourcePoller::Proxmox(ProxmoxPoller::new(
                &source.name,
                spec.clone(),
                source.timeout,
            )?),
            SourceSpec::Kasm(spec) => {
                SourcePoller::Kasm(KasmPoller::new(&source.name, spec.clone(), source.timeout)?)
            }
            SourceSpec::Http(spec) => SourcePoller::Http(HttpPoller::new(
                &source.name,
                spec.clone(),
                shared.http(&source.spec)?,
            )),
            SourceSpec::Release(spec) => SourcePoller::Release(ReleasePoller::new(
                &source.name,
                spec.clone(),
                source.timeout,
                shared.http(&source.spec)?,
            )),
        })
    }
}

impl Poller for SourcePoller {
    /// Each kind's poll runs boxed: the task of a source holds this future for as long as the
    /// source lives, and unboxed it would be as large as the largest kind's (6.6 KB, a source's
    /// task 9 KB: 9 MB for a thousand `http` checks). Boxed, a poll's state is allocated as it
    /// starts and freed as it ends, at the size of its own kind.
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        match self {
            SourcePoller::Local(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Prometheus(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Alertmanager(poller) => Box::pin(poller.poll()).await,
            SourcePoller::OpenBao(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Postgres(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Proxmox(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Kasm(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Http(poller) => Box::pin(poller.poll()).await,
            SourcePoller::Release(poller) => Box::pin(poller.poll()).await,
        }
    }

    fn unanswered(&mut self, error: &SourceError, now: DateTime<Utc>) -> Option<Observation> {
        match self {
            SourcePoller::Local(poller) => poller.unanswered(error, now),
            SourcePoller::Prometheus(poller) => poller.unanswered(error, now),
            SourcePoller::Alertmanager(poller) => poller.unanswered(error, now),
            SourcePoller::OpenBao(poller) => poller.unanswered(error, now),
            SourcePoller::Postgres(poller) => poller.unanswered(error, now),
            SourcePoller::Proxmox(poller) => poller.unanswered(error, now),
            SourcePoller::Kasm(poller) => poller.unanswered(error, now),
            SourcePoller::Http(poller) => poller.unanswered(error, now),
            SourcePoller::Release(poller) => poller.unanswered(error, now),
        }
    }
}
