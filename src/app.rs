//! The event loop: merges terminal input, poller results, store reads, signals and timers into
//! messages, applies `update`, carries out effects, and draws when — and only when — something
//! visible changed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::actions::engine::HEARTBEAT_STALE;
use crate::actions::runner::ActionRunner;
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::identity::OperatorIdentity;
use crate::model::{SourceRow, StoreRows};
use crate::msg::{Effect, Msg};
use crate::sources::Pollers;
use crate::state::{AppState, Mode, WallState};
use crate::store::{Store, StoreError};
use crate::terminal::ConsoleTerminal;
use crate::update::{finish_batch, translate_key, update};

/// The shortest time between two frames: bursts of messages (a hundred sources answering at
/// once, a held-down key) cost one frame, not a hundred.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// How often the job ledger, audit tail and operator sessions are re-read from the store, so
/// other operators' actions on a shared store show up.
const STORE_REFRESH: Duration = Duration::from_secs(5);
/// The first wait before trying a store that could not be reached again, and the longest: the
/// wait doubles per failure in between.
const STORE_RETRY_FIRST: Duration = Duration::from_secs(1);
const STORE_RETRY_MAX: Duration = Duration::from_secs(30);
/// One connection attempt or refresh of the store that takes longer has failed: a server that
/// accepts connections but never answers must not leave the status bar saying it is fine.
const STORE_ROUND_TIMEOUT: Duration = Duration::from_secs(15);
/// How long leaving waits for the store to record that this console closed. A store that does
/// not answer by then drops the session after `SESSION_TTL` anyway.
const SESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(3);
/// Rows of the audit log kept on screen; `ondeck audit` reads the whole log.
const AUDIT_ROWS: usize = 20_000;
const JOB_ROWS: usize = 2_000;

/// Everything the console needs that was decided before the terminal was taken over.
pub struct Console {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    pub mode: Mode,
}

/// Refuse early, with a plain message, where a full-screen UI cannot work.
pub fn ensure_interactive_terminal() -> Result<()> {
    let term = std::env::var("TERM").unwrap_or_default();
    if term == "dumb" {
        bail!(
            "ondeck needs a terminal that can move the cursor, and TERM is \"dumb\". \
             Run it from a real terminal (TERM=xterm-256color, screen, tmux…), or use \
             `ondeck snapshot` for a plain-text report."
        );
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "ondeck's console needs an interactive terminal on standard input and output. \
             For scripts and cron use `ondeck snapshot [--json]` or `ondeck audit`."
        );
    }
    Ok(())
}

/// Runs the console until the operator quits, a signal arrives or the terminal goes away.
///
/// The store is not waited for: the first frame goes out while it opens (migrations, locks,
/// a shared server that does not answer), and the store's rows and this console's operator
/// session arrive when it does.
pub async fn run(console: Console) -> Result<()> {
    let Console {
        config,
        theme,
        keymap,
        mode,
    } = console;
    let identity = OperatorIdentity::current(&config.console.operator);
    let tty = crate::identity::terminal().unwrap_or_default();
    let store_label = Store::label_for(&config.store.url)?;

    // The status bar names the account, which is who acts; the label is in the Sessions pane.
    let mut state = AppState::new(
        identity.os_user.clone(),
        store_label.clone(),
        mode,
        Utc::now(),
    );
    state.store_connecting = true;
    state.wall = WallState::new(config.wall.clone(), state.now);
    state.help = crate::ui::help_sections(&keymap);
    state.actions = config.actions.clone();
    state.decide_by_code = config.totp_secret(&identity.os_user).is_some();
    state.sources = config
        .sources
        .iter()
        .map(|s| SourceRow::pending(&s.name, s.kind(), s.every))
        .collect();
    state.alert_sources = config
        .sources
        .iter()
        .filter(|s| s.raises_alerts())
        .map(|s| s.name.clone())
        .collect();

    // Signals are caught before the terminal is taken over, so that one arriving at any moment
    // after it goes through the loop, which gives the terminal back.
    let mut signals = Signals::register()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (store_tx, store_rx) = watch::channel(None);
    let mut runner = None;
    let mut started = None;
    let mut terminal = crate::terminal::take_over();
    let result = match terminal.as_mut() {
        Ok(terminal) => {
            async {
                first_frame(terminal, &mut state, &theme, &keymap)?;
                // The sources and the store start once the first frame is out, so that none of
                // their work (a local poll, the store's open and migrations) competes with it.
                let (tx, mut rx) = mpsc::channel::<Msg>(1024);
                let actions = runner.insert(ActionRunner::new(
                    store_rx,
                    identity.clone(),
                    config.sources.clone().into(),
                    config.totp_secret(&identity.os_user).cloned(),
                    tx.clone(),
                ));
                let (backups_tx, backups_rx) =
                    watch::channel(crate::actions::backups::status::watched(&config));
                let keeper = StoreKeeper {
                    url: config.store.url.clone(),
                    label: store_label,
                    identity,
                    terminal: tty,
                    read_only: mode.read_only,
                    tx: tx.clone(),
                    published: store_tx,
                    store: None,
                    session_id: None,
                    leftovers_of: Some(config.actions.clone()),
                    backups: backups_rx,
                };
                let (pollers, _) = started.insert((
                    Pollers::start(config.sources.clone(), tx.clone(), shutdown_rx.clone()),
                    tokio::spawn(keeper.run(shutdown_rx)),
                ));
                let workers = Workers {
                    actions,
                    pollers,
                    backups: backups_tx,
                    tx,
                    config_path: config.path.clone(),
                };
                let terminal_and_state = (terminal, &mut state);
                event_loop(
                    terminal_and_state,
                    &theme,
                    &keymap,
                    &mut rx,
                    &mut signals,
                    workers,
                )
                .await
            }
            .await
        }
        Err(error) => Err(eyre!("could not set up the terminal: {error}")),
    };
    // Restore first: whatever happens below, the operator gets their shell back. The terminal
    // is dropped after, when a terminal that hung up no longer takes its output.
    crate::terminal::restore();
    drop(terminal);

    // Every way out of the loop — quit, a signal, the terminal hung up or unwritable — comes
    // here, and the store keeper closes the operator session before it ends. Running actions
    // have their own connections to the store and are waited for last.
    let _ = shutdown_tx.send(true);
    if let Some((pollers, store_task)) = started {
        pollers.abort_all();
        if tokio::time::timeout(SESSION_CLOSE_TIMEOUT, store_task)
            .await
            .is_err()
        {
            tracing::warn!("the store did not record this console's leaving in time");
        }
    }
    if let Some(runner) = runner.as_mut() {
        finish_running_actions(runner, &mut signals).await;
    }
    result
}

/// Draws the sources as pending and the store as connecting, before anything has started.
fn first_frame(
    terminal: &mut ConsoleTerminal,
    state: &mut AppState,
    theme: &Theme,
    keymap: &Keymap,
) -> Result<()> {
    let size = terminal
        .size()
        .wrap_err("could not read the terminal size")?;
    state.size = (size.width, size.height);
    draw(terminal, state, theme, keymap)
}

/// Leaving with actions still running: they are never abandoned half-recorded (SPEC, safety
/// rule 7). The console has stopped drawing; each job runs to its end or its timeout and
/// records its outcome. A dropped SSH session (SIGHUP) changes nothing; SIGTERM or SIGINT — the
/// operator's ctrl-c, or a second `kill` — cancels them at their next safe point, and the
/// cancellations are recorded before ondeck exits.
async fn finish_running_actions(runner: &mut ActionRunner, signals: &mut Signals) {
    // A two-person request nobody approved yet would hold the console until it expires: it is
    // withdrawn (CANCELLED), as nobody is left to run it.
    runner.withdraw_requests();
    let running = runner.running();
    if running == 0 {
        return;
    }
    tracing::info!(running, "waiting for running actions before leaving");
    // The terminal may have hung up: a failed write is no reason not to wait.
    let _ = writeln!(
        std::io::stderr(),
        "ondeck: waiting for {running} running action(s) to finish and be recorded; ctrl-c \
         cancels them"
    );
    let mut cancelled = false;
    loop {
        tokio::select! {
            () = runner.finished() => return,
            _ = signals.hangup.recv() => {}
            _ = signals.terminate.recv(), if !cancelled => {
                runner.cancel_all();
                cancelled = true;
            }
            _ = signals.interrupt.recv(), if !cancelled => {
                runner.cancel_all();
                cancelled = true;
            }
        }
    }
}

/// The signals that end the console — a dropped SSH session, `kill`, and ctrl-c from outside
/// raw mode — and SIGUSR1, which reloads the configuration.
struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
    reload: Signal,
}

impl Signals {
    fn register() -> Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup()).wrap_err("SIGHUP handler")?,
            terminate: signal(SignalKind::terminate()).wrap_err("SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).wrap_err("SIGINT handler")?,
            reload: signal(SignalKind::user_defined1()).wrap_err("SIGUSR1 handler")?,
        })
    }
}

/// What the loop drives besides the screen: the actions, the pollers, and the configuration
/// file they came from.
struct Workers<'a> {
    actions: &'a mut ActionRunner,
    pollers: &'a mut Pollers,
    /// The backup actions the store keeper shows as rows, replaced by a reload.
    backups: watch::Sender<Vec<crate::actions::backups::status::Watched>>,
    tx: mpsc::Sender<Msg>,
    /// `None` for the embedded default, which has no file to read again.
    config_path: Option<PathBuf>,
}

impl Workers<'_> {
    /// Reads the configuration file off the loop and sends what came of it.
    fn load_config(&self) {
        let (path, tx) = (self.config_path.clone(), self.tx.clone());
        tokio::spawn(async move {
            let loaded = match path {
                None => Err(
                    "ondeck runs on its embedded default configuration: there is no \
                             file to reload"
                        .to_owned(),
                ),
                Some(path) => tokio::task::spawn_blocking(move || crate::config::load(Some(&path)))
                    .await
                    .map_err(|crash| format!("reading the configuration crashed: {crash}"))
                    .and_then(|loaded| loaded.map(Box::new).map_err(|error| error.to_string())),
            };
            if let Err(error) = &loaded {
                tracing::warn!(%error, "configuration not reloaded");
            }
            let _ = tx.send(Msg::ConfigLoaded(loaded)).await;
        });
    }
}

async fn event_loop(
    (terminal, state): (&mut ConsoleTerminal, &mut AppState),
    theme: &Theme,
    keymap: &Keymap,
    rx: &mut mpsc::Receiver<Msg>,
    signals: &mut Signals,
    workers: Workers<'_>,
) -> Result<()> {
    let mut events = EventStream::new();
    let Signals {
        hangup,
        terminate,
        interrupt,
        reload,
    } = signals;
    let mut last_draw = Some(Instant::now());

    loop {
        if state.dirty {
            let due = last_draw.map_or(Instant::now(), |at| at + FRAME_INTERVAL);
            if due <= Instant::now() {
                draw(terminal, state, theme, keymap)?;
                last_draw = Some(Instant::now());
            }
        }
        let wake = next_wake(state, last_draw);
        let first = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => terminal_msg(state, keymap, event),
                Some(Err(error)) => return Err(error).wrap_err("reading the terminal failed"),
                None => Some(Msg::Signal("terminal closed")),
            },
            Some(msg) = rx.recv() => Some(msg),
            _ = hangup.recv() => Some(Msg::Signal("SIGHUP")),
            _ = terminate.recv() => Some(Msg::Signal("SIGTERM")),
            _ = interrupt.recv() => Some(Msg::Signal("SIGINT")),
            _ = reload.recv() => Some(Msg::ReloadRequested),
            _ = tokio::time::sleep_until(wake) => Some(Msg::Tick(Utc::now())),
        };
        // Apply everything already queued before drawing once.
        let mut pending: Vec<Msg> = first.into_iter().collect();
        while let Ok(msg) = rx.try_recv() {
            pending.push(msg);
        }
        for msg in pending {
            if let Msg::Signal(name) = &msg {
                tracing::info!(signal = name, "leaving");
            }
            let msg = match msg {
                // The pollers take the new sources first: the state then learns which
                // sources' rows are no longer current.
                Msg::ConfigLoaded(Ok(config)) => {
                    let restarted = workers.pollers.reconcile(config.sources.clone());
                    workers.actions.reconfigure(&config);
                    workers
                        .backups
                        .send_replace(crate::actions::backups::status::watched(&config));
                    Msg::Reconfigured { config, restarted }
                }
                msg => msg,
            };
            for effect in update(state, msg) {
                match effect {
                    Effect::Quit => return Ok(()),
                    Effect::Bell => ring_bell(terminal),
                    Effect::LoadConfig => workers.load_config(),
                    effect => workers.actions.apply(effect),
                }
            }
        }
        finish_batch(state);
    }
}

/// A bell that cannot be rung is no reason to stop watching: the highlight still shows.
fn ring_bell(terminal: &mut ConsoleTerminal) {
    if let Err(error) = terminal.backend_mut().ring_bell() {
        tracing::warn!(%error, "the terminal bell could not be rung");
    }
}

fn terminal_msg(state: &AppState, keymap: &Keymap, event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => translate_key(state, keymap, key),
        Event::Resize(width, height) => Some(Msg::Resize { width, height }),
        _ => None,
    }
}

fn draw(
    terminal: &mut ConsoleTerminal,
    state: &mut AppState,
    theme: &Theme,
    keymap: &Keymap,
) -> Result<()> {
    terminal
        .draw(|frame| crate::ui::draw(frame, state, theme, keymap))
        .wrap_err("drawing failed")?;
    state.dirty = false;
    Ok(())
}

/// The next moment the loop must wake up without input: a pending frame, the next minute for
/// the clock, the moment some source's data turns stale, or the wall's next page. Idle, nothing
/// else wakes it.
fn next_wake(state: &AppState, last_draw: Option<Instant>) -> Instant {
    let now = Instant::now();
    if state.dirty {
        return last_draw.map_or(now, |at| at + FRAME_INTERVAL);
    }
    let wall_now = Utc::now();
    let next_minute = 60 - wall_now.timestamp().rem_euclid(60);
    let mut seconds = next_minute;
    for source in &state.sources {
        if let Some(deadline) = stale_deadline(source) {
            let until = (deadline - wall_now).num_seconds();
            if until >= 0 {
                seconds = seconds.min(until + 1);
            }
        }
    }
    let wake = now + Duration::from_secs(seconds.max(1) as u64);
    // The wall turns its page, ends a highlight and ticks its seconds at moments of its own.
    match state.wall.next_change(wall_now) {
        Some(at) if state.mode.wall => wake.min(now + (at - wall_now).to_std().unwrap_or_default()),
        _ => wake,
    }
}

/// When the source's data turns stale; `None` before its first success or when that is beyond
/// the calendar (an interval too long to add is "never").
fn stale_deadline(source: &SourceRow) -> Option<DateTime<Utc>> {
    source.last_success?.checked_add_signed(source.fresh_for())
}

/// The console's side of the store: opens it, retrying with backoff while it is down; records
/// this console's operator session; re-reads the jobs, audit and sessions every few seconds,
/// sending only what changed, so an idle console stays idle; and closes the session when the
/// console stops.
struct StoreKeeper {
    url: String,
    label: String,
    identity: OperatorIdentity,
    /// This console's terminal, recorded with its session.
    terminal: String,
    /// Recorded with the session, for the other operators to see.
    read_only: bool,
    tx: mpsc::Sender<Msg>,
    /// Where the action runner finds the store once it is open.
    published: watch::Sender<Option<Store>>,
    store: Option<Store>,
    session_id: Option<String>,
    /// The actions whose leftovers (unfinished dumps, drill databases) are removed once the
    /// store is open; taken then.
    leftovers_of: Option<Vec<crate::config::ActionConfig>>,
    /// The backup actions whose rows the keeper reads with each round (they need the store's
    /// job ledger for their drills), as the configuration last loaded has them.
    backups: watch::Receiver<Vec<crate::actions::backups::status::Watched>>,
}

/// What the keeper last told the loop, so that it repeats nothing.
#[derive(Default)]
struct Sent {
    rows: Option<StoreDigest>,
    error: Option<String>,
    backups: Option<Vec<BackupDigest>>,
}

/// What identifies one backup action's row for "has anything changed": name, status, the
/// ages it shows, and how many fields it has.
type BackupDigest = (String, crate::model::HostStatus, Option<String>, usize);

/// What identifies one reading of the store for "has anything changed".
type StoreDigest = (
    Vec<crate::model::JobRow>,
    (Option<i64>, usize),
    Vec<(String, String, Option<DateTime<Utc>>)>,
    Vec<(String, String)>,
    Vec<crate::model::ApprovalRequest>,
);

impl StoreKeeper {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tokio::select! {
            () = self.keep() => {}
            // A dropped sender is a console that is gone: stop just the same.
            _ = shutdown.changed() => {}
        }
        self.close_session().await;
    }

    /// Runs until the loop's receiver is gone.
    async fn keep(&mut self) {
        let mut sent = Sent::default();
        let mut failures: u32 = 0;
        loop {
            let round = tokio::time::timeout(STORE_ROUND_TIMEOUT, self.read()).await;
            let read = round.unwrap_or_else(|_| {
                Err(StoreError::Unavailable {
                    store: self.label.clone(),
                    reason: format!("no answer within {}s", STORE_ROUND_TIMEOUT.as_secs()),
                })
            });
            let (msg, wait) = match read {
                Ok(rows) => {
                    failures = 0;
                    let digest = digest(&rows);
                    let news = sent.rows.as_ref() != Some(&digest) || sent.error.is_some();
                    sent.rows = Some(digest);
                    sent.error = None;
                    let msg = news.then(|| Msg::StoreLoaded(Box::new(rows)));
                    (msg, STORE_REFRESH)
                }
                Err(error) => {
                    tracing::warn!(%error, "the store cannot be read");
                    let wait = retry_wait(failures);
                    failures = failures.saturating_add(1);
                    let text = error.to_string();
                    let news = sent.error.as_ref() != Some(&text);
                    sent.error = Some(text.clone());
                    (news.then_some(Msg::StoreFailed(text)), wait)
                }
            };
            if let Some(msg) = msg
                && self.tx.send(msg).await.is_err()
            {
                return;
            }
            if let Some(msg) = self.backup_rows(&mut sent).await
                && self.tx.send(msg).await.is_err()
            {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One round: open the store and the session if not yet done, mark the session alive, read.
    async fn read(&mut self) -> Result<StoreRows, StoreError> {
        let store = match &self.store {
            Some(store) => store.clone(),
            None => {
                let store = Store::open(&self.url).await?;
                // Jobs a crashed or killed ondeck left behind are ended before this console
                // shows them as running.
                match store
                    .interrupt_orphaned_jobs(&self.identity, HEARTBEAT_STALE)
                    .await
                {
                    Ok(jobs) if !jobs.is_empty() => {
                        tracing::warn!(?jobs, "jobs of a process that is gone marked INTERRUPTED");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not look for interrupted jobs"),
                }
                if let Some(actions) = self.leftovers_of.take() {
                    // Once the jobs of dead processes are INTERRUPTED, what they left is
                    // theirs to lose; in its own task, as dropping a database can take a while.
                    let store = store.clone();
                    tokio::spawn(async move {
                        for line in
                            crate::actions::pg_restore::remove_leftovers(&actions, &store).await
                        {
                            tracing::warn!("{line}");
                        }
                    });
                }
                self.store = Some(store.clone());
                let _ = self.published.send(Some(store.clone()));
                store
            }
        };
        match &self.session_id {
            Some(id) => store.touch_operator_session(id).await?,
            None => {
                let id = store
                    .open_operator_session(&self.identity, &self.terminal, self.read_only)
                    .await?;
                self.session_id = Some(id);
            }
        }
        store.read_rows(JOB_ROWS, AUDIT_ROWS).await
    }

    /// The backup actions' rows, as a poll of the `backups` source, when they changed.
    async fn backup_rows(&self, sent: &mut Sent) -> Option<Msg> {
        use crate::actions::backups::status;
        let watched = self.backups.borrow().clone();
        // With none configured, nothing to show — unless a reload took the last ones away.
        if watched.is_empty() && sent.backups.as_ref().is_none_or(Vec::is_empty) {
            return None;
        }
        let started = std::time::Instant::now();
        let observation = status::observe(&watched, self.store.as_ref()).await;
        let digest: Vec<_> = observation
            .hosts
            .iter()
            .map(|h| (h.name.clone(), h.status, h.version.clone(), h.fields.len()))
            .collect();
        if sent.backups.as_ref() == Some(&digest) {
            return None;
        }
        sent.backups = Some(digest);
        Some(Msg::SourcePolled {
            source: status::SOURCE.to_owned(),
            at: Utc::now(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            result: Ok(observation),
            unanswered: None,
        })
    }

    async fn close_session(&mut self) {
        let (Some(store), Some(id)) = (&self.store, self.session_id.take()) else {
            return;
        };
        if let Err(error) = store.close_operator_session(&id).await {
            tracing::warn!(%error, "could not close the operator session");
        }
    }
}

fn digest(rows: &StoreRows) -> StoreDigest {
    // A session's read time is not news; only the rows are.
    let seen = rows
        .sessions
        .iter()
        .map(|s| (s.user.clone(), s.client.clone(), s.since))
        .collect();
    // The audit log only grows, so its newest seq and length identify it.
    let newest_audit = (rows.audit.iter().map(|a| a.seq).max(), rows.audit.len());
    let alerts = rows
        .alerts
        .iter()
        .map(|a| (a.target.clone(), a.summary.clone()))
        .collect();
    (
        rows.jobs.clone(),
        newest_audit,
        seen,
        alerts,
        rows.approvals.clone(),
    )
}

/// The wait after `failures` failed rounds before this one: doubling from the first wait up to
/// the longest, shortened by up to a fifth at random so that consoles that lost a shared store
/// together do not all come back in the same second.
fn retry_wait(failures: u32) -> Duration {
    let doubled = STORE_RETRY_FIRST.saturating_mul(1 << failures.min(16));
    doubled
        .min(STORE_RETRY_MAX)
        .mul_f64(1.0 - fastrand::f64() / 5.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polled(every_s: u64) -> SourceRow {
        let mut row = SourceRow::pending("api", "http", Duration::from_secs(every_s));
        row.apply_poll(Utc::now(), 3, &Ok(Default::default()));
        row
    }

    #[test]
    fn no_interval_makes_the_wake_computation_panic() {
        let source = polled(10);
        assert_eq!(
            stale_deadline(&source),
            source
                .last_success
                .map(|at| at + chrono::Duration::seconds(20))
        );
        for every_s in [u64::MAX, u64::MAX / 2, i64::MAX as u64 / 1000 + 1] {
            assert_eq!(stale_deadline(&polled(every_s)), None, "{every_s}");
        }
        let mut state = AppState::new("alice".into(), "test".into(), Mode::default(), Utc::now());
        state.sources = vec![polled(u64::MAX), polled(10)];
        state.dirty = false;
        let wake = next_wake(&state, None);
        assert!(wake <= Instant::now() + Duration::from_secs(61));
    }
}
