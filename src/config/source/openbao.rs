//! `kind = "openbao"` (or `vault`): the health of each node.

use crate::config::diagnostics::{Problems, Table};
use crate::config::values::url_list;

/// One or more nodes (`url` or `urls`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBaoSource {
    pub urls: Vec<String>,
    /// Whether a standby node (health 429, 472, 473) is up. Off by default: only the active node
    /// answers 200, and a lone node that stopped being active is a problem; an HA cluster whose
    /// standbys are expected turns it on.
    pub standby_ok: bool,
}

pub(super) fn read_openbao(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<OpenBaoSource> {
    let standby_ok = table.bool(problems, "standby_ok").unwrap_or(false);
    url_list(table, problems).map(|urls| OpenBaoSource { urls, standby_ok })
}
