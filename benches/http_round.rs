//! One polling round over 1,000 HTTP health endpoints on loopback, each answering
//! `{"status":"ok"}` after 50 ms — the runbooks' sequential curl loop takes about 50 s for the
//! same. Target: the whole round in under 300 ms wall.
//!
//! The endpoints are 1,000 listeners on 1,000 ports, served by a child process (see
//! `support/endpoints.rs`), so the CPU time and peak memory reported are the poller's alone.
//! Each round is `sources::poll_once_all`, exactly what `ondeck snapshot` does: pollers built,
//! 1,000 fresh connections, verdicts judged. `snapshot_vs_curl` measures the whole `ondeck
//! snapshot` process instead.
//!
//! Run with `cargo bench --bench http_round`. Not a divan benchmark: divan repeats a closure
//! and reports its time, while this needs a server process, a check that every poll
//! succeeded, and CPU time and peak RSS beside the wall time.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/endpoints.rs"]
mod endpoints;

use std::time::{Duration, Instant};

use endpoints::{ANSWER_DELAY, ENDPOINTS, Endpoints};
use ondeck::config::{HttpSource, SourceConfig, SourceSpec};
use ondeck::model::HostStatus;
use ondeck::sources::{fetch, poll_once_all};
use serde_json::json;

// The round is what `ondeck snapshot` does, so it runs on the allocator the binary uses
// (`ondeck::allocator`).
ondeck::global_allocator!();

const ROUNDS: usize = 10;
/// Sequential requests timed to extrapolate the one-by-one loop without waiting 50 s.
const SEQUENTIAL_SAMPLE: usize = 20;

fn main() {
    if endpoints::serve_if_asked() {
        return;
    }
    let endpoints = Endpoints::start();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(measure(&endpoints.ports));
}

fn sources(ports: &[u16]) -> Vec<SourceConfig> {
    let expect_json = json!({"status": "ok"}).as_object().cloned();
    ports
        .iter()
        .map(|port| SourceConfig {
            name: format!("endpoint-{port}"),
            every: Duration::from_secs(10),
            timeout: Duration::from_secs(3),
            spec: SourceSpec::Http(HttpSource {
                url: format!("http://127.0.0.1:{port}/health"),
                expect_status: 200,
                expect_json: expect_json.clone(),
                tls_warn_days: 14,
                latency_warn: None,
                headers: Default::default(),
            }),
        })
        .collect()
}

async fn measure(ports: &[u16]) {
    let sources = sources(ports);
    println!(
        "http_round: {ENDPOINTS} endpoints answering after {} ms, {ROUNDS} rounds after one warm-up",
        ANSWER_DELAY.as_millis()
    );

    let mut walls = Vec::with_capacity(ROUNDS);
    let mut cpus = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let (wall_start, cpu_start) = (Instant::now(), cpu_time());
        let reports = poll_once_all(&sources).await;
        let (wall, cpu) = (wall_start.elapsed(), cpu_time() - cpu_start);
        // A round that failed somewhere measured something else.
        for report in &reports {
            let observation = report
                .result
                .as_ref()
                .unwrap_or_else(|error| panic!("{}: {error}", report.source));
            assert_eq!(observation.hosts[0].status, HostStatus::Up);
        }
        if round > 0 {
            walls.push(wall);
            cpus.push(cpu);
        }
    }
    walls.sort();
    cpus.sort();
    println!(
        "round wall:  median {}  min {}  max {}",
        ms(walls[ROUNDS / 2]),
        ms(walls[0]),
        ms(walls[ROUNDS - 1])
    );
    println!(
        "round CPU:   median {}  (user + system, this process)",
        ms(cpus[ROUNDS / 2])
    );
    println!("peak RSS:    {}", peak_rss());

    let sequential = sequential_sample(ports).await;
    println!(
        "sequential:  {SEQUENTIAL_SAMPLE} requests one after another took {}, so {ENDPOINTS} would take about {:.1} s",
        ms(sequential),
        sequential.as_secs_f64() * (ENDPOINTS / SEQUENTIAL_SAMPLE) as f64
    );

    let started = Instant::now();
    for _ in 0..ENDPOINTS {
        fetch::client(
            Duration::from_secs(3),
            &Default::default(),
            fetch::Redirects::SameOrigin,
        )
        .expect("a client");
    }
    println!(
        "clients:     building one HTTP client per source would cost {} per round; the shared one is built once",
        ms(started.elapsed())
    );
}

/// The runbooks' loop: one request at a time, each on a new connection like a new curl.
async fn sequential_sample(ports: &[u16]) -> Duration {
    let started = Instant::now();
    for port in &ports[..SEQUENTIAL_SAMPLE] {
        let client = fetch::client(
            Duration::from_secs(3),
            &Default::default(),
            fetch::Redirects::SameOrigin,
        )
        .expect("a client");
        let url = format!("http://127.0.0.1:{port}/health");
        fetch::get(&client, &url, &Default::default())
            .await
            .expect("an answer");
    }
    started.elapsed()
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// User plus system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// `VmHWM`, the high-water mark of resident memory, from /proc.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .map(|value| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_owned())
}
