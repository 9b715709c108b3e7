use chrono::{Datelike, Timelike};

use super::{Column, Field, Table, Width, outcome};
use crate::model::AuditRow;
use crate::state::{AppState, Data};

/// The audit log spans days, so the date is part of the time: `11-20 14:05:00`.
fn time(record: &AuditRow) -> String {
    let t = record.time;
    format!(
        "{:02}-{:02} {:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl Table for AuditRow {
    const COLUMNS: &'static [Column<AuditRow>] = &[
        Column::measured(
            "TIME",
            Width::fixed(14, 9),
            |_, r| Field::plain(time(r)),
            |_, a, b| a.time.cmp(&b.time).then(a.seq.cmp(&b.seq)),
        ),
        Column::new(
            "OPERATOR",
            Width::fixed(8, 6),
            |_, r| Field::plain(r.operator.as_str()),
            |_, a, b| a.operator.cmp(&b.operator),
        ),
        Column::new(
            "ACTION",
            Width::grow(18, 2, 9),
            |_, r| Field::plain(r.action.as_str()),
            |_, a, b| a.action.cmp(&b.action),
        ),
        Column::new(
            "TARGET",
            Width::grow(10, 1, 8),
            |_, r| Field::plain(r.target.as_str()),
            |_, a, b| a.target.cmp(&b.target),
        ),
        Column::new(
            "OUTCOME",
            Width::fixed(9, 7),
            |_, r| outcome(&r.outcome),
            |_, a, b| a.outcome.cmp(&b.outcome),
        ),
        Column::new(
            "REQUEST ID",
            Width::grow(12, 1, 4),
            |_, r| Field::plain(r.request_id.as_str()),
            |_, a, b| a.request_id.cmp(&b.request_id),
        ),
    ];
    // Newest record first.
    const DEFAULT_SORT: (&'static str, bool) = ("TIME", true);

    fn rows(data: &Data) -> &[AuditRow] {
        &data.audit
    }

    type TieKey<'a> = i64;

    fn tie_key(&self) -> i64 {
        self.seq
    }

    fn also_matched(&self) -> &str {
        ""
    }

    // Audit records are history, not a live reading: they never go stale.
    fn is_stale(&self, _: &AppState) -> bool {
        false
    }
}
