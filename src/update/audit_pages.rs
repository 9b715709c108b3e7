//! The Audit pane reaching back past the store's tail: at its oldest row, a page of older
//! records is asked for, and what comes is kept across the store's refreshes.

use crate::model::AuditRow;
use crate::msg::Effect;
use crate::state::{AppState, Pane};
use crate::store::STORE_SOURCE;

/// After a move in a pane: on the Audit pane's oldest row, newest first, the page before it.
pub(super) fn at_oldest(state: &mut AppState) -> Vec<Effect> {
    let pages = &state.audit_pages;
    if state.focus != Pane::Audit || pages.loading.is_some() || pages.complete {
        return Vec::new();
    }
    let view = state.view(Pane::Audit);
    let newest_first = view.sort_desc
        && crate::columns::heads(Pane::Audit)
            .get(view.sort_column)
            .is_some_and(|column| column.header == "TIME");
    if !newest_first || view.selected + 1 < view.rows.len() {
        return Vec::new();
    }
    let Some(before) = oldest_store_seq(state) else {
        return Vec::new();
    };
    state.audit_pages.loading = Some(before);
    vec![Effect::LoadAuditPage { before }]
}

/// A page read below `before`: its records join the store's in the Audit pane.
pub(super) fn on_page(state: &mut AppState, before: i64, page: Result<Vec<AuditRow>, String>) {
    match page {
        Ok(page) => {
            if !state.audit_pages.take(before, page) {
                return;
            }
            let held: Vec<AuditRow> = store_rows(state).cloned().collect();
            let rows = state.audit_pages.behind(held);
            if state.data.audit.replace(STORE_SOURCE, rows) {
                state.mark_outdated(Pane::Audit);
            }
        }
        Err(error) => {
            state.audit_pages.loading = None;
            state.notice = Some(format!("older audit records not read: {error}"));
        }
    }
    state.dirty = true;
}

/// A refreshed tail from the store, with the older records read before behind it.
pub(super) fn with_older(state: &mut AppState, tail: Vec<AuditRow>) -> Vec<AuditRow> {
    if state.audit_pages.older.is_empty() {
        return tail;
    }
    let first = tail.iter().map(|row| row.seq).min().unwrap_or(i64::MAX);
    let mut slid: Vec<AuditRow> = store_rows(state)
        .filter(|row| row.seq < first)
        .cloned()
        .collect();
    slid.sort_by_key(|row| row.seq);
    state.audit_pages.slid_out(slid);
    state.audit_pages.behind(tail)
}

fn store_rows(state: &AppState) -> impl Iterator<Item = &AuditRow> {
    state
        .data
        .audit
        .iter()
        .filter(|row| row.source == STORE_SOURCE)
}

fn oldest_store_seq(state: &AppState) -> Option<i64> {
    store_rows(state).map(|row| row.seq).min()
}
