//! One task per source: poll within the timeout, report, sleep until the next slot, back off
//! while failing, stop on shutdown.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::alerting::{self, FirstSeen};
use super::steady_latency::SteadyLatency;
use super::{Poller, SharedClients, SourceError, SourcePoller};
use crate::config::SourceConfig;
use crate::model::Observation;
use crate::msg::Msg;

/// How many polls may run at the same time across all sources.
///
/// Most polls spend their time waiting on the network, so the bound is about file
/// descriptors, not CPU: each poll in flight holds about one socket. 512 lets a thousand health
/// checks answering in 50 ms finish a round in two waves (about 100 ms; 64 would take 16 waves,
/// 800 ms). Idle pooled connections are not bounded by it (one per endpoint between polls), which
/// is why `main` raises the open-files limit from the usual soft 1,024 to the hard limit.
pub const MAX_CONCURRENT_POLLS: usize = 512;

/// A failing source is never retried less often than this (unless its own `every` is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// …and never backs off beyond this multiple of its `every`.
const MAX_BACKOFF_FACTOR: u32 = 8;

/// The shortest wait between two polls of a source, whatever `every` says (`check` refuses a
/// shorter one; a source built without the config must not spin either).
const MIN_INTERVAL: Duration = crate::config::MIN_EVERY;

/// The running pollers, one task per source, each reporting through `tx` until `shutdown` turns
/// `true` (or its sender is dropped) or `tx` is closed. A reload replaces only the sources whose
/// configuration changed: the others keep their task, schedule, connections and data.
pub struct Pollers {
    running: Vec<(SourceConfig, JoinHandle<()>)>,
    shared: SharedClients,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<Msg>,
    shutdown: watch::Receiver<bool>,
}

impl Pollers {
    /// Starts a task per source and returns at once.
    pub fn start(
        sources: Vec<SourceConfig>,
        tx: mpsc::Sender<Msg>,
        shutdown: watch::Receiver<bool>,
    ) -> Pollers {
        let mut pollers = Pollers {
            running: Vec::new(),
            shared: SharedClients::new(),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_POLLS)),
            tx,
            shutdown,
        };
        pollers.reconcile(sources);
        pollers
    }

    /// Runs `sources` from now on: stops the tasks of sources gone or changed, starts those of
    /// sources new or changed, and leaves the unchanged ones running. Returns the names of the
    /// sources stopped or restarted, whose rows are no longer current.
    pub fn reconcile(&mut self, sources: Vec<SourceConfig>) -> Vec<String> {
        let mut stopped = Vec::new();
        let mut kept = Vec::new();
        for (config, task) in std::mem::take(&mut self.running) {
            if sources.contains(&config) {
                kept.push((config, task));
            } else {
                task.abort();
                stopped.push(config.name);
            }
        }
        self.running = kept;
        for source in sources {
            if self.running.iter().any(|(running, _)| *running == source) {
                continue;
            }
            let task = self.spawn(source.clone());
            self.running.push((source, task));
        }
        stopped
    }

    /// How many source tasks are alive: flat over a long life.
    pub fn alive(&self) -> usize {
        self.running
            .iter()
            .filter(|(_, task)| !task.is_finished())
            .count()
    }

    /// Waits for every task to end, after `shutdown` turned `true`; a task that panicked is an
    /// error.
    pub async fn join(self) -> Result<(), tokio::task::JoinError> {
        for (_, task) in self.running {
            task.await?;
        }
        Ok(())
    }

    /// Stops every task at once.
    pub fn abort_all(&self) {
        for (_, task) in &self.running {
            task.abort();
        }
    }

    fn spawn(&self, source: SourceConfig) -> JoinHandle<()> {
        tokio::spawn(source_task(
            source,
            self.shared.clone(),
            self.tx.clone(),
            self.shutdown.clone(),
            Arc::clone(&self.permits),
        ))
    }
}

/// What the task of one source runs: build its poller, then poll until shutdown. The future
/// lives as long as the source; see [`SourcePoller`]'s `poll` on keeping it small.
async fn source_task(
    source: SourceConfig,
    shared: SharedClients,
    tx: mpsc::Sender<Msg>,
    shutdown: watch::Receiver<bool>,
    permits: Arc<Semaphore>,
) {
    let schedule = Schedule {
        name: source.name.clone(),
        every: source.every,
        timeout: source.timeout,
    };
    let poller = build_poller(source, shared).await;
    run_source(schedule, poller, tx, shutdown, permits).await;
}

/// [`SourcePoller::new`] off the async workers: setting up an HTTP client reads the system's CA
/// certificates from disk (milliseconds each), which neither the first frame nor the other
/// sources' polls should wait for. A source that takes a shared client waits for that one
/// build ([`SharedClients::prepare`]) and is then built in place. A panic while building is
/// that source's error.
pub(super) async fn build_poller(
    source: SourceConfig,
    shared: SharedClients,
) -> Result<SourcePoller, SourceError> {
    let crashed = |crash: String| Err(SourceError::Setup(format!("poller crashed: {crash}")));
    if SharedClients::is_shared_by(&source) {
        shared.prepare(&source.spec).await;
        let build = std::panic::AssertUnwindSafe(|| SourcePoller::new(&source, &shared));
        return std::panic::catch_unwind(build)
            .unwrap_or_else(|crash| crashed(panic_message(crash.as_ref()).to_owned()));
    }
    tokio::task::spawn_blocking(move || SourcePoller::new(&source, &shared))
        .await
        .unwrap_or_else(|crash| crashed(crash.to_string()))
}

/// What the loop of one source needs to know besides its poller.
#[derive(Debug, Clone)]
struct Schedule {
    name: String,
    every: Duration,
    timeout: Duration,
}

/// The life of one source: poll, report, sleep, until shutdown.
///
/// Generic over the poller so the timing can be tested with fakes under paused time.
async fn run_source<P: Poller>(
    schedule: Schedule,
    mut poller: Result<P, SourceError>,
    tx: mpsc::Sender<Msg>,
    mut shutdown: watch::Receiver<bool>,
    permits: Arc<Semaphore>,
) {
    let mut consecutive_failures: u32 = 0;
    let mut down_hosts = FirstSeen::default();
    let mut latency = SteadyLatency::default();
    loop {
        let started = Instant::now();
        let mut polled = tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => return,
            polled = async {
                // Closing the semaphore is never done, so a failed acquire cannot happen; if it
                // ever did, polling without a permit is better than stopping the source.
                let _permit = permits.acquire().await.ok();
                match &mut poller {
                    Ok(poller) => {
                        timed_poll(poller, &schedule.name, schedule.timeout, &mut down_hosts).await
                    }
                    Err(setup) => TimedPoll::failed(setup.to_string()),
                }
            } => polled,
        };
        if let Some(observation) = polled.result.as_mut().ok().or(polled.unanswered.as_mut()) {
            latency.hosts(&mut observation.hosts);
        }
        polled.latency_ms = latency.source(polled.latency_ms);
        consecutive_failures = if polled.result.is_ok() {
            0
        } else {
            consecutive_failures.saturating_add(1)
        };
        let message = Msg::SourcePolled {
            source: schedule.name.clone(),
            at: polled.at,
            latency_ms: polled.latency_ms,
            result: polled.result,
            unanswered: polled.unanswered.map(Box::new),
        };
        // A full queue must not keep the task alive past shutdown.
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => return,
            sent = tx.send(message) => if sent.is_err() { return },
        }
        let delay = backoff_delay(schedule.every, consecutive_failures, fastrand::f64());
        // An interval too long to represent means "never again"; only shutdown ends the wait.
        let next_poll = match started.checked_add(delay) {
            Some(next_poll) => tokio::time::sleep_until(next_poll).left_future(),
            None => std::future::pending().right_future(),
        };
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => return,
            () = next_poll => {}
        }
    }
}

/// Resolves when the console is shutting down: the flag turned `true` or nobody holds the
/// sender any more.
async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// How long after the start of a poll the next one starts.
///
/// `consecutive_failures` counts the failed polls in a row, including the one just finished.
/// A healthy source, and one that failed once, keep their interval, so a single blip does not
/// delay noticing recovery; after that the wait doubles per failure up to
/// `min(8 × every, 5 min)` (but never below `every`). `jitter` in `0.0..1.0` shortens a backed-off
/// wait by up to a fifth so sources that failed together (a network outage) do not retry in
/// lockstep. No wait is shorter than a second.
pub fn backoff_delay(every: Duration, consecutive_failures: u32, jitter: f64) -> Duration {
    let every = every.max(MIN_INTERVAL);
    if consecutive_failures <= 1 {
        return every;
    }
    let cap = every
        .saturating_mul(MAX_BACKOFF_FACTOR)
        .min(MAX_BACKOFF.max(every));
    // 2^(failures-1) overflows u32 quickly; beyond 2^16 the cap has long been reached.
    let doublings = (consecutive_failures - 1).min(16);
    let backed_off = every.saturating_mul(1 << doublings).min(cap);
    // A NaN jitter clamps to NaN; treat it as none.
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    backed_off
        .saturating_sub(backed_off.mul_f64(0.2 * jitter))
        .max(every)
}

/// The outcome of one poll with its timing.
#[derive(Debug)]
pub(super) struct TimedPoll {
    pub(super) at: DateTime<Utc>,
    pub(super) latency_ms: u64,
    pub(super) result: Result<Observation, String>,
    /// With a failed poll: what it still says (see [`Poller::unanswered`]).
    pub(super) unanswered: Option<Observation>,
}

impl TimedPoll {
    pub(super) fn failed(error: String) -> TimedPoll {
        TimedPoll {
            at: Utc::now(),
            latency_ms: 0,
            result: Err(error),
            unanswered: None,
        }
    }
}

/// Polls once within `timeout`; `at` is when the poll finished, the moment its data is as fresh
/// as it will be. Down hosts that no alert of the poll is about get one (see
/// [`alerting::down_host_alerts`]), dated by `down_hosts`.
pub(super) async fn timed_poll<P: Poller>(
    poller: &mut P,
    source: &str,
    timeout: Duration,
    down_hosts: &mut FirstSeen,
) -> TimedPoll {
    let started = Instant::now();
    // A panicking poller (a bug, or an answer no parser foresaw) fails this poll like any other
    // error and is polled again next time, rather than ending its task and leaving the source
    // silently stale.
    let guarded = AssertUnwindSafe(poller.poll()).catch_unwind();
    let outcome = tokio::time::timeout(timeout, guarded).await;
    let at = Utc::now();
    let (mut result, mut unanswered) = match outcome {
        Ok(Ok(Ok(observation))) => (Ok(observation), None),
        Ok(Ok(Err(error))) => (Err(error.to_string()), poller.unanswered(&error, at)),
        // A panic is ondeck's fault, not the endpoint's: it says nothing about the hosts.
        Ok(Err(panic)) => (
            Err(format!("poller crashed: {}", panic_message(panic.as_ref()))),
            None,
        ),
        Err(_elapsed) => {
            let error = SourceError::Timeout(timeout);
            (Err(error.to_string()), poller.unanswered(&error, at))
        }
    };
    if let Some(observation) = result.as_mut().ok().or(unanswered.as_mut()) {
        let mut raised = alerting::down_host_alerts(source, observation, at);
        down_hosts.stamp(&mut raised, at);
        observation.alerts.append(&mut raised);
    }
    TimedPoll {
        at,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        result,
        unanswered,
    }
}

/// The text a panic was raised with, when it was raised with text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn every_10s() -> Duration {
        Duration::from_secs(10)
    }

    #[test]
    fn healthy_and_once_failed_sources_keep_their_interval() {
        assert_eq!(backoff_delay(every_10s(), 0, 0.7), every_10s());
        assert_eq!(backoff_delay(every_10s(), 1, 0.7), every_10s());
    }

    #[test]
    fn backoff_doubles_per_failure_then_caps_at_eight_intervals() {
        let delays: Vec<u64> = (2..=7)
            .map(|n| backoff_delay(every_10s(), n, 0.0).as_secs())
            .collect();
        assert_eq!(delays, [20, 40, 80, 80, 80, 80]);
        assert_eq!(backoff_delay(every_10s(), u32::MAX, 0.0).as_secs(), 80);
    }

    #[test]
    fn backoff_caps_at_five_minutes_for_slow_sources() {
        let every = Duration::from_secs(60);
        assert_eq!(backoff_delay(every, 3, 0.0), Duration::from_secs(240));
        assert_eq!(backoff_delay(every, 4, 0.0), MAX_BACKOFF);
        assert_eq!(backoff_delay(every, 30, 0.0), MAX_BACKOFF);
    }

    #[test]
    fn a_source_slower_than_the_cap_is_never_polled_faster_than_configured() {
        let every = Duration::from_secs(600);
        assert_eq!(backoff_delay(every, 5, 0.0), every);
        assert_eq!(backoff_delay(every, 5, 0.99), every);
    }

    #[test]
    fn absurd_intervals_neither_spin_nor_overflow() {
        assert_eq!(backoff_delay(Duration::ZERO, 0, 0.0), MIN_INTERVAL);
        assert_eq!(
            backoff_delay(Duration::ZERO, 3, 0.5),
            MIN_INTERVAL * 4 * 9 / 10
        );
        assert_eq!(backoff_delay(Duration::MAX, 0, 0.0), Duration::MAX);
        assert_eq!(backoff_delay(Duration::MAX, 9, 1.0), Duration::MAX);
        assert_eq!(
            backoff_delay(every_10s(), 4, f64::NAN),
            Duration::from_secs(80)
        );
    }

    #[test]
    fn jitter_shortens_a_backoff_by_at_most_a_fifth() {
        let full = backoff_delay(every_10s(), 4, 0.0);
        let most = backoff_delay(every_10s(), 4, 1.0);
        let some = backoff_delay(every_10s(), 4, 0.5);
        assert_eq!(full, Duration::from_secs(80));
        assert_eq!(most, Duration::from_secs(64));
        assert!(most < some && some < full);
        // Out-of-range jitter is clamped rather than trusted.
        assert_eq!(backoff_delay(every_10s(), 4, 7.0), most);
    }

    #[test]
    fn a_source_task_stays_small_whatever_its_kind_needs_while_polling() {
        let source = crate::config::load(None).unwrap().sources.remove(0);
        let (tx, _rx) = mpsc::channel(1);
        let (_stop, shutdown) = watch::channel(false);
        let task = source_task(
            source,
            SharedClients::default(),
            tx,
            shutdown,
            Arc::new(Semaphore::new(1)),
        );
        // 2.7 KB today; 9 KB with the kinds' poll futures held inline.
        assert!(
            std::mem::size_of_val(&task) < 4096,
            "a source's task is {} bytes",
            std::mem::size_of_val(&task)
        );
    }

    /// What a scripted poll does.
    enum Step {
        Hang,
        Take(Duration),
        Fail(&'static str),
        Panic(&'static str),
    }

    /// A poller that follows a script and records when each poll started.
    struct Scripted {
        steps: VecDeque<Step>,
        starts: mpsc::UnboundedSender<Instant>,
    }

    impl Poller for Scripted {
        async fn poll(&mut self) -> Result<Observation, SourceError> {
            let _ = self.starts.send(Instant::now());
            match self.steps.pop_front() {
                Some(Step::Hang) => std::future::pending().await,
                Some(Step::Take(duration)) => {
                    tokio::time::sleep(duration).await;
                    Ok(Observation::default())
                }
                Some(Step::Fail(reason)) => Err(SourceError::Worker {
                    what: "script",
                    reason: reason.to_owned(),
                }),
                Some(Step::Panic(message)) => panic!("{message}"),
                None => std::future::pending().await,
            }
        }
    }

    struct Harness {
        results: mpsc::Receiver<Msg>,
        starts: mpsc::UnboundedReceiver<Instant>,
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
    }

    fn start(steps: Vec<Step>, every: Duration, timeout: Duration) -> Harness {
        let (tx, results) = mpsc::channel(16);
        let (starts_tx, starts) = mpsc::unbounded_channel();
        let (stop, shutdown) = watch::channel(false);
        let poller = Scripted {
            steps: steps.into(),
            starts: starts_tx,
        };
        let schedule = Schedule {
            name: "scripted".into(),
            every,
            timeout,
        };
        let task = tokio::spawn(run_source(
            schedule,
            Ok(poller),
            tx,
            shutdown,
            Arc::new(Semaphore::new(1)),
        ));
        Harness {
            results,
            starts,
            stop,
            task,
        }
    }

    async fn next_result(harness: &mut Harness) -> Result<Observation, String> {
        match harness.results.recv().await {
            Some(Msg::SourcePolled { source, result, .. }) => {
                assert_eq!(source, "scripted");
                result
            }
            other => panic!("expected a poll result, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_poll_times_out_and_the_next_poll_still_happens() {
        let mut harness = start(
            vec![Step::Hang, Step::Take(Duration::from_millis(5))],
            every_10s(),
            Duration::from_secs(3),
        );
        assert_eq!(
            next_result(&mut harness).await,
            Err("timed out after 3s".to_owned())
        );
        assert!(next_result(&mut harness).await.is_ok());
        let first = harness.starts.recv().await.unwrap();
        let second = harness.starts.recv().await.unwrap();
        // One failure keeps the interval, measured from the start of the hung poll.
        assert_eq!(second - first, every_10s());
        harness.stop.send(true).unwrap();
        harness.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_poll_is_a_failed_poll_and_the_source_keeps_polling() {
        let mut harness = start(
            vec![
                Step::Panic("index out of bounds"),
                Step::Take(Duration::from_millis(5)),
            ],
            every_10s(),
            Duration::from_secs(3),
        );
        assert_eq!(
            next_result(&mut harness).await,
            Err("poller crashed: index out of bounds".to_owned())
        );
        assert!(next_result(&mut harness).await.is_ok());
        harness.stop.send(true).unwrap();
        harness.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn slow_polls_do_not_make_the_schedule_drift() {
        let slow = || Step::Take(Duration::from_secs(4));
        let mut harness = start(
            vec![slow(), slow(), slow()],
            every_10s(),
            Duration::from_secs(5),
        );
        for _ in 0..3 {
            assert!(next_result(&mut harness).await.is_ok());
        }
        let t0 = harness.starts.recv().await.unwrap();
        let t1 = harness.starts.recv().await.unwrap();
        let t2 = harness.starts.recv().await.unwrap();
        assert_eq!(t1 - t0, every_10s());
        assert_eq!(t2 - t0, every_10s() * 2);
        harness.stop.send(true).unwrap();
        harness.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_failures_back_off() {
        let mut harness = start(
            vec![Step::Fail("a"), Step::Fail("b"), Step::Fail("c")],
            every_10s(),
            Duration::from_secs(3),
        );
        for expected in ["reading script failed: a", "reading script failed: b"] {
            assert_eq!(next_result(&mut harness).await, Err(expected.to_owned()));
        }
        assert!(next_result(&mut harness).await.is_err());
        let t0 = harness.starts.recv().await.unwrap();
        let t1 = harness.starts.recv().await.unwrap();
        let t2 = harness.starts.recv().await.unwrap();
        assert_eq!(t1 - t0, every_10s());
        // After the second failure the wait is 20 s less up to a fifth of jitter.
        let backed_off = t2 - t1;
        assert!(backed_off > every_10s(), "{backed_off:?}");
        assert!(backed_off <= every_10s() * 2, "{backed_off:?}");
        harness.stop.send(true).unwrap();
        harness.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn sources_wait_for_a_free_permit() {
        let (tx, mut results) = mpsc::channel(4);
        let (starts_tx, mut starts) = mpsc::unbounded_channel();
        let (stop, shutdown) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(1));
        let tasks: Vec<JoinHandle<()>> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let poller = Scripted {
                    steps: vec![Step::Take(Duration::from_secs(5))].into(),
                    starts: starts_tx.clone(),
                };
                let schedule = Schedule {
                    name: name.into(),
                    every: Duration::from_secs(60),
                    timeout: Duration::from_secs(30),
                };
                tokio::spawn(run_source(
                    schedule,
                    Ok(poller),
                    tx.clone(),
                    shutdown.clone(),
                    Arc::clone(&permits),
                ))
            })
            .collect();
        for _ in 0..2 {
            assert!(matches!(
                results.recv().await,
                Some(Msg::SourcePolled { result: Ok(_), .. })
            ));
        }
        let first = starts.recv().await.unwrap();
        let second = starts.recv().await.unwrap();
        assert_eq!(second - first, Duration::from_secs(5), "one poll at a time");
        stop.send(true).unwrap();
        for task in tasks {
            task.await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_queue_ends_the_task() {
        let mut harness = start(
            vec![Step::Take(Duration::from_millis(1))],
            every_10s(),
            Duration::from_secs(3),
        );
        harness.results.close();
        harness.task.await.unwrap();
        assert!(harness.starts.recv().await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_cancels_a_poll_in_flight() {
        let mut harness = start(vec![Step::Hang], every_10s(), Duration::from_secs(3600));
        harness.starts.recv().await.unwrap();
        harness.stop.send(true).unwrap();
        harness.task.await.unwrap();
        assert!(harness.results.recv().await.is_none(), "nothing reported");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_cannot_be_set_up_reports_why() {
        let (tx, mut results) = mpsc::channel(4);
        let (stop, shutdown) = watch::channel(false);
        let schedule = Schedule {
            name: "broken".into(),
            every: every_10s(),
            timeout: Duration::from_secs(3),
        };
        let setup: Result<Scripted, SourceError> = Err(SourceError::Worker {
            what: "the client set-up",
            reason: "no such certificate".into(),
        });
        let task = tokio::spawn(run_source(
            schedule,
            setup,
            tx,
            shutdown,
            Arc::new(Semaphore::new(1)),
        ));
        for _ in 0..2 {
            match results.recv().await {
                Some(Msg::SourcePolled { result, .. }) => {
                    assert_eq!(
                        result,
                        Err("reading the client set-up failed: no such certificate".to_owned())
                    );
                }
                other => panic!("expected a poll result, got {other:?}"),
            }
        }
        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
