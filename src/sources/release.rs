//! The `release` source: which release runs in each environment and which ran before it, read
//! from a deploy-state document — a URL, a file, or the standard output of a command.
//!
//! The document describes one environment:
//!
//! ```json
//! {"current_ref": "v2.4.1", "previous_ref": "v2.4.0", "deployed_at": "2025-05-02T09:14:00Z", "deployed_by": "ana"}
//! ```
//!
//! or several, keyed by name, of which `environments` picks the ones to show:
//!
//! ```json
//! {"prod": {"current_ref": "v2.4.1", "previous_ref": "v2.4.0"}, "dev": {"current_ref": "main-8f3e2a1"}}
//! ```
//!
//! Each environment becomes a host row (kind `release`, `version` = the current release) whose
//! fields keep both refs, so the rollback action finds its target in the row
//! ([`HostRow::rollback_target`]). A command runs through [`crate::process`]: directly, never
//! through a shell, with only the environment it is given, and killed with its children if the
//! poll times out; whatever it prints beyond [`fetch::MAX_BODY_BYTES`] is refused, like an
//! oversized HTTP answer.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::fetch::{self, MAX_BODY_BYTES};
use super::{Poller, SourceError};
use crate::config::{ReleaseFrom, ReleaseSource, mask_url};
use crate::model::{HostRow, HostStatus, Observation, host_fields};
use crate::process;

/// Reads one deploy state.
#[derive(Debug)]
pub struct ReleasePoller {
    source: String,
    spec: ReleaseSource,
    timeout: Duration,
    /// Used for `url` only; shared, so each request carries `timeout`.
    client: reqwest::Client,
    /// Whether the deploy state has been read yet (see [`Poller::unanswered`]).
    answered: bool,
}

impl ReleasePoller {
    pub fn new(
        source: &str,
        spec: ReleaseSource,
        timeout: Duration,
        client: reqwest::Client,
    ) -> ReleasePoller {
        ReleasePoller {
            source: source.to_owned(),
            spec,
            timeout,
            client,
            answered: false,
        }
    }

    async fn read_state(&self) -> Result<Vec<u8>, SourceError> {
        match &self.spec.from {
            ReleaseFrom::Url(url) => {
                let request = self.client.get(url).timeout(self.timeout);
                Ok(fetch::send(request, url).await?.require_success(url)?.body)
            }
            ReleaseFrom::File(path) => read_file(path).await,
            ReleaseFrom::Argv(argv) => run(argv, &self.spec.pass_env).await,
        }
    }
}

impl Poller for ReleasePoller {
    async fn poll(&mut self) -> Result<Observation, SourceError> {
        let bytes = self.read_state().await?;
        let document: Value =
            serde_json::from_slice(&bytes).map_err(|e| SourceError::BadResponse {
                what: format!("deploy state from {}", origin(&self.spec.from)),
                reason: e.to_string(),
            })?;
        let hosts = release_rows(&self.source, &self.spec.environments, &document, Utc::now())
            .map_err(|reason| SourceError::BadResponse {
                what: format!("deploy state from {}", origin(&self.spec.from)),
                reason,
            })?;
        self.answered = true;
        Ok(Observation {
            hosts,
            ..Observation::default()
        })
    }

    /// Until the deploy state is first read, each environment (or the one the source stands
    /// for) is down with the reason; afterwards the last rows, with the rollback targets in
    /// them, stay and turn stale.
    fn unanswered(&mut self, error: &SourceError, now: DateTime<Utc>) -> Option<Observation> {
        if self.answered || matches!(error, SourceError::Setup(_)) {
            return None;
        }
        let reason = error.to_string();
        let names = if self.spec.environments.is_empty() {
            std::slice::from_ref(&self.source)
        } else {
            self.spec.environments.as_slice()
        };
        let hosts = names
            .iter()
            .map(|name| HostRow {
                fields: BTreeMap::from([(host_fields::REASON.to_owned(), json!(reason))]),
                ..HostRow::checked(
                    &self.source,
                    name.as_str(),
                    "release",
                    HostStatus::Down,
                    now,
                )
            })
            .collect();
        Some(Observation {
            hosts,
            ..Observation::default()
        })
    }
}

/// Where the state comes from, for messages: a URL without its password, a path, or the
/// program only (arguments may carry a token).
fn origin(from: &ReleaseFrom) -> String {
    match from {
        ReleaseFrom::Url(url) => mask_url(url),
        ReleaseFrom::File(path) => path.display().to_string(),
        ReleaseFrom::Argv(argv) => match argv.first() {
            Some(program) => format!("`{program}`"),
            None => "an empty command".to_owned(),
        },
    }
}

/// One environment's deploy state as the document gives it.
#[derive(Debug, Deserialize)]
struct DeployState {
    current_ref: String,
    #[serde(default)]
    previous_ref: Option<String>,
    #[serde(default)]
    deployed_at: Option<String>,
    #[serde(default)]
    deployed_by: Option<String>,
}

/// The host rows a deploy-state document describes: one named after the source when
/// `environments` is empty (the document is one environment), else one per listed environment,
/// named after it. The error says what is missing and how to fix the configuration.
pub fn release_rows(
    source: &str,
    environments: &[String],
    document: &Value,
    now: DateTime<Utc>,
) -> Result<Vec<HostRow>, String> {
    if environments.is_empty() {
        if document.get("current_ref").is_none() {
            return Err(match environment_names(document) {
                Some(names) => format!(
                    "no `current_ref` at the top level; it looks like one entry per environment: set environments = [{names}]"
                ),
                None => "no `current_ref` at the top level".to_owned(),
            });
        }
        let state = parse_state(document).map_err(|e| format!("{e}"))?;
        return Ok(vec![release_row(source, source, None, state, now)]);
    }
    environments
        .iter()
        .map(|environment| {
            let entry = document.get(environment).ok_or_else(|| {
                let present = environment_names(document).unwrap_or_default();
                format!("no environment `{environment}` (present: {present})")
            })?;
            let state = parse_state(entry).map_err(|e| format!("`{environment}`: {e}"))?;
            Ok(release_row(
                source,
                environment,
                Some(environment),
                state,
                now,
            ))
        })
        .collect()
}

fn parse_state(value: &Value) -> Result<DeployState, serde_json::Error> {
    DeployState::deserialize(value)
}

/// The keys of a document whose values are objects holding a `current_ref`, quoted for a
/// configuration line; `None` when there are none.
fn environment_names(document: &Value) -> Option<String> {
    let names: Vec<String> = document
        .as_object()?
        .iter()
        .filter(|(_, entry)| entry.get("current_ref").is_some())
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn release_row(
    source: &str,
    name: &str,
    environment: Option<&str>,
    state: DeployState,
    now: DateTime<Utc>,
) -> HostRow {
    let mut fields = BTreeMap::from([(
        host_fields::CURRENT_REF.to_owned(),
        json!(state.current_ref),
    )]);
    let optional = [
        ("environment", environment.map(str::to_owned)),
        (host_fields::PREVIOUS_REF, state.previous_ref),
        ("deployed_at", state.deployed_at),
        ("deployed_by", state.deployed_by),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            fields.insert(key.to_owned(), json!(value));
        }
    }
    HostRow {
        version: Some(state.current_ref),
        fields,
        ..HostRow::checked(source, name, "release", HostStatus::Up, now)
    }
}

async fn read_file(path: &Path) -> Result<Vec<u8>, SourceError> {
    let failed = |e: std::io::Error| SourceError::Read {
        what: format!("reading deploy state {}", path.display()),
        reason: e.to_string(),
    };
    let file = tokio::fs::File::open(path).await.map_err(failed)?;
    process::read_capped(file, MAX_BODY_BYTES)
        .await
        .map_err(failed)?
        .ok_or(SourceError::TooLarge(MAX_BODY_BYTES))
}

/// Runs `argv` and returns its standard output. Dropping the future — the supervisor's
/// timeout — kills the command and everything it started.
async fn run(argv: &[String], pass_env: &[String]) -> Result<Vec<u8>, SourceError> {
    let command = process::Command {
        argv,
        set_env: &[],
        pass_env,
        cwd: None,
    };
    let output = process::run(command, MAX_BODY_BYTES)
        .await
        .map_err(|error| match error {
            process::ProcessError::TooLarge { limit, .. } => SourceError::TooLarge(limit),
            process::ProcessError::Empty => {
                SourceError::Setup("`argv` is empty: name the command to run".into())
            }
            process::ProcessError::Start { program, source } => SourceError::Read {
                what: format!("starting `{program}`"),
                reason: source.to_string(),
            },
            process::ProcessError::Output { program, source } => SourceError::Read {
                what: format!("reading the output of `{program}`"),
                reason: source.to_string(),
            },
        })?;
    if !output.status.success() {
        return Err(SourceError::Read {
            what: format!(
                "{} {}",
                origin(&ReleaseFrom::Argv(argv.to_vec())),
                output.status
            ),
            reason: output
                .stderr_first_line
                .unwrap_or_else(|| "no error output".to_owned()),
        });
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn one_environment_is_named_after_the_source() {
        let document = json!({
            "current_ref": "v2.4.1",
            "previous_ref": "v2.4.0",
            "deployed_at": "2025-05-02T09:14:00Z",
            "deployed_by": "ana"
        });
        let rows = release_rows("deploy-prod", &[], &document, now()).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.source.as_str(), row.name.as_str(), row.kind.as_str()),
            ("deploy-prod", "deploy-prod", "release")
        );
        assert_eq!(row.status, HostStatus::Up);
        assert_eq!(row.version.as_deref(), Some("v2.4.1"));
        assert_eq!(row.observed_at, now());
        assert_eq!(row.fields["previous_ref"], json!("v2.4.0"));
        assert_eq!(row.fields["deployed_at"], json!("2025-05-02T09:14:00Z"));
        assert_eq!(row.fields["deployed_by"], json!("ana"));
        assert!(!row.fields.contains_key("environment"));
        assert_eq!(
            row.rollback_target(),
            Some(("v2.4.1".to_owned(), "v2.4.0".to_owned()))
        );
    }

    #[test]
    fn listed_environments_become_one_row_each() {
        let document = json!({
            "prod": {"current_ref": "v2.4.1", "previous_ref": "v2.4.0"},
            "dev": {"current_ref": "main-8f3e2a1"},
            "scratch": {"current_ref": "x"}
        });
        let environments = vec!["prod".to_owned(), "dev".to_owned()];
        let rows = release_rows("deploys", &environments, &document, now()).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["prod", "dev"]);
        assert_eq!(rows[0].fields["environment"], json!("prod"));
        assert_eq!(rows[1].version.as_deref(), Some("main-8f3e2a1"));
        assert_eq!(
            rows[1].rollback_target(),
            None,
            "dev has no previous release"
        );
    }

    #[test]
    fn a_missing_environment_names_the_ones_present() {
        let document = json!({"prod": {"current_ref": "a"}, "dev": {"current_ref": "b"}});
        let error = release_rows("d", &["staging".to_owned()], &document, now()).unwrap_err();
        assert_eq!(
            error,
            r#"no environment `staging` (present: "dev", "prod")"#
        );
        let error = release_rows("d", &[], &document, now()).unwrap_err();
        assert_eq!(
            error,
            r#"no `current_ref` at the top level; it looks like one entry per environment: set environments = ["dev", "prod"]"#
        );
    }

    #[test]
    fn a_malformed_state_says_what_is_wrong() {
        let error = release_rows("d", &[], &json!({"current_ref": 7}), now()).unwrap_err();
        assert!(error.starts_with("invalid type: integer `7`"), "{error}");
        let document = json!({"prod": {"previous_ref": "a"}});
        let error = release_rows("d", &["prod".to_owned()], &document, now()).unwrap_err();
        assert_eq!(error, "`prod`: missing field `current_ref`");
    }

    #[test]
    fn arguments_stay_out_of_messages() {
        let from = ReleaseFrom::Argv(vec!["./deploy.py".into(), "--token=s3cret".into()]);
        assert_eq!(origin(&from), "`./deploy.py`");
        let from = ReleaseFrom::Url("https://ci:pw@deploy.example.com/state".into());
        assert!(!origin(&from).contains("pw@"));
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing::{self, json_body};

        proptest! {
            #![proptest_config(fuzzing::config())]

            /// A deploy-state document, one environment or several, becomes rows or a reason.
            #[test]
            fn fuzz_deploy_state(
                body in prop_oneof![
                    json_body(json!({"current_ref": "v1.4.2", "previous_ref": "v1.4.1",
                        "deployed_at": "2026-11-20T10:00:00Z", "deployed_by": "alice"})),
                    json_body(json!({"prod": {"current_ref": "v1.4.2", "previous_ref": "v1.4.1"},
                        "staging": {"current_ref": "v1.5.0-rc1"}})),
                ],
                environments in prop_oneof![
                    Just(Vec::new()),
                    Just(vec!["prod".to_owned(), "staging".to_owned()]),
                    prop::collection::vec("\\PC{0,8}", 0..3),
                ],
            ) {
                let Ok(document) = serde_json::from_slice::<Value>(&body) else {
                    return Ok(());
                };
                if let Err(reason) = release_rows("deploy", &environments, &document, now()) {
                    prop_assert!(!reason.trim().is_empty());
                }
            }
        }
    }
}
