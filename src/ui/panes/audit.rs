use chrono::{Datelike, Timelike};

use super::{Column, Field, outcome_role};
use crate::state::AppState;

/// TIME OPERATOR ACTION TARGET OUTCOME REQUEST ID
pub(super) const COLUMNS: [Column; 6] = [
    Column::fixed(14, 9),
    Column::fixed(8, 6),
    Column::grow(18, 2, 9),
    Column::grow(10, 1, 8),
    Column::fixed(9, 7),
    Column::grow(12, 1, 4),
];

pub(super) fn fields(state: &AppState, row: usize) -> (Vec<Field<'_>>, bool) {
    let Some(record) = state.data.audit.get(row) else {
        return (Vec::new(), false);
    };
    // The audit log spans days, so the date is part of the time.
    let t = record.time;
    let time = format!(
        "{:02}-{:02} {:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let outcome = match outcome_role(&record.outcome) {
        Some(role) => Field::styled(record.outcome.as_str(), role),
        None => Field::plain(record.outcome.as_str()),
    };
    let fields = vec![
        Field::plain(time),
        Field::plain(record.operator.as_str()),
        Field::plain(record.action.as_str()),
        Field::plain(record.target.as_str()),
        outcome,
        Field::plain(record.request_id.as_str()),
    ];
    // Audit records are history, not a live reading: they never go stale.
    (fields, false)
}
