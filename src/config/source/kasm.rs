//! `kind = "kasm"`: Kasm Workspaces sessions.

use crate::config::diagnostics::{Problems, Table};
use crate::config::secret::{Secret, SecretKind};
use crate::config::values::{http_url, secret};

#[derive(Debug, Clone, PartialEq)]
pub struct KasmSource {
    pub url: String,
    pub api_key: Secret,
    pub api_key_secret: Secret,
    /// Alert above this many active sessions. Default 5 (the runbook's limit).
    pub session_limit: u32,
}

pub(super) fn read_kasm(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<KasmSource> {
    let url = http_url(table, problems, "url");
    let api_key = secret(table, problems, "api_key", SecretKind::Token);
    let api_key_secret = secret(table, problems, "api_key_secret", SecretKind::Token);
    let session_limit = table
        .integer(
            problems,
            "session_limit",
            0..=100_000,
            "a number of sessions such as 5",
        )
        .map_or(5, |n| n as u32);
    Some(KasmSource {
        url: url?,
        api_key: api_key?,
        api_key_secret: api_key_secret?,
        session_limit,
    })
}
