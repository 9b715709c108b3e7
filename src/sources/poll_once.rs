//! `ondeck snapshot`: every source polled once, concurrently, bounded like the supervisor.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::SharedClients;
use super::alerting::FirstSeen;
use super::supervisor::{MAX_CONCURRENT_POLLS, TimedPoll, build_poller, timed_poll};
use crate::config::SourceConfig;
use crate::model::Observation;

/// One source's answer to `ondeck snapshot`.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub source: String,
    pub kind: &'static str,
    pub every: Duration,
    pub at: DateTime<Utc>,
    pub latency_ms: u64,
    pub result: Result<Observation, String>,
    /// With a failed poll: what it still says (see [`Poller::unanswered`](super::Poller::unanswered)).
    pub unanswered: Option<Observation>,
}

/// Polls every source once, concurrently (bounded like the supervisor), each within its own
/// timeout, and returns the reports in configuration order.
pub async fn poll_once_all(sources: &[SourceConfig]) -> Vec<PollReport> {
    // Pollers are built on their own tasks; those taking a shared client wait for its one
    // build (see `build_poller`).
    let shared = SharedClients::new();
    // Each poll is a task of its own, as under the supervisor, so polls use every core rather
    // than all running on the caller's thread (a thousand HTTP checks finish a round in about
    // two thirds of the time), and a poller that panics fails its own report only. Unordered
    // so a slow source early in the list does not hold finished polls' slots (as `buffered`
    // would) and stall the rest; the order is restored afterwards.
    let mut reports: Vec<(usize, PollReport)> =
        futures_util::stream::iter(sources.iter().cloned().enumerate())
            .map(|(index, source)| {
                let shared = shared.clone();
                async move {
                    let (name, kind, every) = (source.name.clone(), source.kind(), source.every);
                    let polled = tokio::spawn(async move {
                        let timeout = source.timeout;
                        let name = source.name.clone();
                        // A panic here fails this task, which is this source's error below.
                        match build_poller(source, shared).await {
                            Ok(mut poller) => {
                                let mut down_hosts = FirstSeen::default();
                                timed_poll(&mut poller, &name, timeout, &mut down_hosts).await
                            }
                            Err(setup) => TimedPoll::failed(setup.to_string()),
                        }
                    })
                    .await
                    .unwrap_or_else(|crash| TimedPoll::failed(format!("poller crashed: {crash}")));
                    let report = PollReport {
                        source: name,
                        kind,
                        every,
                        at: polled.at,
                        latency_ms: polled.latency_ms,
                        result: polled.result,
                        unanswered: polled.unanswered,
                    };
                    (index, report)
                }
            })
            .buffer_unordered(MAX_CONCURRENT_POLLS)
            .collect()
            .await;
    reports.sort_unstable_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, report)| report).collect()
}
