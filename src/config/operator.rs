//! `[[operator]]`: what ondeck knows of an operator beyond their OS account — the secret their
//! TOTP codes are checked against, for actions confirmed by `totp`.

use std::collections::BTreeMap;

use super::diagnostics::{Problems, Table};
use super::secret::{Secret, SecretKind};
use super::values::{read_name, secret};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorConfig {
    /// The OS account the operator logs in as: who ondeck takes them for (the self-declared
    /// `[console] operator` label names no one).
    pub name: String,
    /// The base32 secret of their authenticator app (RFC 6238), from `env:` or `file:` only.
    pub totp_secret: Secret,
}

pub(super) fn read_operator(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
) -> Option<OperatorConfig> {
    let name = read_name(table, problems, names, "operator", &[]);
    let totp_secret = secret(table, problems, "totp_secret", SecretKind::Token);
    table.finish(problems, "an [[operator]]");
    Some(OperatorConfig {
        name: name?,
        totp_secret: totp_secret?,
    })
}
