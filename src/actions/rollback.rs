//! `rollback`: a release source's environment goes back from its current release to the one
//! before, by the team's own rollback program, then must pass its health check.

use super::{
    DEFAULT_TIMEOUT, Plan, ProcessWork, Refusal, Subject, Work, base_env, health_step, row_target,
};
use crate::config::{ActionConfig, RollbackAction};
use crate::model::HostStatus;

pub(super) fn plan(
    action: &ActionConfig,
    spec: &RollbackAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let Subject::Host(row) = subject else {
        return Err(Refusal(format!(
            "`{}` rolls back an environment of the release source `{}`: pick one of its rows",
            action.name, spec.source
        )));
    };
    // A release source that did not answer leaves its rows as they were: rolling back from a
    // release that may no longer be the current one would go to the wrong place.
    if row.status != HostStatus::Up {
        return Err(Refusal(format!(
            "the release source `{}` has not answered for {} ({}); what is deployed there is \
             unknown, so no rollback is planned",
            row.source,
            row.name,
            row.status.as_str()
        )));
    }
    let Some((from, to)) = row.rollback_target() else {
        return Err(Refusal(format!(
            "{} has no earlier release to roll back to (`previous_ref` is missing or the same \
             as the current one)",
            row.name
        )));
    };
    let target = row_target(row);
    let mut env = base_env(action, &target);
    env.extend([
        ("ONDECK_ENVIRONMENT".to_owned(), row.name.clone()),
        ("ONDECK_RELEASE_FROM".to_owned(), from.clone()),
        ("ONDECK_RELEASE_TO".to_owned(), to.clone()),
    ]);
    let mut steps = vec![format!("run {}", spec.argv.join(" "))];
    steps.extend(spec.health.as_ref().map(health_step));
    let work = Work::Process(ProcessWork {
        argv: spec.argv.clone(),
        env,
        cwd: None,
        timeout: spec.timeout.unwrap_or(DEFAULT_TIMEOUT),
        health: spec.health.clone(),
    });
    Ok(Plan {
        steps,
        changes: format!("{} goes back from release {from} to {to}", row.name),
        cannot_undo: Some(format!(
            "whatever {from} changed that {to} does not undo (data migrations) stays as it is"
        )),
        detail: serde_json::json!({
            "environment": row.name,
            "from": from,
            "to": to,
            "argv": spec.argv,
        }),
        ..Plan::new(action, target, work)
    })
}
