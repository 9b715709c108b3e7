//! `approve` / `deny`: a REQUESTED job of a team's own job table (the certificate hub's
//! `install_jobs`), shown in the Jobs pane by a `postgres` source's named query, moved on by
//! the configured statement — `$1` the job id, `$2` the operator, both bound, never formatted
//! into the SQL.
//!
//! The statement runs in a transaction and must itself require the REQUESTED state
//! (`… WHERE id = $1 AND status = 'REQUESTED'`), so that of two operators deciding at once
//! exactly one changes the row: the other's statement changes none, and is told the job was
//! already handled by someone else. A statement that would change more than one row is rolled
//! back.

use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::engine::{JobContext, Outcome};
use super::{Decision, Plan, Refusal, Subject, Target, Work, wrong_row};
use crate::config::transport::pg_connect_options;
use crate::config::{ActionConfig, JobDecisionAction, Secret, SourceSpec, mask_url};
use crate::model::JobRow;
use crate::row_identity::Identified;
use crate::sources::postgres::APPLICATION_NAME;

/// The state a job waits for a decision in.
pub const REQUESTED: &str = "REQUESTED";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDecisionWork {
    pub source: String,
    /// The role that runs the statement, when not the source's own.
    pub database: Option<Secret>,
    pub sql: String,
    pub job_id: String,
    pub decision: Decision,
}

/// Whether the job waits for a decision.
pub fn is_requested(row: &JobRow) -> bool {
    row.state.trim().eq_ignore_ascii_case(REQUESTED)
}

impl Decision {
    fn verb(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Deny => "denied",
        }
    }
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &JobDecisionAction,
    decision: Decision,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let Subject::Job(row) = subject else {
        return Err(wrong_row(action, &spec.source, "the jobs"));
    };
    if !is_requested(row) {
        return Err(Refusal(format!(
            "job {} is {}, not {REQUESTED}: it was already handled",
            row.id, row.state
        )));
    }
    // Without the state in its WHERE clause, a second decision would overwrite the first.
    if !spec.sql.contains(REQUESTED) {
        return Err(Refusal(format!(
            "`{}`'s statement does not require the job to be {REQUESTED} (… AND status = \
             '{REQUESTED}'): two operators could both decide the same job",
            action.name
        )));
    }
    let target = Target {
        name: row.id.clone(),
        row: Some(row.identity()),
    };
    let work = Work::JobDecision(JobDecisionWork {
        source: spec.source.clone(),
        database: spec.database.clone(),
        sql: spec.sql.clone(),
        job_id: row.id.clone(),
        decision,
    });
    Ok(Plan {
        steps: vec![
            format!(
                "in one transaction on `{}`{}: {} — with $1 = {} and $2 = the operator",
                spec.source,
                spec.database
                    .as_ref()
                    .map(|url| format!(" as {url}"))
                    .unwrap_or_default(),
                one_line(&spec.sql),
                row.id
            ),
            "commit if it changed exactly this job; if it changed none, the job was already \
             handled by someone else"
                .to_owned(),
        ],
        changes: format!(
            "job {} ({} on {}, requested by {}) is {}",
            row.id,
            row.action,
            row.target,
            row.operator,
            decision.verb()
        ),
        detail: json!({ "job_id": row.id, "decision": decision.verb(), "sql": spec.sql }),
        ..Plan::new(action, target, work)
    })
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs the statement; see the module's documentation.
pub(super) async fn execute(work: &JobDecisionWork, context: &JobContext<'_>) -> Outcome {
    match decide(work, context).await {
        Ok(detail) => Outcome::succeeded(detail),
        Err(error) => Outcome::failed(error),
    }
}

async fn decide(
    work: &JobDecisionWork,
    context: &JobContext<'_>,
) -> Result<serde_json::Value, String> {
    let source = context.source(&work.source)?;
    let SourceSpec::Postgres(spec) = &source.spec else {
        return Err(format!(
            "the source `{}` is no longer a PostgreSQL one",
            work.source
        ));
    };
    let configured = work.database.as_ref().unwrap_or(&spec.url);
    let url = configured
        .resolve()
        .map_err(|_| format!("the database URL ({configured}) cannot be read"))?;
    let shown = mask_url(&url);
    let options = pg_connect_options(&url, spec.ca_file.as_deref())
        .map_err(|_| format!("the database URL ({shown}) is not a PostgreSQL URL"))?
        .application_name(APPLICATION_NAME);
    let mut connection = PgConnection::connect_with(&options)
        .await
        .map_err(|e| format!("connecting to {shown}: {e}"))?;
    let operator = &context.identity().os_user;
    let mut transaction = connection
        .begin()
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    let changed = sqlx::query(&work.sql)
        .bind(&work.job_id)
        .bind(operator)
        .execute(&mut *transaction)
        .await
        .map_err(|e| format!("the statement failed, nothing was changed: {e}"))?
        .rows_affected();
    match changed {
        0 => {
            let _ = transaction.rollback().await;
            Err(format!(
                "job {} was already handled by someone else: it is no longer {REQUESTED}; \
                 nothing was changed",
                work.job_id
            ))
        }
        1 => {
            transaction
                .commit()
                .await
                .map_err(|e| format!("the decision was not committed: {e}"))?;
            context
                .log(format!(
                    "job {} {} by {operator}",
                    work.job_id,
                    work.decision.verb()
                ))
                .await;
            Ok(json!({ "job_id": work.job_id, "decision": work.decision.verb() }))
        }
        many => {
            let _ = transaction.rollback().await;
            Err(format!(
                "the statement would change {many} rows, not only job {}: rolled back, \
                 nothing was changed; its WHERE clause must name one job ($1)",
                work.job_id
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::config::{ActionKind, ActionSpec, ConfirmPolicy};

    const SQL: &str =
        "UPDATE install_jobs SET status = 'PENDING' WHERE id::text = $1 AND status = 'REQUESTED'";

    fn configured(sql: &str) -> (ActionConfig, JobDecisionAction) {
        let spec = JobDecisionAction {
            source: "certhub-db".to_owned(),
            sql: sql.to_owned(),
            database: None,
        };
        let action = ActionConfig {
            name: "approve-install".to_owned(),
            kind: ActionKind::Approve,
            description: None,
            confirm: ConfirmPolicy::Enter,
            approval_expires: crate::config::DEFAULT_APPROVAL_EXPIRES,
            spec: ActionSpec::Approve(spec.clone()),
        };
        (action, spec)
    }

    fn job(state: &str) -> JobRow {
        JobRow {
            source: "certhub-db".to_owned(),
            id: "10000000-0000-0000-0000-000000000001".to_owned(),
            action: "install 7".to_owned(),
            target: "PC-01".to_owned(),
            operator: "42".to_owned(),
            state: state.to_owned(),
            progress: None,
            started: None,
            finished: None,
            result: None,
            observed_at: Utc::now(),
        }
    }

    #[test]
    fn a_requested_job_is_decided_by_its_id() {
        let (action, spec) = configured(SQL);
        let plan = super::plan(
            &action,
            &spec,
            Decision::Approve,
            Subject::Job(&job("requested")),
        )
        .unwrap();
        assert_eq!(
            plan.work,
            Work::JobDecision(JobDecisionWork {
                source: "certhub-db".to_owned(),
                database: None,
                sql: SQL.to_owned(),
                job_id: "10000000-0000-0000-0000-000000000001".to_owned(),
                decision: Decision::Approve,
            })
        );
        assert_eq!(
            plan.target.ledger_name(),
            "certhub-db/10000000-0000-0000-0000-000000000001"
        );
    }

    #[test]
    fn a_decided_job_and_a_statement_that_does_not_require_requested_are_refused() {
        let (action, spec) = configured(SQL);
        let refused = super::plan(
            &action,
            &spec,
            Decision::Deny,
            Subject::Job(&job("PENDING")),
        )
        .unwrap_err();
        assert!(refused.0.contains("already handled"), "{refused}");
        let (action, spec) =
            configured("UPDATE install_jobs SET status = 'PENDING' WHERE id::text = $1");
        let refused = super::plan(
            &action,
            &spec,
            Decision::Approve,
            Subject::Job(&job("REQUESTED")),
        )
        .unwrap_err();
        assert!(refused.0.contains("two operators"), "{refused}");
    }
}
