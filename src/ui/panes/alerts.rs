use super::{Column, Field};
use crate::config::theme::Role;
use crate::model::Severity;
use crate::state::AppState;
use crate::ui::text;

/// SEVERITY NAME TARGET SINCE SILENCED STATE AGE
///
/// The minimum widths are chosen so that every column but AGE fits the Alerts pane of the
/// smallest dashboard (120 columns): a pending alert must not read as a firing one.
pub(super) const COLUMNS: [Column; 7] = [
    Column::fixed(8, 9),
    Column::grow(14, 2, 9),
    Column::grow(10, 1, 8),
    Column::number(5, 6),
    // A silenced alert must not look like a live one, so SILENCED outlasts STATE.
    Column::fixed(8, 5),
    Column::fixed(7, 4),
    Column::number(4, 3),
];

pub(in crate::ui) fn severity_role(severity: Severity) -> Role {
    match severity {
        Severity::Critical => Role::AlertCritical,
        Severity::Warning => Role::AlertWarning,
        Severity::Info => Role::AlertInfo,
    }
}

pub(super) fn fields(state: &AppState, row: usize) -> (Vec<Field<'_>>, bool) {
    let Some(alert) = state.data.alerts.get(row) else {
        return (Vec::new(), false);
    };
    let fields = vec![
        Field::styled(alert.severity.as_str(), severity_role(alert.severity)),
        Field::plain(alert.name.as_str()),
        Field::plain(alert.target.as_str()),
        Field::plain(
            alert
                .since
                .map_or_else(|| "-".to_owned(), |at| text::age(state.now, at)),
        ),
        if alert.silenced {
            Field::styled("silenced", Role::Silenced)
        } else {
            Field::plain("")
        },
        Field::plain(alert.state.as_str()),
        Field::plain(text::age(state.now, alert.observed_at)),
    ];
    (fields, state.is_stale(&alert.source, alert.observed_at))
}
