use super::format::age;
use super::{Column, Field, Table, Width, or_dash, unknown_last};
use crate::config::theme::Role;
use crate::model::{AlertRow, Severity};
use crate::state::{AppState, Data};

pub fn severity_role(severity: Severity) -> Role {
    match severity {
        Severity::Critical => Role::AlertCritical,
        Severity::Warning => Role::AlertWarning,
        Severity::Info => Role::AlertInfo,
    }
}

/// The minimum widths are chosen so that severity, name, target, since and state fit the
/// Alerts pane of the smallest dashboard (120 columns): a pending or silenced alert must not
/// read as a firing one. From 80 columns on, the summary says why, with all the room left.
impl Table for AlertRow {
    const COLUMNS: &'static [Column<AlertRow>] = &[
        Column::new(
            "SEVERITY",
            Width::fixed(8, 9),
            |_, a| Field::styled(a.severity.as_str(), severity_role(a.severity)),
            |_, a, b| a.severity.cmp(&b.severity).then(a.state.cmp(&b.state)),
        ),
        Column::new(
            "NAME",
            Width::grow(14, 1, 9),
            |_, a| Field::plain(a.name.as_str()),
            |_, a, b| a.name.cmp(&b.name),
        ),
        Column::new(
            "TARGET",
            Width::grow(10, 1, 8),
            |_, a| Field::plain(a.target.as_str()),
            |_, a, b| a.target.cmp(&b.target),
        ),
        Column::new(
            "SUMMARY",
            Width::explains(16, 6, 5),
            |_, a| Field::plain(a.summary.as_str()),
            |_, a, b| a.summary.cmp(&b.summary),
        ),
        Column::measured(
            "SINCE",
            Width::number(5, 6),
            |state, a| or_dash(a.since, |at| age(state.now, at)),
            |_, a, b| unknown_last(a.since, b.since),
        ),
        // Silenced is a state of its own on screen: a silenced alert must not look live.
        Column::new(
            "STATE",
            Width::fixed(8, 8),
            |_, a| {
                if a.silenced {
                    Field::styled("silenced", Role::Silenced)
                } else {
                    Field::plain(a.state.as_str())
                }
            },
            |_, a, b| a.silenced.cmp(&b.silenced).then(a.state.cmp(&b.state)),
        ),
        Column::measured(
            "AGE",
            Width::number(4, 3),
            |state, a| Field::plain(age(state.now, a.observed_at)),
            |_, a, b| b.observed_at.cmp(&a.observed_at),
        ),
    ];
    // Most severe first.
    const DEFAULT_SORT: (&'static str, bool) = ("SEVERITY", false);

    fn rows(data: &Data) -> &[AlertRow] {
        &data.alerts
    }

    type TieKey<'a> = (&'a str, &'a str);

    fn tie_key(&self) -> (&str, &str) {
        (&self.name, &self.target)
    }

    fn also_matched(&self) -> &str {
        &self.source
    }

    fn is_stale(&self, state: &AppState) -> bool {
        state.is_stale(&self.source, self.observed_at)
    }
}
