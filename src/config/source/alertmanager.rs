//! `kind = "alertmanager"`: one or more instances.

use crate::config::diagnostics::{Problems, Table};
use crate::config::values::url_list;

/// One or more instances (`url` or `urls`), deduplicated by alert fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerSource {
    pub urls: Vec<String>,
}

pub(super) fn read_alertmanager(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<AlertmanagerSource> {
    url_list(table, problems).map(|urls| AlertmanagerSource { urls })
}
