//! `ondeck run ACTION --target T [--yes] [--dry-run] [--wait]`: the console's action engine
//! without the console, for scripts and for a terminal without the full-screen UI. `--wait`
//! requests a `two-person` action and runs it once another operator approves it.
//!
//! The plan goes to standard output, progress and the job's log to standard error. Exit 0 when
//! the action succeeded (or the dry run was recorded), 1 when it failed or was refused; clap
//! gives usage errors 2.

use std::io::{BufRead, IsTerminal, Write};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::actions::engine::{Engine, HEARTBEAT_STALE, JobEvent};
use crate::actions::unseal::{self, UnsealWork};
use crate::actions::{Plan, Subject, Work, plan, totp};
use crate::config::{ActionConfig, ActionSpec, Config, ConfirmPolicy};
use crate::identity::OperatorIdentity;
use crate::model::Observation;
use crate::printable::printable;
use crate::secret_text::{MASKED_FIELD_CAPACITY, SecretText};
use crate::sources::poll_once_all;
use crate::store::{ActionState, Store};

/// What `ondeck run` was asked.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub action: String,
    pub target: String,
    /// Skip an `enter` confirmation; with the target named, also a `type-target` one.
    pub yes: bool,
    pub dry_run: bool,
    /// `--wait`: a `two-person` action is requested and waited for, then run once approved.
    pub wait: bool,
    /// `--read-only`, `[console] read_only`: show the plan, run nothing.
    pub read_only: Option<&'static str>,
}

/// Why `run` stopped short, printed as `ondeck: …`; the exit code is 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

/// Runs the request to its end; `Ok` is the final state of the job (or `DryRun`).
pub async fn run(config: &Config, request: &RunRequest) -> Result<ActionState, Refused> {
    let action = find_action(config, &request.action)?;
    let observation;
    let subject = match action.source() {
        None => Subject::Named(&request.target),
        Some(source) => {
            observation = read_rows(config, source).await?;
            find_row(&observation, action, source, &request.target)?
        }
    };
    let plan = plan(action, subject).map_err(|refusal| Refused(refusal.0))?;
    print_plan(&plan);
    if let Some(why) = request.read_only {
        return Err(Refused(format!("read-only ({why}): nothing was done")));
    }
    let identity = OperatorIdentity::current(&config.console.operator);
    let store = Store::open(&config.store.url).await.map_err(|error| {
        Refused(format!(
            "refused: the store cannot record the action, so nothing was done ({error})"
        ))
    })?;
    if let Err(error) = store
        .interrupt_orphaned_jobs(&identity, HEARTBEAT_STALE)
        .await
    {
        tracing::warn!(%error, "could not look for interrupted jobs");
    }
    for line in crate::actions::pg_restore::remove_leftovers(&config.actions, &store).await {
        say(&format!("ondeck: {}", printable(&line)));
    }
    let engine = Engine {
        store,
        identity,
        sources: config.sources.clone().into(),
    };
    if request.dry_run {
        engine
            .record_dry_run(&plan)
            .await
            .map_err(|error| Refused(format!("the dry run could not be recorded: {error}")))?;
        say("dry run: nothing was done (recorded in the audit log)");
        return Ok(ActionState::DryRun);
    }
    let confirmed = match plan.confirm {
        ConfirmPolicy::Totp => confirm_by_code(&engine, config).await,
        ConfirmPolicy::TwoPerson if !request.wait => Err(format!(
            "refused: `{}` needs a second operator's approval; pass --wait to request it and \
             wait for the decision; nothing was done",
            plan.action
        )),
        ConfirmPolicy::TwoPerson => Ok(()),
        _ => confirm(&plan, request),
    };
    if let Err(why) = confirmed {
        if let Err(error) = engine.record_refusal(&plan, &why).await {
            tracing::warn!(%error, "refusal not recorded");
            say(&format!(
                "ondeck: the refusal could not be recorded in the audit log: {}",
                printable(&error.to_string())
            ));
        }
        return Err(Refused(why));
    }
    match &plan.work {
        Work::Unseal(work) => unseal_at_terminal(&engine, &plan, work).await,
        _ => execute(&engine, &plan).await,
    }
}

fn find_action<'a>(config: &'a Config, name: &str) -> Result<&'a ActionConfig, Refused> {
    config
        .actions
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.actions.iter().map(|a| a.name.as_str()).collect();
            let hint = crate::config::diagnostics::suggestion(name, names.iter().copied());
            Refused(format!(
                "no action named `{name}` is configured.{hint} Configured: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// The row of `observation` that `target` names, among the rows of the pane the action's kind
/// acts on (a silence's alerts, a job decision's jobs); several is refused as ambiguous.
fn find_row<'a>(
    observation: &'a Observation,
    action: &ActionConfig,
    source: &str,
    target: &str,
) -> Result<Subject<'a>, Refused> {
    let rows: Vec<Subject<'a>> = match &action.spec {
        ActionSpec::Silence(_) => observation.alerts.iter().map(Subject::Alert).collect(),
        ActionSpec::TerminateSession(_) => {
            observation.sessions.iter().map(Subject::Session).collect()
        }
        ActionSpec::Approve(_) | ActionSpec::Deny(_) => {
            observation.jobs.iter().map(Subject::Job).collect()
        }
        _ => observation.hosts.iter().map(Subject::Host).collect(),
    };
    let mut named = rows.into_iter().filter(|row| row.answers_to(target));
    match (named.next(), named.next()) {
        (Some(row), None) => Ok(row),
        (Some(_), Some(_)) => Err(Refused(format!(
            "`{target}` names more than one row of the source `{source}`; name one by its id \
             (an alert by its fingerprint)"
        ))),
        (None, _) => Err(Refused(format!(
            "the source `{source}` has no row named `{target}` for `{}`",
            action.name
        ))),
    }
}

/// The rows of `source`, polled once now: a plan is made from what is there, not from what was.
async fn read_rows(config: &Config, source: &str) -> Result<Observation, Refused> {
    let sources: Vec<_> = config
        .sources
        .iter()
        .filter(|s| s.name == source)
        .cloned()
        .collect();
    let report = poll_once_all(&sources)
        .await
        .pop()
        .ok_or_else(|| Refused(format!("the source `{source}` is not configured")))?;
    match report.result {
        Ok(observation) => Ok(observation),
        Err(error) => Err(Refused(format!(
            "the source `{source}` did not answer ({error}); what it would act on is unknown, so \
             nothing was done"
        ))),
    }
}

fn print_plan(plan: &Plan) {
    let mut lines = vec![format!("action:  {} ({})", plan.action, plan.kind.name())];
    lines.extend(plan.description.iter().map(|d| format!("         {d}")));
    lines.push(format!("target:  {}", plan.target.ledger_name()));
    lines.push(format!("changes: {}", plan.changes));
    lines.extend(
        plan.cannot_undo
            .iter()
            .map(|c| format!("cannot be undone: {c}")),
    );
    lines.push("steps:".to_owned());
    lines.extend(
        plan.steps
            .iter()
            .enumerate()
            .map(|(n, step)| format!("  {}. {step}", n + 1)),
    );
    lines.push(format!("confirm: {}", plan.confirm.name()));
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{}", printable(&line));
    }
    let _ = out.flush();
}

/// Asks at the terminal as the action's policy says; `Err` says why it is not confirmed.
fn confirm(plan: &Plan, request: &RunRequest) -> Result<(), String> {
    let answer = match (plan.confirm, request.yes) {
        (ConfirmPolicy::Enter | ConfirmPolicy::TypeTarget, true) => return Ok(()),
        (ConfirmPolicy::Enter, false) => ask("Run it? Type yes to go on: ")?,
        (ConfirmPolicy::TypeTarget, false) => ask(&format!(
            "Type the target's name ({}) to run it: ",
            plan.target.name
        ))?,
        // `confirm_by_code` takes TOTP codes, and a second operator two-person actions. Never
        // confirmed with less.
        (ConfirmPolicy::Totp | ConfirmPolicy::TwoPerson, _) => {
            return Err(format!(
                "confirmation `{}` cannot be given here",
                plan.confirm.name()
            ));
        }
    };
    let expected = match plan.confirm {
        ConfirmPolicy::TypeTarget => plan.target.name.as_str(),
        _ => "yes",
    };
    if answer.trim() == expected {
        Ok(())
    } else {
        Err(format!(
            "refused: typed {:?}, expected {expected:?}; nothing was done",
            printable(answer.trim())
        ))
    }
}

/// The operator's TOTP code, unechoed at a terminal or the next line from a pipe, checked and
/// taken by the store. `--yes` does not stand in for it.
async fn confirm_by_code(engine: &Engine, config: &Config) -> Result<(), String> {
    let at_terminal = std::io::stdin().is_terminal();
    let code = tokio::task::spawn_blocking(move || {
        read_secret_line("Your TOTP code (not shown): ", at_terminal)
    })
    .await
    .map_err(|error| format!("refused: reading the TOTP code failed: {error}"))?
    .map_err(|error| format!("refused: reading the TOTP code failed: {error}"))?
    .ok_or_else(|| "refused: no TOTP code was given; nothing was done".to_owned())?;
    let secret = config.totp_secret(&engine.identity.os_user);
    totp::check(engine, secret, &code)
        .await
        .map_err(|why| format!("refused: {why}; nothing was done"))
}

/// One line typed at the terminal, after `prompt` on standard error.
fn ask(prompt: &str) -> Result<String, String> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "refused: the action needs a confirmation and there is no terminal to ask at; \
             pass --yes to confirm it from a script"
                .to_owned(),
        );
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| format!("refused: reading the confirmation failed: {error}"))?;
    Ok(line)
}

/// Runs the plan, printing its progress on standard error. SIGINT (ctrl-c) and a second
/// SIGTERM cancel it at its next safe point; SIGHUP and a first SIGTERM let it finish, so the
/// outcome is always recorded.
async fn execute(engine: &Engine, plan: &Plan) -> Result<ActionState, Refused> {
    let (cancel_tx, cancel) = watch::channel(false);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let two_person = plan.confirm == ConfirmPolicy::TwoPerson;
    if two_person {
        say(&format!(
            "ondeck: waiting for another operator to approve (expires in {}); ctrl-c withdraws \
             the request",
            humantime::format_duration(plan.approval_expires)
        ));
    }
    let job = async {
        if two_person {
            engine.request_and_run(plan, &events_tx, cancel).await
        } else {
            engine.run(plan, &events_tx, cancel).await
        }
    };
    tokio::pin!(job);
    let mut terms = 0;
    let finished = loop {
        tokio::select! {
            finished = &mut job => break finished,
            Some(event) = events.recv() => report(&event),
            Some(()) = recv(&mut signals.0) => {
                say("ondeck: cancelling…");
                let _ = cancel_tx.send(true);
            }
            Some(()) = recv(&mut signals.1) => {
                terms += 1;
                if terms > 1 {
                    say("ondeck: cancelling…");
                    let _ = cancel_tx.send(true);
                } else {
                    say("ondeck: SIGTERM: letting the action finish; send it again to cancel");
                }
            }
            Some(()) = recv(&mut signals.2) => {}
        }
    };
    while let Ok(event) = events.try_recv() {
        report(&event);
    }
    let finished = finished.map_err(|refusal| Refused(refusal.0))?;
    Ok(finished.state)
}

/// The next signal of a handler that could be registered; a missing one never fires.
async fn recv(signal: &mut std::io::Result<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Ok(signal) => signal.recv().await,
        Err(_) => std::future::pending().await,
    }
}

/// A line on standard error, which may be a terminal that hung up (the SSH connection dropped):
/// `eprintln!` would panic there, in the middle of an action whose outcome is still to be
/// recorded.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A job's progress on standard error, each line of its output made safe to print.
fn report(event: &JobEvent) {
    let lines = match event {
        JobEvent::Opened(row) => vec![format!("job {} {}", row.id, row.state)],
        JobEvent::State { state, .. } => vec![format!("job {state}")],
        JobEvent::Lines { lines, .. } => lines.iter().map(|line| format!("  | {line}")).collect(),
        JobEvent::Closed { state, result, .. } => vec![match result {
            Some(result) => format!("job {state}: {result}"),
            None => format!("job {state}"),
        }],
    };
    let mut err = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(err, "{}", printable(&line));
    }
}

/// Asks for the key shares one at a time — typed unechoed at a terminal, or one per line from a
/// pipe for scripted recovery — and submits each, until the node is unsealed or the shares end.
async fn unseal_at_terminal(
    engine: &Engine,
    plan: &Plan,
    work: &UnsealWork,
) -> Result<ActionState, Refused> {
    let status = unseal::read_status(work).await.map_err(|error| {
        Refused(format!(
            "the seal status of {} could not be read ({error}); nothing was sent",
            work.node
        ))
    })?;
    say(&printable(&unseal::describe(&work.node, &status)));
    if !status.sealed {
        say("it is not sealed: nothing to do");
        return Ok(ActionState::Succeeded);
    }
    let at_terminal = std::io::stdin().is_terminal();
    let mut seen = status;
    loop {
        let prompt = format!(
            "key share {} of {} for {} (not shown; an empty line stops): ",
            seen.progress + 1,
            seen.t,
            work.node
        );
        let failed = |error: String| Refused(format!("reading the key share failed: {error}"));
        let share = tokio::task::spawn_blocking(move || read_secret_line(&prompt, at_terminal))
            .await
            .map_err(|error| failed(error.to_string()))?
            .map_err(|error| failed(error.to_string()))?;
        let Some(share) = share else {
            return Err(Refused(format!(
                "no more key shares: {} is still sealed (progress {}/{}); the shares given stay \
                 counted until the attempt is reset or the node restarts",
                work.node, seen.progress, seen.t
            )));
        };
        let submitted = unseal::submit(engine, plan, share, Some(&seen.nonce))
            .await
            .map_err(|refusal| Refused(refusal.0))?;
        say(&printable(&submitted.message()));
        if let Some(status) = submitted.status {
            if !status.sealed {
                return Ok(ActionState::Succeeded);
            }
            seen = status;
        }
    }
}

/// A secret (a key share, a TOTP code): unechoed from the terminal, or the next line of
/// standard input. `None` at the end of the input or an empty line.
fn read_secret_line(prompt: &str, at_terminal: bool) -> std::io::Result<Option<SecretText>> {
    let typed = if at_terminal {
        zeroize::Zeroizing::new(rpassword::prompt_password(prompt)?)
    } else {
        // Sized for any share, so that the line is read without the buffer growing (and
        // leaving a copy behind in freed memory).
        let mut line = zeroize::Zeroizing::new(String::with_capacity(MASKED_FIELD_CAPACITY));
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let share = SecretText::new(typed.trim());
    Ok((!share.is_empty()).then_some(share))
}
