use super::format::age;
use super::{Column, Field, Table, Width, or_dash, unknown_last};
use crate::model::SessionRow;
use crate::state::{AppState, Data};

impl Table for SessionRow {
    const COLUMNS: &'static [Column<SessionRow>] = &[
        Column::new(
            "SOURCE",
            Width::fixed(8, 4),
            |_, s| Field::plain(s.source.as_str()),
            |_, a, b| a.source.cmp(&b.source),
        ),
        Column::new(
            "USER",
            Width::grow(9, 1, 9),
            |_, s| Field::plain(s.user.as_str()),
            |_, a, b| a.user.cmp(&b.user),
        ),
        // An address and port (`127.0.0.1:51236`) whole.
        Column::new(
            "CLIENT",
            Width::grow(15, 2, 7),
            |_, s| Field::plain(s.client.as_str()),
            |_, a, b| a.client.cmp(&b.client),
        ),
        Column::new(
            "STATE",
            Width::fixed(8, 6),
            |_, s| Field::plain(s.state.as_str()),
            |_, a, b| a.state.cmp(&b.state),
        ),
        Column::new(
            "DETAIL",
            Width::explains(20, 3, 2),
            |_, s| Field::plain(s.detail.as_str()),
            |_, a, b| a.detail.cmp(&b.detail),
        ),
        Column::measured(
            "SINCE",
            Width::number(6, 5),
            |state, s| or_dash(s.since, |at| age(state.now, at)),
            |_, a, b| unknown_last(a.since, b.since),
        ),
        Column::measured(
            "AGE",
            Width::number(4, 3),
            |state, s| Field::plain(age(state.now, s.observed_at)),
            |_, a, b| b.observed_at.cmp(&a.observed_at),
        ),
    ];
    // Oldest session first.
    const DEFAULT_SORT: (&'static str, bool) = ("SINCE", false);

    fn rows(data: &Data) -> &[SessionRow] {
        &data.sessions
    }

    type TieKey<'a> = &'a str;

    fn tie_key(&self) -> &str {
        &self.user
    }

    fn also_matched(&self) -> &str {
        ""
    }

    fn is_stale(&self, state: &AppState) -> bool {
        state.is_stale(&self.source, self.observed_at)
    }
}
