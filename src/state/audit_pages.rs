//! The store's audit records older than the tail the console refreshes: read a page at a time
//! when the operator scrolls to the oldest record shown, and kept, up to a bound, across the
//! refreshes that replace the tail.

use crate::model::AuditRow;

/// Records read from the store at once.
pub const AUDIT_PAGE: usize = 1_000;
/// Older records kept beside the tail: with the tail's 20,000, a console's audit stays within
/// a few tens of megabytes however far back it is scrolled. Further back is `ondeck audit`.
pub const MAX_OLDER_AUDIT: usize = 20_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct AuditPages {
    /// Records before the tail, oldest first.
    pub older: Vec<AuditRow>,
    /// The seq below which a page was asked for and has not come.
    pub loading: Option<i64>,
    /// The store has no older record, or the bound is reached: nothing more is asked for.
    pub complete: bool,
}

impl AuditPages {
    /// The older records that are not in `tail` (oldest first, as the store reads it), put
    /// before it: what the Audit pane shows of the store.
    pub fn behind(&self, mut tail: Vec<AuditRow>) -> Vec<AuditRow> {
        let Some(first) = tail.iter().map(|row| row.seq).min() else {
            return tail;
        };
        let mut rows: Vec<AuditRow> = self
            .older
            .iter()
            .filter(|row| row.seq < first)
            .cloned()
            .collect();
        rows.append(&mut tail);
        rows
    }

    /// Takes a page read below `before`, oldest first. False when it was not asked for.
    pub fn take(&mut self, before: i64, mut page: Vec<AuditRow>) -> bool {
        if self.loading != Some(before) {
            return false;
        }
        self.loading = None;
        self.complete = page.len() < AUDIT_PAGE;
        page.retain(|row| row.seq < before);
        page.append(&mut self.older);
        self.older = page;
        if self.older.len() >= MAX_OLDER_AUDIT {
            self.complete = true;
        }
        self.bound();
        true
    }

    /// Takes the records that slid out of a refreshed tail (oldest first): once paging has
    /// begun, they are older records too, or the pane would lose them between the two.
    pub fn slid_out(&mut self, mut rows: Vec<AuditRow>) {
        if self.older.is_empty() {
            return;
        }
        let newest = self.older.last().map_or(i64::MIN, |row| row.seq);
        rows.retain(|row| row.seq > newest);
        self.older.append(&mut rows);
        self.bound();
    }

    /// The newest of them stay: they join the tail the operator scrolled from.
    fn bound(&mut self) {
        let excess = self.older.len().saturating_sub(MAX_OLDER_AUDIT);
        self.older.drain(..excess);
    }
}
