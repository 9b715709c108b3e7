//! A console's many HTTP sources share one client, and their pollers wait for its one build
//! rather than each waiting for it on a blocking-pool thread of its own: with a thousand
//! sources that made tokio start hundreds of threads, most of the CPU of a round.
//!
//! Alone in its test binary, so that the process's thread count is this test's.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::BTreeMap;
use std::time::Duration;

use fake_http::{FakeServer, Reply};
use ondeck::config::{HttpSource, SourceConfig, SourceSpec};
use ondeck::msg::Msg;
use ondeck::sources;
use tokio::sync::{mpsc, watch};

const SOURCES: usize = 300;

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_http_sources_start_few_threads() {
    let server = FakeServer::start(|_| Reply::json(200, r#"{"status":"ok"}"#)).await;
    let configs: Vec<SourceConfig> = (0..SOURCES)
        .map(|i| SourceConfig {
            name: format!("api-{i}"),
            every: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            spec: SourceSpec::Http(HttpSource {
                url: server.url(&format!("/health/{i}")),
                expect_status: 200,
                expect_json: None,
                tls_warn_days: 14,
                latency_warn: None,
                headers: BTreeMap::new(),
            }),
        })
        .collect();
    let (tx, mut rx) = mpsc::channel(SOURCES);
    let (stop, shutdown) = watch::channel(false);
    let pollers = sources::Pollers::start(configs, tx, shutdown);
    let mut answered = 0;
    let mut most_threads = threads();
    while answered < SOURCES {
        let msg = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("every source answers within a minute")
            .unwrap();
        most_threads = most_threads.max(threads());
        if let Msg::SourcePolled { result, .. } = msg {
            assert!(result.is_ok(), "{result:?}");
            answered += 1;
        }
    }
    stop.send(true).unwrap();
    pollers.abort_all();
    // Two workers, the test's own threads, and a few blocking threads for the client's one
    // build: far below one thread per source.
    assert!(
        most_threads < 40,
        "{most_threads} threads for {SOURCES} sources"
    );
}
