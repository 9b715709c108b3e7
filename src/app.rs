//! The event loop: merges terminal input, poller results, store reads, signals and timers into
//! messages, applies `update`, carries out effects, and draws when — and only when — something
//! visible changed.

use std::io::IsTerminal;
use std::time::Duration;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr, bail};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::identity::OperatorIdentity;
use crate::model::SourceRow;
use crate::msg::{Effect, Msg};
use crate::state::{AppState, Mode};
use crate::store::Store;
use crate::terminal::ConsoleTerminal;
use crate::update::{translate_key, update};

/// The shortest time between two frames: bursts of messages (a hundred sources answering at
/// once, a held-down key) cost one frame, not a hundred.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// How often the job ledger, audit tail and operator sessions are re-read from the store, so
/// other operators' actions on a shared store show up.
const STORE_REFRESH: Duration = Duration::from_secs(5);
/// Rows of the audit log kept on screen; `ondeck audit` reads the whole log.
const AUDIT_ROWS: usize = 20_000;
const JOB_ROWS: usize = 2_000;

/// Everything the console needs that was decided before the terminal was taken over.
pub struct Console {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    pub mode: Mode,
    pub store: Store,
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

pub async fn run(console: Console) -> Result<()> {
    let Console {
        config,
        theme,
        keymap,
        mode,
        store,
    } = console;
    let identity = OperatorIdentity::current(&config.console.operator);
    let terminal = crate::identity::terminal().unwrap_or_default();
    let session_id = store
        .open_operator_session(&identity, &terminal)
        .await
        .wrap_err("could not record this console in the store")?;

    // The status bar names the account, which is who acts; the label is in the Sessions pane.
    let mut state = AppState::new(identity.os_user.clone(), store.label(), mode, Utc::now());
    state.help = crate::ui::help_sections(&keymap);
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

    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let pollers = crate::sources::spawn(config.sources.clone(), tx.clone(), shutdown_rx.clone());
    let store_task = tokio::spawn(refresh_store(
        store.clone(),
        session_id.clone(),
        tx.clone(),
        shutdown_rx,
    ));

    // Signals are caught before the terminal is taken over, so that one arriving at any moment
    // after it goes through the loop, which gives the terminal back.
    let signals = Signals::register()?;
    let mut terminal = crate::terminal::take_over().wrap_err("could not set up the terminal")?;
    let result = event_loop(&mut terminal, &mut state, &theme, &keymap, &mut rx, signals).await;
    // Restore first: whatever happens below, the operator gets their shell back.
    crate::terminal::restore();

    let _ = shutdown_tx.send(true);
    for poller in pollers {
        poller.abort();
    }
    store_task.abort();
    if let Err(error) = store.close_operator_session(&session_id).await {
        tracing::warn!(%error, "could not close the operator session");
    }
    result
}

/// The signals that end the console: a dropped SSH session, `kill`, and ctrl-c from outside
/// raw mode.
struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    fn register() -> Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup()).wrap_err("SIGHUP handler")?,
            terminate: signal(SignalKind::terminate()).wrap_err("SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).wrap_err("SIGINT handler")?,
        })
    }
}

async fn event_loop(
    terminal: &mut ConsoleTerminal,
    state: &mut AppState,
    theme: &Theme,
    keymap: &Keymap,
    rx: &mut mpsc::Receiver<Msg>,
    signals: Signals,
) -> Result<()> {
    let mut events = EventStream::new();
    let Signals {
        mut hangup,
        mut terminate,
        mut interrupt,
    } = signals;
    let size = terminal
        .size()
        .wrap_err("could not read the terminal size")?;
    state.size = (size.width, size.height);
    let mut last_draw: Option<Instant> = None;

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
            if update(state, msg).contains(&Effect::Quit) {
                return Ok(());
            }
        }
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
/// the clock, or the moment some source's data turns stale. Idle, nothing else wakes it.
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
    now + Duration::from_secs(seconds.max(1) as u64)
}

/// When the source's data turns stale; `None` before its first success or when that is beyond
/// the calendar (an interval too long to add is "never").
fn stale_deadline(source: &SourceRow) -> Option<DateTime<Utc>> {
    source.last_success?.checked_add_signed(source.fresh_for())
}

/// Re-read the store every few seconds and send what changed. Unchanged data sends nothing, so
/// an idle console stays idle.
async fn refresh_store(
    store: Store,
    session_id: String,
    tx: mpsc::Sender<Msg>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_sent = None;
    let mut last_error: Option<String> = None;
    loop {
        let read = async {
            store.touch_operator_session(&session_id).await?;
            let jobs = store.jobs(JOB_ROWS).await?;
            let audit = store.audit_tail(AUDIT_ROWS).await?;
            let sessions = store.operator_sessions().await?;
            Ok::<_, crate::store::StoreError>((jobs, audit, sessions))
        };
        match read.await {
            Ok((jobs, audit, sessions)) => {
                // A session's read time is not news; only the rows are.
                let seen: Vec<_> = sessions
                    .iter()
                    .map(|s| (s.user.clone(), s.client.clone(), s.since))
                    .collect();
                // The audit log only grows, so its newest seq and length identify it.
                let newest_audit = (audit.iter().map(|a| a.seq).max(), audit.len());
                let fresh = (jobs.clone(), newest_audit, seen);
                if last_sent.as_ref() != Some(&fresh) || last_error.is_some() {
                    last_error = None;
                    let msg = Msg::StoreLoaded {
                        jobs,
                        audit,
                        sessions,
                    };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                    last_sent = Some(fresh);
                }
            }
            Err(error) => {
                let text = error.to_string();
                if last_error.as_ref() != Some(&text) {
                    last_error = Some(text.clone());
                    if tx.send(Msg::StoreFailed(text)).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(STORE_REFRESH) => {}
            _ = shutdown.changed() => return,
        }
    }
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
