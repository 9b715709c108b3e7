//! Faults HTTP-speaking sources meet in the field, against misbehaving servers on loopback, seen
//! the way the operator sees them: the real supervisor polls, its messages go through the real
//! `update` into the console's state, and the real `draw` renders the screen on a test backend
//! with the shipped theme and keymap. Each test reads that screen: the Sources view with the
//! failing source and its error, the host rows with their status and age, the alerts. Where a
//! healthy source runs beside the faulty one, it must keep updating.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::time::Duration;

use chrono::Utc;
use fake_http::{FakeServer, Reply};
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::config::{AlertmanagerSource, HttpSource, PrometheusSource, SourceConfig, SourceSpec};
use ondeck::model::{HostStatus, SourceRow, SourceStatus};
use ondeck::msg::{Command, Msg};
use ondeck::sources;
use ondeck::state::{AppState, Mode};
use ondeck::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

const HEALTHY: &str = r#"{"status":"ok"}"#;
/// The source that misbehaves, first in the configuration so the Sources view opens on it.
const FLAKY: &str = "flaky-api";
/// The healthy source beside it.
const STEADY: &str = "steady-api";
/// The shortest interval the supervisor allows, so a test sees several polls in seconds.
const EVERY: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long a test waits for the screen to show something. It bounds a hung test; it does not
/// measure speed.
const PATIENCE: Duration = Duration::from_secs(10);
/// Wide enough for a whole error on one line of the Sources view, too short for the dashboard:
/// one pane at a time, so a line of the screen belongs to one pane.
const SCREEN: (u16, u16) = (160, 30);

fn http(name: &str, url: String) -> SourceConfig {
    SourceConfig {
        name: name.to_owned(),
        every: EVERY,
        timeout: TIMEOUT,
        spec: SourceSpec::Http(HttpSource {
            url,
            expect_status: 200,
            expect_json: serde_json::json!({"status": "ok"}).as_object().cloned(),
            tls_warn_days: 14,
            latency_warn: None,
            headers: Default::default(),
        }),
    }
}

fn prometheus(url: String) -> SourceConfig {
    SourceConfig {
        name: FLAKY.to_owned(),
        every: EVERY,
        timeout: TIMEOUT,
        spec: SourceSpec::Prometheus(PrometheusSource { url }),
    }
}

fn alertmanager(url: String) -> SourceConfig {
    SourceConfig {
        name: FLAKY.to_owned(),
        every: EVERY,
        timeout: TIMEOUT,
        spec: SourceSpec::Alertmanager(AlertmanagerSource { urls: vec![url] }),
    }
}

/// The console without a terminal: the supervisor's messages and a ticking clock go through
/// `update`, and the screen is drawn on demand.
struct Console {
    state: AppState,
    messages: mpsc::Receiver<Msg>,
    stop: watch::Sender<bool>,
    pollers: sources::Pollers,
    theme: Theme,
    keymap: Keymap,
}

impl Console {
    /// Starts the supervisor on `sources`, with the state set up as `ondeck` sets it up.
    fn start(sources: Vec<SourceConfig>) -> Console {
        let mut state = AppState::new(
            "alice".to_owned(),
            "memory".to_owned(),
            Mode::default(),
            Utc::now(),
        );
        state.sources = sources
            .iter()
            .map(|s| SourceRow::pending(&s.name, s.kind(), s.every))
            .collect();
        state.alert_sources = sources.iter().map(|s| s.name.clone()).collect();
        update(
            &mut state,
            Msg::Resize {
                width: SCREEN.0,
                height: SCREEN.1,
            },
        );
        let (tx, messages) = mpsc::channel(64);
        let (stop, shutdown) = watch::channel(false);
        let pollers = sources::Pollers::start(sources, tx, shutdown);
        Console {
            state,
            messages,
            stop,
            pollers,
            theme: Theme::load("default").expect("the shipped default theme loads"),
            keymap: Keymap::load("default").expect("the shipped default keymap loads"),
        }
    }

    /// Takes in the supervisor's messages, and a clock tick whenever none came for 100 ms (the
    /// event loop wakes at staleness deadlines the same way), until `done` holds.
    async fn until(&mut self, what: &str, patience: Duration, done: impl Fn(&AppState) -> bool) {
        let deadline = Instant::now() + patience;
        while !done(&self.state) {
            if Instant::now() > deadline {
                panic!(
                    "waited {patience:?} for {what}; the screen shows:\n{}\nthe Sources view:\n{}",
                    self.screen(),
                    self.sources_view()
                );
            }
            let message = tokio::select! {
                message = self.messages.recv() => message.expect("the supervisor runs"),
                () = tokio::time::sleep(Duration::from_millis(100)) => Msg::Tick(Utc::now()),
            };
            update(&mut self.state, message);
        }
    }

    /// Waits until `name` has been polled at least once.
    async fn polled(&mut self, name: &str) {
        self.until(&format!("a poll of {name}"), PATIENCE, |state| {
            state
                .source(name)
                .is_some_and(|s| s.status != SourceStatus::Pending)
        })
        .await;
    }

    /// Waits for a newer host row from `name` than the one on screen now, and returns with the
    /// state just as it took that row in.
    async fn fresh_row_from(&mut self, name: &str) {
        let before = host(&self.state, name).map(|h| h.observed_at);
        self.until(&format!("fresh data from {name}"), PATIENCE, |state| {
            host(state, name).is_some_and(|h| Some(h.observed_at) > before)
        })
        .await;
    }

    async fn shut_down(self) {
        self.stop.send(true).unwrap();
        self.pollers.join().await.unwrap();
    }

    fn command(&mut self, command: Command) {
        update(&mut self.state, Msg::Command(command));
    }

    fn screen(&self) -> String {
        draw(&self.state, &self.theme, &self.keymap)
    }

    /// The screen with `commands` applied, as their keys would.
    fn after(&mut self, commands: &[Command]) -> String {
        for &command in commands {
            self.command(command);
        }
        self.screen()
    }

    fn hosts(&mut self) -> String {
        self.after(&[Command::FocusHosts])
    }

    fn alerts(&mut self) -> String {
        self.after(&[Command::FocusAlerts])
    }

    /// The Sources view's popup, opened on the first source (the flaky one) and closed again.
    fn sources_view(&mut self) -> String {
        let screen = self.after(&[Command::ShowSources]);
        self.command(Command::Close);
        // Only the popup: the pane behind it shows the same names in its rows.
        screen
            .lines()
            .skip_while(|line| !line.contains("╭ Sources"))
            .take_while(|line| !line.contains('╰'))
            .map(|line| {
                let chars: Vec<char> = line.chars().collect();
                let left = chars.iter().position(|c| "│╭".contains(*c));
                let right = chars.iter().rposition(|c| "│╮".contains(*c));
                match (left, right) {
                    (Some(left), Some(right)) => chars[left..=right].iter().collect(),
                    _ => line.to_owned(),
                }
            })
            .collect::<Vec<String>>()
            .join("\n")
    }

    /// The detail view of the first alert, closed again.
    fn first_alert_detail(&mut self) -> String {
        let shown = self.after(&[Command::FocusAlerts, Command::Top, Command::OpenDetail]);
        self.command(Command::Close);
        shown
    }
}

fn host<'a>(state: &'a AppState, name: &str) -> Option<&'a ondeck::model::HostRow> {
    state.data.hosts.iter().find(|h| h.source == name)
}

fn host_shown(state: &AppState, name: &str) -> Option<HostStatus> {
    host(state, name).map(|h| state.host_status(h))
}

fn source_shown(state: &AppState, name: &str) -> Option<SourceStatus> {
    state.source(name).map(|s| state.source_status(s))
}

fn draw(state: &AppState, theme: &Theme, keymap: &Keymap) -> String {
    let mut terminal = Terminal::new(TestBackend::new(state.size.0, state.size.1)).unwrap();
    terminal
        .draw(|frame| ondeck::ui::draw(frame, state, theme, keymap))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The words of a screen line, without table borders and the selection marker.
fn words(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || "│┃▶╭╮╰╯".contains(c))
        .filter(|word| !word.is_empty())
        .collect()
}

/// The words of the one line of `screen` whose first word is `name`: its row in a pane or in
/// the Sources view.
fn row<'a>(screen: &'a str, name: &str) -> Vec<&'a str> {
    let mut rows = screen
        .lines()
        .map(words)
        .filter(|words| words.first() == Some(&name));
    let found = rows
        .next()
        .unwrap_or_else(|| panic!("no row of {name} on screen:\n{screen}"));
    assert!(rows.next().is_none(), "two rows of {name}:\n{screen}");
    found
}

/// A host row's status, from the Hosts pane (NAME KIND STATUS … AGE).
fn status<'a>(hosts: &'a str, name: &str) -> &'a str {
    row(hosts, name)[2]
}

/// How old a host row's data is, in seconds. From the state: the screen shows ages to the
/// minute.
fn age_s(state: &AppState, name: &str) -> i64 {
    let host = host(state, name).unwrap_or_else(|| panic!("no host row of {name}"));
    (state.now - host.observed_at).num_seconds()
}

/// A source's status in the Sources view (NAME KIND STATUS LAST-OK FAILS …).
fn source_status<'a>(view: &'a str, name: &str) -> &'a str {
    row(view, name)[2]
}

fn source_failures(view: &str, name: &str) -> u32 {
    row(view, name)[4].parse().unwrap()
}

/// What the Sources view says under its table about the selected source: the whole last
/// error, re-joined where it wrapped, or `no error`.
fn error_shown(view: &str) -> String {
    view.lines()
        .skip_while(|line| !line.contains("── "))
        .skip(1)
        .map(|line| line.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .take_while(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_bar(screen: &str) -> &str {
    screen.lines().last().unwrap()
}

/// A healthy source beside `flaky`, polled until the flaky one has been polled and the healthy
/// one has reported again since.
async fn beside_a_healthy_source(flaky: SourceConfig) -> (Console, FakeServer) {
    let steady = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let mut console = Console::start(vec![flaky, http(STEADY, steady.url("/health"))]);
    console.polled(FLAKY).await;
    console.fresh_row_from(STEADY).await;
    (console, steady)
}

/// The healthy source's row is up and fresh, and it polled while the other failed.
fn assert_steady_source_is_fresh(console: &mut Console) {
    let hosts = console.hosts();
    assert_eq!(status(&hosts, STEADY), "up", "{hosts}");
    // Stale means older than twice the interval.
    assert!(age_s(&console.state, STEADY) <= 2, "{hosts}");
    let view = console.sources_view();
    assert_eq!(source_status(&view, STEADY), "ok", "{view}");
}

/// The flaky source, never having answered, is failing in the Sources view with `error`; and
/// since no answer is an answer for a health check, its host is down with a critical
/// `EndpointDown` whose summary contains `reason`.
fn assert_failing_and_down(console: &mut Console, error: impl Fn(&str) -> bool, reason: &str) {
    let view = console.sources_view();
    assert_eq!(source_status(&view, FLAKY), "failing", "{view}");
    assert_eq!(row(&view, FLAKY)[3], "never", "no last success: {view}");
    let shown = error_shown(&view);
    assert!(error(&shown), "the Sources view says: {shown}\n{view}");
    assert_endpoint_down(console, reason);
}

/// The flaky host is down, and the first alert is its critical `EndpointDown` saying `reason`.
fn assert_endpoint_down(console: &mut Console, reason: &str) {
    let hosts = console.hosts();
    assert_eq!(status(&hosts, FLAKY), "down", "{hosts}");
    let alerts = console.alerts();
    let alert = alerts
        .lines()
        .map(words)
        .find(|words| words.contains(&"EndpointDown"))
        .unwrap_or_else(|| panic!("no EndpointDown alert:\n{alerts}"));
    assert_eq!(alert[..3], ["critical", "EndpointDown", FLAKY], "{alerts}");
    let detail = console.first_alert_detail();
    assert!(
        detail
            .lines()
            .any(|line| words(line).first() == Some(&"summary") && line.contains(reason)),
        "the detail says {reason:?}: {detail}"
    );
}

#[tokio::test]
async fn an_endpoint_refusing_from_the_start_is_a_down_host_with_a_critical_alert() {
    let gone = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let url = gone.url("/health");
    gone.stop().await;
    let (mut console, _steady) = beside_a_healthy_source(http(FLAKY, url.clone())).await;
    assert_failing_and_down(
        &mut console,
        |error| error.starts_with(&format!("last error: {url}: cannot connect")),
        "Connection refused",
    );
    let hosts = console.hosts();
    assert!(status_bar(&hosts).contains("1 critical"), "{hosts}");
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

#[tokio::test]
async fn until_every_alert_source_has_answered_the_status_bar_and_the_wall_say_waiting() {
    let slow =
        FakeServer::start(|_| Reply::json(200, HEALTHY).after(Duration::from_millis(200))).await;
    let quick = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let mut flaky = http(FLAKY, slow.url("/health"));
    flaky.timeout = Duration::from_secs(3);
    let mut console = Console::start(vec![flaky, http(STEADY, quick.url("/health"))]);
    let waiting = console.screen();
    assert!(
        status_bar(&waiting).contains("waiting for sources")
            && !status_bar(&waiting).contains("no alerts firing"),
        "{waiting}"
    );
    console.state.mode.wall = true;
    let wall = console.screen();
    assert!(wall.contains("WAITING"), "{wall}");
    console.state.mode.wall = false;

    // One source answered: still waiting for the other.
    console.polled(STEADY).await;
    if source_shown(&console.state, FLAKY) == Some(SourceStatus::Pending) {
        let screen = console.screen();
        assert!(
            status_bar(&screen).contains("waiting for sources"),
            "{screen}"
        );
    }
    console.polled(FLAKY).await;
    let screen = console.screen();
    assert!(
        status_bar(&screen).contains("no alerts firing")
            && !status_bar(&screen).contains("waiting"),
        "{screen}"
    );
    console.state.mode.wall = true;
    let wall = console.screen();
    assert!(!wall.contains("WAITING"), "{wall}");
    console.shut_down().await;
}

#[tokio::test]
async fn a_killed_server_goes_failing_and_down_and_recovers_while_the_other_keeps_updating() {
    let flaky = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let steady = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let flaky_addr = flaky.addr;
    let mut console = Console::start(vec![
        http(FLAKY, flaky.url("/health")),
        http(STEADY, steady.url("/health")),
    ]);
    console
        .until("both hosts up", PATIENCE, |state| {
            [FLAKY, STEADY]
                .iter()
                .all(|name| host_shown(state, name) == Some(HostStatus::Up))
        })
        .await;
    let hosts = console.hosts();
    assert_eq!(status(&hosts, FLAKY), "up", "{hosts}");
    assert_eq!(status(&hosts, STEADY), "up", "{hosts}");

    flaky.stop().await;
    console
        .until("the flaky source failing", PATIENCE, |state| {
            source_shown(state, FLAKY) == Some(SourceStatus::Failing)
        })
        .await;
    let view = console.sources_view();
    assert_eq!(source_status(&view, FLAKY), "failing", "{view}");
    let error = error_shown(&view);
    let url = format!("http://{flaky_addr}/health");
    assert!(
        error.starts_with(&format!("last error: {url}: cannot connect")),
        "{error}"
    );
    assert!(error.contains("Connection refused"), "{error}");

    // No answer is the answer: the host is down now, not stale later.
    assert_eq!(host_shown(&console.state, FLAKY), Some(HostStatus::Down));
    assert_endpoint_down(&mut console, "Connection refused");
    console.fresh_row_from(STEADY).await;
    let hosts = console.hosts();
    assert!(
        status_bar(&hosts).contains("1 critical")
            && status_bar(&hosts).contains("sources 1 ok, 1 failing, 0 stale"),
        "{hosts}"
    );
    assert_steady_source_is_fresh(&mut console);
    console
        .until("a second failed poll", PATIENCE, |state| {
            state.source(FLAKY).unwrap().consecutive_failures >= 2
        })
        .await;
    let view = console.sources_view();
    assert_eq!(source_status(&view, FLAKY), "failing", "{view}");
    assert!(source_failures(&view, FLAKY) >= 2, "{view}");
    assert_eq!(
        status(&console.hosts(), FLAKY),
        "down",
        "still down, not stale"
    );

    let restarted = FakeServer::start_on(flaky_addr, |_| Reply::json(200, HEALTHY))
        .await
        .unwrap();
    // Failing sources back off to at most 8 intervals.
    console
        .until("the flaky source recovered", 2 * PATIENCE, |state| {
            source_shown(state, FLAKY) == Some(SourceStatus::Ok)
        })
        .await;
    let hosts = console.hosts();
    assert_eq!(status(&hosts, FLAKY), "up", "{hosts}");
    assert!(age_s(&console.state, FLAKY) <= 2, "{hosts}");
    assert!(
        status_bar(&hosts).contains("sources 2 ok, 0 failing, 0 stale"),
        "{hosts}"
    );
    let view = console.sources_view();
    assert_eq!(source_status(&view, FLAKY), "ok", "{view}");
    assert_eq!(source_failures(&view, FLAKY), 0, "{view}");
    assert_eq!(error_shown(&view), "no error", "{view}");
    assert!(!restarted.requests().is_empty());
    console.shut_down().await;
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_fails_the_source_and_the_other_keeps_updating() {
    let slow =
        FakeServer::start(|_| Reply::json(200, HEALTHY).after(Duration::from_secs(30))).await;
    let (mut console, _steady) = beside_a_healthy_source(http(FLAKY, slow.url("/health"))).await;
    assert_failing_and_down(
        &mut console,
        |error| error == "last error: timed out after 300ms",
        "timed out after 300ms",
    );
    // The next poll of the slow source starts while the healthy one goes on reporting.
    console
        .until("the slow source's second poll", PATIENCE, |state| {
            state.source(FLAKY).unwrap().consecutive_failures >= 2
        })
        .await;
    console.fresh_row_from(STEADY).await;
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

#[tokio::test]
async fn server_errors_are_a_down_host_and_a_critical_alert_from_a_working_source() {
    for (code, body) in [
        (500, "internal error"),
        (503, r#"{"status":"maintenance"}"#),
    ] {
        let failing = FakeServer::start(move |_| Reply::json(code, body)).await;
        let (mut console, _steady) =
            beside_a_healthy_source(http(FLAKY, failing.url("/health"))).await;

        let view = console.sources_view();
        assert_eq!(
            source_status(&view, FLAKY),
            "ok",
            "it got an answer: {view}"
        );
        assert_eq!(error_shown(&view), "no error", "{view}");
        let hosts = console.hosts();
        assert_eq!(status(&hosts, FLAKY), "down", "{code}: {hosts}");
        let alerts = console.alerts();
        let alert = alerts
            .lines()
            .map(words)
            .find(|words| words.contains(&"EndpointDown"))
            .unwrap_or_else(|| panic!("{code}: no EndpointDown alert:\n{alerts}"));
        assert_eq!(alert[..3], ["critical", "EndpointDown", FLAKY], "{alerts}");
        let detail = console.first_alert_detail();
        let summary = format!("answered {code}, expected 200: {body}");
        assert!(
            detail
                .lines()
                .any(|line| words(line).first() == Some(&"summary") && line.contains(&summary)),
            "{code}: the detail shows why: {detail}"
        );
        assert_steady_source_is_fresh(&mut console);
        console.shut_down().await;
    }
}

#[tokio::test]
async fn malformed_json_is_a_down_host_whose_alert_says_why() {
    let server = FakeServer::start(|_| Reply::json(200, r#"{"status": "ok""#)).await;
    let (mut console, _steady) = beside_a_healthy_source(http(FLAKY, server.url("/health"))).await;
    let hosts = console.hosts();
    assert_eq!(status(&hosts, FLAKY), "down", "{hosts}");
    let detail = console.first_alert_detail();
    assert!(
        detail.contains("body is not JSON: EOF while parsing an object at line 1 column 15"),
        "{detail}"
    );
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

#[tokio::test]
async fn a_body_cut_short_fails_the_source_with_a_clear_error() {
    let server = FakeServer::start(|_| {
        Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
    })
    .await;
    let url = server.url("/health");
    let (mut console, _steady) = beside_a_healthy_source(http(FLAKY, url.clone())).await;
    assert_failing_and_down(
        &mut console,
        |error| error.starts_with(&format!("last error: {url}: broken answer")),
        "broken answer",
    );
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_whether_announced_or_not() {
    let announced = FakeServer::start(|_| {
        Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n{\"status\":")
    })
    .await;
    let unannounced = FakeServer::start(|_| {
        let mut bytes = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        bytes.resize(bytes.len() + 9 * 1024 * 1024, b' ');
        Reply::raw(bytes)
    })
    .await;
    for server in [&announced, &unannounced] {
        let mut source = http(FLAKY, server.url("/health"));
        // Long enough to read 8 MiB on a busy machine: the cap must be what stops it.
        source.timeout = Duration::from_secs(3);
        let (mut console, _steady) = beside_a_healthy_source(source).await;
        assert_failing_and_down(
            &mut console,
            |error| error == "last error: answer larger than 8 MiB, not read",
            "answer larger than 8 MiB, not read",
        );
        assert_steady_source_is_fresh(&mut console);
        console.shut_down().await;
    }
}

#[tokio::test]
async fn a_tls_handshake_failure_says_so() {
    // A plain-HTTP server behind an https URL answers the TLS hello with plain text.
    let server = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let url = format!("https://{}/health", server.addr);
    let (mut console, _steady) = beside_a_healthy_source(http(FLAKY, url.clone())).await;
    assert_failing_and_down(
        &mut console,
        |error| error.starts_with(&format!("last error: {url}: TLS handshake failed")),
        "TLS handshake failed",
    );
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

#[tokio::test]
async fn an_unresolvable_name_is_a_clear_error() {
    // A DNS label is at most 63 bytes (RFC 1035), so the system resolver refuses this name
    // itself: the lookup fails without a query leaving the machine.
    let url = format!("http://{}.invalid/health", "a".repeat(64));
    let mut source = http(FLAKY, url.clone());
    source.timeout = Duration::from_secs(3);
    let (mut console, _steady) = beside_a_healthy_source(source).await;
    assert_failing_and_down(
        &mut console,
        |error| {
            error.starts_with(&format!("last error: {url}: cannot connect"))
                && error.contains("failed to lookup address")
        },
        "failed to lookup address",
    );
    assert_steady_source_is_fresh(&mut console);
    console.shut_down().await;
}

/// What a sole alert source shows when every answer is `reply`: failing with an error `error`
/// accepts, and an Alerts pane that says it has no data rather than "no alerts firing".
async fn alert_source_fails(
    source: impl FnOnce(String) -> SourceConfig,
    reply: Reply,
    error: impl Fn(&str) -> bool,
) {
    let server = FakeServer::start(move |_| reply.clone()).await;
    let mut console = Console::start(vec![source(server.url(""))]);
    console.polled(FLAKY).await;
    let view = console.sources_view();
    assert_eq!(source_status(&view, FLAKY), "failing", "{view}");
    let shown = error_shown(&view);
    assert!(error(&shown), "the Sources view says: {shown}\n{view}");
    let alerts = console.alerts();
    assert!(
        alerts.contains("NO DATA — every alert source is failing"),
        "{alerts}"
    );
    assert!(!server.requests().is_empty());
    console.shut_down().await;
}

fn truncated() -> Reply {
    Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
}

fn oversized() -> Reply {
    Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n[")
}

#[tokio::test]
async fn prometheus_answers_that_are_malformed_truncated_or_oversized_fail_the_source() {
    // JSON that stops in the middle of the result list.
    let malformed = Reply::json(200, r#"{"status":"success","data":{"result":[{"metric":{}"#);
    alert_source_fails(prometheus, malformed, |error| {
        error.starts_with("last error: unexpected Prometheus ")
            && error.contains("EOF while parsing")
    })
    .await;
    alert_source_fails(prometheus, truncated(), |error| {
        error.contains("/api/v1/") && error.contains(": broken answer: ")
    })
    .await;
    alert_source_fails(prometheus, oversized(), |error| {
        error == "last error: answer larger than 8 MiB, not read"
    })
    .await;
}

#[tokio::test]
async fn alertmanager_answers_that_are_malformed_truncated_or_oversized_fail_the_source() {
    // Well-formed JSON that is not Alertmanager's: the fields every alert and silence has are
    // missing.
    let malformed = Reply::json(200, r#"[{"labels":{"alertname":"Watchdog"}}]"#);
    alert_source_fails(alertmanager, malformed, |error| {
        error.starts_with("last error: unexpected Alertmanager ") && error.contains("missing field")
    })
    .await;
    alert_source_fails(alertmanager, truncated(), |error| {
        error.contains("/api/v2/") && error.contains(": broken answer: ")
    })
    .await;
    alert_source_fails(alertmanager, oversized(), |error| {
        error == "last error: answer larger than 8 MiB, not read"
    })
    .await;
}
