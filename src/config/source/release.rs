//! `kind = "release"`: a deploy state from a URL, a file or a command.

use std::path::PathBuf;

use crate::config::diagnostics::{Problems, Table};
use crate::config::expand_tilde;
use crate::config::values::http_url;

#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSource {
    pub from: ReleaseFrom,
    /// Environments to read from the deploy state (`{"prod": {"current_ref": …}}`); empty when
    /// the document describes one environment (`{"current_ref": …, "previous_ref": …}`).
    pub environments: Vec<String>,
    /// Environment variables an `argv` command gets besides [`crate::process::BASE_ENV`]
    /// (`pass_env = ["DEPLOY_TOKEN"]`); it inherits nothing else.
    pub pass_env: Vec<String>,
}

/// Where a deploy state comes from: exactly one of `url`, `file`, `argv`.
#[derive(Debug, Clone, PartialEq)]
pub enum ReleaseFrom {
    Url(String),
    File(PathBuf),
    /// A command's stdout; run directly, never through a shell. A relative program
    /// (`./scripts/state.sh`) is made absolute against the configuration file's directory.
    Argv(Vec<String>),
}

pub(super) fn read_release(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<ReleaseSource> {
    let present: Vec<&str> = ["url", "file", "argv"]
        .into_iter()
        .filter(|k| table.has(k))
        .collect();
    let from = match present.as_slice() {
        ["url"] => http_url(table, problems, "url").map(ReleaseFrom::Url),
        ["file"] => table
            .required_string(problems, "file", "\"/srv/app/deploy-state.json\"")
            .map(|(path, _)| ReleaseFrom::File(expand_tilde(&path))),
        ["argv"] => table
            .string_list(
                problems,
                "argv",
                "a command as a list, e.g. [\"./deploy.py\", \"status\"]",
                true,
            )
            .map(ReleaseFrom::Argv),
        _ => {
            let message = if present.is_empty() {
                "needs where the deploy state comes from: `url`, `file` or `argv`."
            } else {
                "names more than one of `url`, `file`, `argv`: keep one."
            };
            problems.report(table.span(), &table.key_path("url"), message);
            None
        }
    };
    for key in ["url", "file", "argv"] {
        table.value(key);
    }
    let environments = table
        .string_list(
            problems,
            "environments",
            "a list of names such as [\"prod\", \"dev\"]",
            false,
        )
        .unwrap_or_default();
    let pass_env = table
        .string_list(
            problems,
            "pass_env",
            "a list of environment variable names such as [\"DEPLOY_TOKEN\"]",
            false,
        )
        .unwrap_or_default();
    if !pass_env.is_empty() && !matches!(from, Some(ReleaseFrom::Argv(_))) {
        problems.report(
            table.span(),
            &table.key_path("pass_env"),
            "applies to `argv` only (the command's environment): remove it.",
        );
    }
    Some(ReleaseSource {
        from: from?,
        environments,
        pass_env,
    })
}
