//! `command`: a runbook script, run directly with its `cwd` and `timeout`, for the row it was
//! picked on or the name it was given.

use super::{
    DEFAULT_TIMEOUT, Plan, ProcessWork, Refusal, Subject, Target, Work, base_env, health_step,
    row_target,
};
use crate::config::{ActionConfig, CommandAction};

pub(super) fn plan(
    action: &ActionConfig,
    spec: &CommandAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    // Picked on a row of another pane, a command is run for the name that row acts on: a
    // session's user, a job's or an alert's target.
    let name = match subject {
        Subject::Host(_) => "",
        Subject::Session(row) => row.user.as_str(),
        Subject::Job(row) => row.target.as_str(),
        Subject::Alert(row) => row.target.as_str(),
        Subject::Named(name) => name,
    };
    let target = match subject {
        Subject::Host(row) => row_target(row),
        _ if name.trim().is_empty() => {
            return Err(Refusal(format!(
                "`{}` needs a target to be recorded in the audit log: name one with --target",
                action.name
            )));
        }
        _ => Target {
            name: name.trim().to_owned(),
            row: None,
        },
    };
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut steps = vec![match &spec.cwd {
        Some(cwd) => format!("run {} (in {})", spec.argv.join(" "), cwd.display()),
        None => format!("run {}", spec.argv.join(" ")),
    }];
    steps.push(format!(
        "stop it, with every process it started, after {}",
        humantime::format_duration(timeout)
    ));
    steps.extend(spec.health.as_ref().map(health_step));
    let work = Work::Process(ProcessWork {
        argv: spec.argv.clone(),
        env: base_env(action, &target),
        cwd: spec.cwd.clone(),
        timeout,
        health: spec.health.clone(),
    });
    Ok(Plan {
        steps,
        changes: match &action.description {
            Some(description) => format!("{description} ({})", target.name),
            None => format!("whatever {} does to {}", spec.argv.join(" "), target.name),
        },
        cannot_undo: None,
        detail: serde_json::json!({ "argv": spec.argv, "cwd": spec.cwd }),
        ..Plan::new(action, target, work)
    })
}
