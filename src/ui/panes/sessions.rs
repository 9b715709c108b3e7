use super::{Column, Field};
use crate::state::AppState;
use crate::ui::text;

/// SOURCE USER CLIENT STATE DETAIL SINCE AGE
pub(super) const COLUMNS: [Column; 7] = [
    Column::fixed(8, 4),
    Column::grow(9, 1, 9),
    // An address and port (`127.0.0.1:51236`) whole.
    Column::grow(15, 2, 7),
    Column::fixed(8, 6),
    Column::grow(20, 3, 2),
    Column::number(6, 5),
    Column::number(4, 3),
];

pub(super) fn fields(state: &AppState, row: usize) -> (Vec<Field<'_>>, bool) {
    let Some(session) = state.data.sessions.get(row) else {
        return (Vec::new(), false);
    };
    let fields = vec![
        Field::plain(session.source.as_str()),
        Field::plain(session.user.as_str()),
        Field::plain(session.client.as_str()),
        Field::plain(session.state.as_str()),
        Field::plain(session.detail.as_str()),
        Field::plain(
            session
                .since
                .map_or_else(|| "-".to_owned(), |at| text::age(state.now, at)),
        ),
        Field::plain(text::age(state.now, session.observed_at)),
    ];
    (fields, state.is_stale(&session.source, session.observed_at))
}
