//! Weeks of uptime in a few minutes: 1,000 HTTP sources on loopback polled by the console's own
//! pollers (one task each, every second) until 100,000 polls have been applied to the console's
//! state, with a quarter of the sources failing at any time (a different quarter every few
//! seconds, so each keeps failing and recovering) and two configuration reloads that stop,
//! start and change a hundred sources each. Memory (RSS, and what jemalloc holds), live tasks
//! and open file descriptors are sampled every round; the report compares their level at rest
//! before the first reload with their level at the end, where RSS should have grown by under 5 %
//! and the counts not at all.
//!
//! Run with `cargo bench --bench soak` (about two minutes; `ONDECK_SOAK_POLLS` sets the number
//! of polls, `ONDECK_SOAK_RELOADS` the number of reloads). The endpoints are served by a child
//! process (this benchmark started again with `ONDECK_SOAK_SERVE` set), so what is measured is
//! the console's side alone. A failing source
//! answers bytes that are not HTTP, so its poll fails and it backs off, as one whose server
//! broke would. Not a divan benchmark: it measures drift over one long run, not the time of a
//! repeated closure.

#![allow(clippy::unwrap_used, reason = "a benchmark fails by panicking")]

#[path = "../tests/support/fake_http.rs"]
mod fake_http;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_http::{FakeServer, Reply};
use ondeck::config::{HttpSource, SourceConfig, SourceSpec};
use ondeck::model::SourceRow;
use ondeck::msg::Msg;
use ondeck::sources::Pollers;
use ondeck::state::{AppState, Mode};
use ondeck::update::{finish_batch, update};
use tokio::sync::{mpsc, watch};

ondeck::global_allocator!();

const SOURCES: usize = 1000;
/// A source is failing in one of this many outage windows.
const OUTAGE_CYCLE: u64 = 4;
const OUTAGE_WINDOW: Duration = Duration::from_secs(3);
/// The polls up to this count are the warm-up: connection pools and buffers filling, and the
/// allocator handing back the pages the start freed. The level at the start is measured on the
/// samples that end here (30 s in, just before the first reload); the level at the end on the
/// last ones, as long after the last reload. Both are at rest; a reload's passing step shows in
/// the maximum.
const WARM_UP: usize = 30_000;
/// About one round of polls.
const SAMPLE_EVERY: usize = 1_000;
const PRINT_EVERY: usize = 5_000;
/// A level is the median of this many samples, a round apart: a single sample lands anywhere
/// in the allocator's one-second decay of a round's garbage, which moves it by up to half a MiB
/// (more than 2 % of the whole), and so did the start and end that were single samples.
const LEVEL_SAMPLES: usize = 10;
const SERVE_ENV: &str = "ONDECK_SOAK_SERVE";

fn main() {
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("could not raise the open files limit: {error}");
    }
    if std::env::var_os(SERVE_ENV).is_some() {
        return serve();
    }
    // `cargo bench` passes --bench; under `cargo test` a short run shows that it still works.
    let measuring = std::env::args().any(|a| a == "--bench");
    let polls: usize = std::env::var("ONDECK_SOAK_POLLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if measuring { 100_000 } else { 2_000 });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(soak(polls));
}

/// The child process: serves `/h/<i>/health` on a free loopback port (printed on stdout) until
/// stdin closes; source `i` is broken in one outage window of [`OUTAGE_CYCLE`].
fn serve() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let server = FakeServer::start(move |request| {
            let index: u64 = request
                .route()
                .split('/')
                .nth(2)
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            let window = started.elapsed().as_secs() / OUTAGE_WINDOW.as_secs();
            if (index + window).is_multiple_of(OUTAGE_CYCLE) {
                Reply::raw(&b"this is not HTTP\r\n\r\n"[..])
            } else {
                Reply::json(200, r#"{"status":"ok"}"#)
            }
        })
        .await;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", server.addr.port()).unwrap();
        stdout.flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .unwrap();
    });
}

/// The sources of configuration `generation`: the same thousand endpoints, but each reload
/// renames a hundred (stopped and started) and changes the timeout of fifty (restarted).
fn sources(port: u16, generation: usize) -> Vec<SourceConfig> {
    (0..SOURCES)
        .map(|i| {
            let renamed = generation > 0 && i % 10 == generation;
            let changed = generation > 0 && i % 20 == 0;
            SourceConfig {
                name: if renamed {
                    format!("g{generation}-{i}")
                } else {
                    format!("h{i}")
                },
                every: Duration::from_secs(1),
                timeout: Duration::from_secs(if changed { 3 } else { 2 }),
                spec: SourceSpec::Http(HttpSource {
                    url: format!("http://127.0.0.1:{port}/h/{i}/health"),
                    expect_status: 200,
                    expect_json: None,
                    tls_warn_days: 14,
                    latency_warn: None,
                    headers: Default::default(),
                }),
            }
        })
        .collect()
}

async fn soak(polls: usize) {
    let mut server = Command::new(std::env::current_exe().unwrap())
        .env(SERVE_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the endpoint server");
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port.trim().parse().expect("the server's port");

    let mut state = AppState::new("soak".into(), "none".into(), Mode::default(), Utc::now());
    // The console reads its configuration as it starts, and so runs that code before the
    // first reload does.
    let mut first = ondeck::config::load(None).unwrap();
    first.sources = sources(port, 0);
    state.sources = first
        .sources
        .iter()
        .map(|s| SourceRow::pending(&s.name, s.kind(), s.every))
        .collect();
    let (tx, mut rx) = mpsc::channel(1024);
    let (stop, shutdown) = watch::channel(false);
    let mut pollers = Pollers::start(first.sources, tx, shutdown);

    let reload_count: usize = std::env::var("ONDECK_SOAK_RELOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    println!(
        "soak: {SOURCES} http sources every 1 s, {polls} polls, a quarter failing, \
         {reload_count} reloads"
    );
    println!(
        "{:>8} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>7} {:>5}",
        "polls",
        "secs",
        "rss",
        "anon",
        "file",
        "peak",
        "heap",
        "allocator",
        "tasks",
        "threads",
        "fds"
    );
    let started = Instant::now();
    let mut record = Record::default();
    let (mut applied, mut failed, mut reloads) = (0, 0, 0);
    while applied < polls {
        let msg = rx.recv().await.expect("the pollers run");
        if let Msg::SourcePolled { result, .. } = &msg {
            applied += 1;
            failed += usize::from(result.is_err());
        }
        update(&mut state, msg);
        if applied % 100 == 0 {
            finish_batch(&mut state);
        }
        if reloads < reload_count && applied >= polls * (reloads + 1) / (reload_count + 1) {
            reloads += 1;
            // Back and forth between two generations after the first two: what a reload
            // leaves behind adds up, what it only needs while running does not.
            let config = sources(port, 1 + (reloads - 1) % 2);
            let restarted = pollers.reconcile(config.clone());
            let mut reloaded = ondeck::config::load(None).unwrap();
            reloaded.sources = config;
            update(
                &mut state,
                Msg::Reconfigured {
                    config: Box::new(reloaded),
                    restarted,
                },
            );
            println!(
                "reload {reloads}: {}",
                state.notice.as_deref().unwrap_or_default()
            );
        }
        if applied % SAMPLE_EVERY == 0 {
            let sample = Sample::now(applied, started.elapsed());
            if applied % PRINT_EVERY == 0 {
                println!(
                    "{applied:>8} {:>8.1} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>7} {:>5}",
                    sample.elapsed.as_secs_f64(),
                    mib(sample.rss),
                    mib(sample.anon),
                    mib(sample.file),
                    mib(sample.peak),
                    mib(sample.heap),
                    mib(sample.allocator),
                    sample.tasks,
                    sample.threads,
                    sample.fds
                );
            }
            record.take(sample);
        }
    }
    let _ = stop.send(true);
    pollers.abort_all();
    drop(server.stdin.take());
    let _ = server.wait();

    if !record.is_complete() {
        println!(
            "too few polls to compare: raise ONDECK_SOAK_POLLS to {} or more",
            WARM_UP + LEVEL_SAMPLES * SAMPLE_EVERY
        );
        return;
    }
    println!(
        "{applied} polls ({failed} failed) in {:.0} s; after the warm-up, each level the median \
         of {LEVEL_SAMPLES} samples a round apart:",
        started.elapsed().as_secs_f64()
    );
    let growth = |from: u64, to: u64| (to as f64 - from as f64) / from.max(1) as f64 * 100.0;
    for ((what, unit, of), highest) in FIELDS.into_iter().zip(record.highest) {
        let (from, to) = (level(&record.start, of), level(&record.latest, of));
        match unit {
            Unit::Bytes => println!(
                "  {what:<9}  start {}  end {}  max {}  growth {:+.1} %",
                mib(from),
                mib(to),
                mib(highest),
                growth(from, to)
            ),
            Unit::Count => println!("  {what:<9}  start {from}  end {to}  max {highest}"),
        }
    }
    println!(
        "  source tasks alive at the end: {} of {SOURCES}",
        pollers.alive()
    );
}

/// The median of `field` over `samples`.
fn level<'a>(samples: impl IntoIterator<Item = &'a Sample>, field: Field) -> u64 {
    let mut values: Vec<u64> = samples.into_iter().map(field).collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

enum Unit {
    Bytes,
    Count,
}

/// What the report compares, start against end.
const FIELDS: [(&str, Unit, Field); 7] = [
    ("RSS", Unit::Bytes, |s| s.rss),
    ("anon", Unit::Bytes, |s| s.anon),
    ("file", Unit::Bytes, |s| s.file),
    ("heap", Unit::Bytes, |s| s.heap),
    ("allocator", Unit::Bytes, |s| s.allocator),
    ("tasks", Unit::Count, |s| s.tasks),
    ("fds", Unit::Count, |s| s.fds),
];

/// What the soak keeps of its samples, in the same space however long it runs (a list of every
/// sample would be growth of its own in a long run): those of the start level, the latest ones,
/// and the highest value of each field since the first of the start level's.
#[derive(Default)]
struct Record {
    start: Vec<Sample>,
    latest: std::collections::VecDeque<Sample>,
    highest: [u64; FIELDS.len()],
}

impl Record {
    fn take(&mut self, sample: Sample) {
        if sample.applied + LEVEL_SAMPLES * SAMPLE_EVERY <= WARM_UP {
            return;
        }
        for ((_, _, of), highest) in FIELDS.iter().zip(&mut self.highest) {
            *highest = (*highest).max(of(&sample));
        }
        if sample.applied <= WARM_UP {
            self.start.push(sample);
            return;
        }
        if self.latest.len() == LEVEL_SAMPLES {
            self.latest.pop_front();
        }
        self.latest.push_back(sample);
    }

    fn is_complete(&self) -> bool {
        self.start.len() == LEVEL_SAMPLES && self.latest.len() == LEVEL_SAMPLES
    }
}

/// One of a [`Sample`]'s numbers, read off it.
type Field = fn(&Sample) -> u64;

struct Sample {
    /// Polls applied when it was taken.
    applied: usize,
    elapsed: Duration,
    rss: u64,
    /// The part of `rss` that is memory the process allocated (heap, stacks)…
    anon: u64,
    /// …and the part that is pages of files it mapped: the binary's code, read in as each path
    /// of it first runs (a reload runs some for the first time).
    file: u64,
    peak: u64,
    /// Bytes allocated and not yet freed (in jemalloc's size classes): this grows with a leak…
    heap: u64,
    /// …and this, the pages jemalloc holds in memory (its own bookkeeping included), with
    /// garbage not yet handed back or pages that live allocations keep half empty.
    allocator: u64,
    /// Tasks alive in the runtime: the pollers and the HTTP client's connections.
    tasks: u64,
    /// Threads of the process: the runtime's workers and its blocking pool.
    threads: u64,
    fds: u64,
}

impl Sample {
    fn now(applied: usize, elapsed: Duration) -> Sample {
        // jemalloc's statistics are as of the last epoch.
        let jemalloc = tikv_jemalloc_ctl::epoch::advance()
            .and_then(|_| {
                Ok((
                    tikv_jemalloc_ctl::stats::allocated::read()?,
                    tikv_jemalloc_ctl::stats::resident::read()?,
                ))
            })
            .unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let kib = |key: &str| field(key) * 1024;
        Sample {
            applied,
            elapsed,
            rss: kib("VmRSS:"),
            anon: kib("RssAnon:"),
            file: kib("RssFile:"),
            peak: kib("VmHWM:"),
            heap: jemalloc.0 as u64,
            allocator: jemalloc.1 as u64,
            tasks: tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks() as u64,
            threads: field("Threads:"),
            fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
