//! `terminate_session`: ends the selected session — a PostgreSQL backend by
//! `pg_terminate_backend($1)`, or a Kasm session by the Developer API's `destroy_kasm`.
//!
//! A backend is checked again on the server just before it is ended: it must still be the one
//! the operator picked (the same role, started at the same time, since a pid is reused), not
//! ondeck's own connection, and not a superuser's unless `allow_superuser` says so.

use std::time::Duration;

use serde_json::json;
use sqlx::{Connection, PgConnection, Row};

use super::engine::{JobContext, Outcome};
use super::{Plan, Refusal, Subject, Target, Work, wrong_row};
use crate::config::transport::pg_connect_options;
use crate::config::{ActionConfig, Secret, SourceSpec, TerminateSessionAction, mask_url};
use crate::model::SessionRow;
use crate::row_identity::Identified;
use crate::sources::fetch;
use crate::sources::postgres::{APPLICATION_NAME, is_ondeck_application};

/// How long a terminated backend may take to leave `pg_stat_activity`.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// The field a PostgreSQL session row keeps its backend's pid in.
pub const PID_FIELD: &str = "pid";
/// The fields a Kasm session row keeps its ids in.
pub const KASM_ID_FIELD: &str = "kasm_id";
pub const KASM_USER_ID_FIELD: &str = "user_id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateWork {
    pub source: String,
    pub session: Session,
    pub allow_superuser: bool,
    /// The role that ends a backend, when not the source's own.
    pub database: Option<Secret>,
}

/// The session to end, as its row named it when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    Backend {
        pid: i32,
        /// The role and start the row showed: a pid the server reused is another session.
        user: String,
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    Kasm {
        kasm_id: String,
        user_id: Option<String>,
    },
}

/// What `--target` names a session by: its backend's pid, or its Kasm id.
pub fn session_key(row: &SessionRow) -> Option<String> {
    match row.fields.get(PID_FIELD) {
        Some(pid) => pid.as_i64().map(|pid| pid.to_string()),
        None => row
            .fields
            .get(KASM_ID_FIELD)
            .and_then(|id| id.as_str())
            .map(str::to_owned),
    }
}

pub(super) fn plan(
    action: &ActionConfig,
    spec: &TerminateSessionAction,
    subject: Subject<'_>,
) -> Result<Plan, Refusal> {
    let Subject::Session(row) = subject else {
        return Err(wrong_row(action, &spec.source, "the sessions"));
    };
    let text = |key: &str| {
        row.fields
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let pid = row
        .fields
        .get(PID_FIELD)
        .and_then(|pid| pid.as_i64())
        .and_then(|pid| i32::try_from(pid).ok());
    let (session, target_name, steps, changes) = match (pid, text(KASM_ID_FIELD)) {
        (Some(pid), _) => (
            Session::Backend {
                pid,
                user: row.user.clone(),
                since: row.since,
            },
            pid.to_string(),
            vec![
                format!(
                    "check on the server that backend {pid} is still {}'s, is not ondeck's own \
                     connection{}",
                    row.user,
                    if spec.allow_superuser {
                        ""
                    } else {
                        " and is not a superuser's"
                    }
                ),
                format!(
                    "SELECT pg_terminate_backend($1) with $1 = {pid}{}",
                    spec.database
                        .as_ref()
                        .map(|url| format!(", as {url}"))
                        .unwrap_or_default()
                ),
                format!(
                    "wait up to {} for it to leave pg_stat_activity",
                    humantime::format_duration(GONE_WITHIN)
                ),
            ],
            format!(
                "{}'s backend {pid} ends: its open transaction is rolled back and its client \
                 disconnected",
                row.user
            ),
        ),
        (None, Some(kasm_id)) => (
            Session::Kasm {
                kasm_id: kasm_id.clone(),
                user_id: text(KASM_USER_ID_FIELD),
            },
            kasm_id.clone(),
            vec![format!(
                "POST /api/public/destroy_kasm to `{}` for session {kasm_id}",
                spec.source
            )],
            format!(
                "{}'s Kasm session {kasm_id} ({}) is destroyed with its container",
                row.user, row.client
            ),
        ),
        (None, None) => {
            return Err(Refusal(format!(
                "the session of {} has no backend pid or Kasm id to end it by",
                row.user
            )));
        }
    };
    let target = Target {
        name: target_name,
        row: Some(row.identity()),
    };
    let detail = json!({ "user": row.user, "client": row.client, "session": target.name });
    let work = Work::TerminateSession(TerminateWork {
        source: spec.source.clone(),
        session,
        allow_superuser: spec.allow_superuser,
        database: spec.database.clone(),
    });
    Ok(Plan {
        steps,
        changes,
        cannot_undo: Some("whatever the session had not saved or committed is lost".to_owned()),
        detail,
        ..Plan::new(action, target, work)
    })
}

/// Ends the session; see the module's documentation.
pub(super) async fn execute(work: &TerminateWork, context: &JobContext<'_>) -> Outcome {
    let source = match context.source(&work.source) {
        Ok(source) => source,
        Err(error) => return Outcome::failed(error),
    };
    let result = match (&work.session, &source.spec) {
        (Session::Backend { pid, user, since }, SourceSpec::Postgres(spec)) => {
            let configured = work.database.as_ref().unwrap_or(&spec.url);
            let Ok(url) = configured.resolve() else {
                return Outcome::failed(format!("the database URL ({configured}) cannot be read"));
            };
            let backend = Backend {
                pid: *pid,
                user,
                since: *since,
            };
            terminate_backend(&url, spec.ca_file.as_deref(), &backend, work, context).await
        }
        (Session::Kasm { kasm_id, user_id }, SourceSpec::Kasm(spec)) => {
            destroy_kasm(spec, source.timeout, kasm_id, user_id.as_deref(), context).await
        }
        _ => Err(format!(
            "the source `{}` is no longer of the kind the session came from",
            work.source
        )),
    };
    match result {
        Ok(detail) => Outcome::succeeded(detail),
        Err(error) => Outcome::failed(error),
    }
}

struct Backend<'a> {
    pid: i32,
    user: &'a str,
    since: Option<chrono::DateTime<chrono::Utc>>,
}

const BACKEND_SQL: &str = "\
SELECT a.usename::text AS usename, a.backend_start, a.application_name,
       coalesce(r.rolsuper, false) AS superuser, pg_backend_pid() AS own_pid
  FROM pg_stat_activity a
  LEFT JOIN pg_roles r ON r.oid = a.usesysid
 WHERE a.pid = $1";

async fn terminate_backend(
    url: &str,
    ca_file: Option<&std::path::Path>,
    backend: &Backend<'_>,
    work: &TerminateWork,
    context: &JobContext<'_>,
) -> Result<serde_json::Value, String> {
    let shown = mask_url(url);
    let options = pg_connect_options(url, ca_file)
        .map_err(|_| format!("the database URL ({shown}) is not a PostgreSQL URL"))?
        .application_name(APPLICATION_NAME);
    let mut connection = PgConnection::connect_with(&options)
        .await
        .map_err(|e| format!("connecting to {shown}: {e}"))?;
    let pid = backend.pid;
    let row = sqlx::query(BACKEND_SQL)
        .bind(pid)
        .fetch_optional(&mut connection)
        .await
        .map_err(|e| format!("reading backend {pid}: {e}"))?
        .ok_or_else(|| format!("backend {pid} is gone already: nothing was terminated"))?;
    let get = |e: sqlx::Error| format!("reading backend {pid}: {e}");
    let user: Option<String> = row.try_get("usename").map_err(get)?;
    let started: Option<chrono::DateTime<chrono::Utc>> =
        row.try_get("backend_start").map_err(get)?;
    let application: Option<String> = row.try_get("application_name").map_err(get)?;
    let superuser: bool = row.try_get("superuser").map_err(get)?;
    let own_pid: i32 = row.try_get("own_pid").map_err(get)?;
    if pid == own_pid || application.as_deref().is_some_and(is_ondeck_application) {
        return Err(format!(
            "refused: backend {pid} is ondeck's own connection; nothing was terminated"
        ));
    }
    let same_session = user.as_deref() == Some(backend.user)
        && (backend.since.is_none() || started == backend.since);
    if !same_session {
        return Err(format!(
            "refused: backend {pid} is no longer the session the plan named ({}'s): the pid \
             was reused; nothing was terminated",
            backend.user
        ));
    }
    if superuser && !work.allow_superuser {
        return Err(format!(
            "refused: backend {pid} is a superuser's ({}); set allow_superuser = true on the \
             action to allow it; nothing was terminated",
            backend.user
        ));
    }
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut connection)
        .await
        .map_err(|e| format!("pg_terminate_backend({pid}): {e}"))?;
    if !terminated {
        return Err(format!(
            "pg_terminate_backend({pid}) returned false: the backend was not signalled"
        ));
    }
    context
        .log(format!("backend {pid} signalled to terminate"))
        .await;
    let deadline = tokio::time::Instant::now() + GONE_WITHIN;
    loop {
        let still_there: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
                .bind(pid)
                .fetch_one(&mut connection)
                .await
                .map_err(|e| format!("checking backend {pid}: {e}"))?;
        if !still_there {
            context.log(format!("backend {pid} is gone")).await;
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "backend {pid} was signalled but is still there after {}",
                humantime::format_duration(GONE_WITHIN)
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = connection.close().await;
    Ok(json!({ "pid": pid, "user": backend.user, "superuser": superuser }))
}

/// The Developer API's `destroy_kasm`, as Kasm documents it: `POST /api/public/destroy_kasm`
/// with the API key and secret and `target_kasm: {kasm_id, user_id}` in the JSON body; an
/// `error_message` in the answer means it was refused.
async fn destroy_kasm(
    spec: &crate::config::KasmSource,
    timeout: Duration,
    kasm_id: &str,
    user_id: Option<&str>,
    context: &JobContext<'_>,
) -> Result<serde_json::Value, String> {
    let endpoint = format!("{}/api/public/destroy_kasm", spec.url.trim_end_matches('/'));
    let shown = mask_url(&endpoint);
    let resolve = |secret: &Secret| {
        secret
            .resolve()
            .map_err(|e| format!("the Kasm API key cannot be read: {e}"))
    };
    let mut target = json!({ "kasm_id": kasm_id });
    if let Some(user_id) = user_id {
        target["user_id"] = json!(user_id);
    }
    let body = json!({
        "api_key": resolve(&spec.api_key)?,
        "api_key_secret": resolve(&spec.api_key_secret)?,
        "target_kasm": target,
    });
    // The body carries the API key: no redirect may take it elsewhere.
    let client = fetch::client(timeout, &Default::default(), fetch::Redirects::Never)
        .map_err(|e| e.to_string())?;
    let fetched = fetch::send(client.post(&endpoint).json(&body), &endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let answer: serde_json::Value = serde_json::from_slice(&fetched.body).unwrap_or_default();
    if let Some(message) = answer.get("error_message").and_then(|m| m.as_str())
        && !message.is_empty()
    {
        return Err(format!(
            "{shown} refused to destroy session {kasm_id}: {message}"
        ));
    }
    fetched
        .require_success(&endpoint)
        .map_err(|e| e.to_string())?;
    context
        .log(format!("Kasm session {kasm_id} destroyed"))
        .await;
    Ok(json!({ "kasm_id": kasm_id }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::config::{ActionKind, ActionSpec, ConfirmPolicy};

    fn configured(allow_superuser: bool) -> (ActionConfig, TerminateSessionAction) {
        let spec = TerminateSessionAction {
            source: "pg".to_owned(),
            allow_superuser,
            database: None,
        };
        let action = ActionConfig {
            name: "kill-backend".to_owned(),
            kind: ActionKind::TerminateSession,
            description: None,
            confirm: ConfirmPolicy::Enter,
            approval_expires: crate::config::DEFAULT_APPROVAL_EXPIRES,
            spec: ActionSpec::TerminateSession(spec.clone()),
        };
        (action, spec)
    }

    fn session(fields: serde_json::Value) -> SessionRow {
        SessionRow {
            source: "pg".to_owned(),
            user: "certhub_api".to_owned(),
            client: "10.0.0.7".to_owned(),
            state: "idle".to_owned(),
            detail: String::new(),
            since: None,
            observed_at: Utc::now(),
            fields: serde_json::from_value::<BTreeMap<String, serde_json::Value>>(fields).unwrap(),
        }
    }

    #[test]
    fn a_backend_is_named_by_its_pid_and_a_kasm_session_by_its_ids() {
        let (action, spec) = configured(false);
        let backend = session(json!({"pid": 4242}));
        assert_eq!(session_key(&backend).as_deref(), Some("4242"));
        let plan = super::plan(&action, &spec, Subject::Session(&backend)).unwrap();
        assert_eq!(plan.target.name, "4242");
        assert!(
            plan.steps[0].contains("not a superuser's"),
            "{:?}",
            plan.steps
        );
        let Work::TerminateSession(work) = &plan.work else {
            panic!("{:?}", plan.work)
        };
        assert!(matches!(work.session, Session::Backend { pid: 4242, .. }));

        let (action, spec) = configured(true);
        let plan = super::plan(&action, &spec, Subject::Session(&backend)).unwrap();
        assert!(!plan.steps[0].contains("superuser"), "{:?}", plan.steps);

        let kasm = session(json!({"kasm_id": "a1b2", "user_id": "u-17"}));
        assert_eq!(session_key(&kasm).as_deref(), Some("a1b2"));
        let plan = super::plan(&action, &spec, Subject::Session(&kasm)).unwrap();
        let Work::TerminateSession(work) = &plan.work else {
            panic!("{:?}", plan.work)
        };
        assert_eq!(
            work.session,
            Session::Kasm {
                kasm_id: "a1b2".to_owned(),
                user_id: Some("u-17".to_owned())
            }
        );
    }

    #[test]
    fn a_session_with_nothing_to_end_it_by_is_refused() {
        let (action, spec) = configured(false);
        let refused =
            super::plan(&action, &spec, Subject::Session(&session(json!({})))).unwrap_err();
        assert!(refused.0.contains("no backend pid or Kasm id"), "{refused}");
    }
}
