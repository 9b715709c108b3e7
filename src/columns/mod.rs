//! Every pane's columns, one descriptor each: header, width, cell and sort key.
//!
//! The table drawing, the sort and the filter in `update`, and `s` (which cycles through the
//! columns on screen) all read these descriptors, so a column is added, moved or dropped in
//! one place, and a column's position is only ever an index into its own pane's list.

mod alerts;
mod audit;
pub mod format;
mod hosts;
mod jobs;
mod sessions;

pub use alerts::severity_role;
pub use hosts::status_role;

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::config::theme::Role;
use crate::model::{AlertRow, AuditRow, HostRow, JobRow, SessionRow};
use crate::state::{AppState, Data, Pane};

/// How wide a column is and how it gives way. When a pane is too narrow for every column, the
/// least important (lowest `keep`) go first, so a narrow pane shows whole values rather than
/// stubs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Width {
    /// Width below which values would be cut; the header's width counts too.
    pub min: u16,
    /// Share of the width left over once every shown column has its minimum; 0 for none.
    pub grow: u16,
    /// How far past `min` the column grows.
    pub max_growth: u16,
    pub keep: u8,
    /// Right-aligned, for numbers.
    pub right: bool,
}

/// Growing columns stop this far past their minimum; wider, the eye loses the row. Columns
/// that explain a row (an alert's summary, a session's detail) have no such limit: what is
/// left of a wide screen goes to them.
const MAX_GROWTH: u16 = 24;

impl Width {
    pub const fn fixed(min: u16, keep: u8) -> Width {
        Width {
            min,
            grow: 0,
            max_growth: 0,
            keep,
            right: false,
        }
    }

    pub const fn grow(min: u16, grow: u16, keep: u8) -> Width {
        Width {
            min,
            grow,
            max_growth: MAX_GROWTH,
            keep,
            right: false,
        }
    }

    /// A column that says why a row is what it is: it takes every column the others leave.
    pub const fn explains(min: u16, grow: u16, keep: u8) -> Width {
        Width {
            min,
            grow,
            max_growth: u16::MAX,
            keep,
            right: false,
        }
    }

    /// Right-aligned, for numbers.
    pub const fn number(min: u16, keep: u8) -> Width {
        Width {
            min,
            grow: 0,
            max_growth: 0,
            keep,
            right: true,
        }
    }
}

/// One cell's text and the theme role it is drawn in (`None`: the row's style).
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    pub text: Cow<'a, str>,
    pub role: Option<Role>,
}

impl<'a> Field<'a> {
    pub fn plain(text: impl Into<Cow<'a, str>>) -> Field<'a> {
        Field {
            text: text.into(),
            role: None,
        }
    }

    pub fn styled(text: impl Into<Cow<'a, str>>, role: Role) -> Field<'a> {
        Field {
            text: text.into(),
            role: Some(role),
        }
    }
}

/// A cell's text and style from the state and one row.
pub type Cell<R> = for<'a> fn(&'a AppState, &'a R) -> Field<'a>;
/// How two rows compare on a column, ascending.
pub type SortKey<R> = fn(&AppState, &R, &R) -> Ordering;
/// A column's order as one number per row, ascending: for a column whose comparison is dear
/// (a host's status looks its source up to know whether it is stale), worked out once per row
/// and sort rather than twice per comparison — 10,000 hosts take some 280,000 comparisons. Made
/// once per sort, so it can keep what rows share (their source's staleness) between rows.
pub type Rank<R> = for<'s> fn(&'s AppState) -> Box<dyn FnMut(&R) -> i64 + 's>;

/// One column of a pane whose rows are `R`.
pub struct Column<R: 'static> {
    pub header: &'static str,
    pub width: Width,
    pub cell: Cell<R>,
    pub sort: SortKey<R>,
    /// When set, orders as `sort` does, but ranked once per row (see [`Rank`]).
    pub rank: Option<Rank<R>>,
    /// Whether the filter matches this cell's text. Values that move with the clock or with
    /// every poll (ages, percentages) are not matched: a row would leave a filter as it ages.
    pub filtered: bool,
}

impl<R> Column<R> {
    pub const fn new(header: &'static str, width: Width, cell: Cell<R>, sort: SortKey<R>) -> Self {
        Column {
            header,
            width,
            cell,
            sort,
            rank: None,
            filtered: true,
        }
    }

    /// The same column, sorted by ranking each row once; `rank` must order as `sort` does.
    pub const fn ranked(self, rank: Rank<R>) -> Self {
        Column {
            rank: Some(rank),
            ..self
        }
    }

    /// A column of measurements or ages, which the filter does not match.
    pub const fn measured(
        header: &'static str,
        width: Width,
        cell: Cell<R>,
        sort: SortKey<R>,
    ) -> Self {
        Column {
            filtered: false,
            ..Column::new(header, width, cell, sort)
        }
    }
}

/// The rows of one pane and their columns.
pub trait Table: Sized + 'static {
    const COLUMNS: &'static [Column<Self>];
    /// The column a pane is sorted by at start, by header, and whether descending.
    const DEFAULT_SORT: (&'static str, bool);
    fn rows(data: &Data) -> &[Self];
    /// What orders rows whose sort keys are equal, so the order never depends on arrival.
    type TieKey<'a>: Ord;
    fn tie_key(&self) -> Self::TieKey<'_>;
    /// What the filter matches besides the cells: the row's source, or a job's whole id.
    fn also_matched(&self) -> &str;
    /// Whether the row's data is too old to be trusted; a stale row is drawn dimmed.
    fn is_stale(&self, state: &AppState) -> bool;
}

/// Runs `$body` with `$table` standing for the row type of `$pane`.
macro_rules! with_table {
    ($pane:expr, $table:ident => $body:expr) => {
        match $pane {
            Pane::Hosts => {
                type $table = HostRow;
                $body
            }
            Pane::Sessions => {
                type $table = SessionRow;
                $body
            }
            Pane::Jobs => {
                type $table = JobRow;
                $body
            }
            Pane::Alerts => {
                type $table = AlertRow;
                $body
            }
            Pane::Audit => {
                type $table = AuditRow;
                $body
            }
        }
    };
}

/// A column's header and width, whatever the pane's row type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub header: &'static str,
    pub width: Width,
}

/// The headers and widths of a pane's columns, in display order.
pub fn heads(pane: Pane) -> Vec<Head> {
    with_table!(pane, T => T::COLUMNS
        .iter()
        .map(|c| Head {
            header: c.header,
            width: c.width,
        })
        .collect())
}

/// The sort a pane starts with: (column, descending).
pub fn default_sort(pane: Pane) -> (usize, bool) {
    with_table!(pane, T => {
        let (header, descending) = T::DEFAULT_SORT;
        let column = T::COLUMNS.iter().position(|c| c.header == header).unwrap_or(0);
        (column, descending)
    })
}

/// One row's cells in display order and whether its data is stale; `None` for no such row.
pub fn cells(state: &AppState, pane: Pane, row: usize) -> Option<(Vec<Field<'_>>, bool)> {
    with_table!(pane, T => {
        let row = T::rows(&state.data).get(row)?;
        let cells = T::COLUMNS.iter().map(|c| (c.cell)(state, row)).collect();
        Some((cells, row.is_stale(state)))
    })
}

/// How rows `a` and `b` of `pane` compare on `column`, ties broken the pane's way.
pub fn compare(state: &AppState, pane: Pane, column: usize, a: usize, b: usize) -> Ordering {
    with_table!(pane, T => {
        let rows = T::rows(&state.data);
        let (Some(x), Some(y)) = (rows.get(a), rows.get(b)) else {
            return Ordering::Equal;
        };
        T::COLUMNS
            .get(column)
            .map_or(Ordering::Equal, |c| (c.sort)(state, x, y))
            .then_with(|| Ord::cmp(&x.tie_key(), &y.tie_key()))
    })
}

/// Sort `rows` (indices into `pane`'s rows) by `column`, ties broken the pane's way and then by
/// index, the whole order reversed when `descending` (the index stays ascending).
///
/// No two rows compare equal, so the result does not depend on the order `rows` come in; the
/// sort is quickest when they come nearly sorted, as they do in the last view's order (a poll
/// moves few rows): it then mostly confirms runs already in order.
pub fn sort(state: &AppState, pane: Pane, column: usize, descending: bool, rows: &mut Vec<usize>) {
    let direct = |order: Ordering| if descending { order.reverse() } else { order };
    with_table!(pane, T => {
        let data = T::rows(&state.data);
        let Some(rank) = T::COLUMNS.get(column).and_then(|c| c.rank) else {
            rows.sort_by(|&a, &b| direct(compare(state, pane, column, a, b)).then(a.cmp(&b)));
            return;
        };
        // Each row's whole key worked out once and laid side by side: comparing keys then
        // reads neither the rows nor the sources.
        let mut rank = rank(state);
        let mut keyed: Vec<_> = rows
            .iter()
            .filter_map(|&i| data.get(i).map(|row| (rank(row), row.tie_key(), i)))
            .collect();
        keyed.sort_by(|(rank_a, tie_a, a), (rank_b, tie_b, b)| {
            direct(rank_a.cmp(rank_b).then_with(|| tie_a.cmp(tie_b))).then(a.cmp(b))
        });
        rows.clear();
        rows.extend(keyed.into_iter().map(|(_, _, i)| i));
    })
}

/// The text a filter matches against, lower-cased: the cells that do not move with the clock,
/// and [`Table::also_matched`].
pub fn filter_text(state: &AppState, pane: Pane, row: usize) -> String {
    with_table!(pane, T => {
        let Some(row) = T::rows(&state.data).get(row) else {
            return String::new();
        };
        let mut text = row.also_matched().to_lowercase();
        for column in T::COLUMNS.iter().filter(|c| c.filtered) {
            text.push(' ');
            text.push_str(&(column.cell)(state, row).text.to_lowercase());
        }
        text
    })
}

/// Unknown values sort last whatever the direction of the known ones.
fn unknown_last<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The cells of an optional value: `-` where the source did not say.
fn or_dash<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> Field<'static> {
    Field::plain(value.map_or_else(|| "-".to_owned(), show))
}

/// A job state or audit outcome, coloured by [`outcome_role`].
fn outcome(word: &str) -> Field<'_> {
    match outcome_role(word) {
        Some(role) => Field::styled(word, role),
        None => Field::plain(word),
    }
}

/// The colour of a job state or audit outcome, from the words the stores and runbooks use
/// (`SUCCEEDED`, `DONE`, `APPROVED`, `FAILED`, `DENIED`, …); `None` for in-between states.
fn outcome_role(word: &str) -> Option<Role> {
    const OK: &[&str] = &[
        "ok",
        "succeeded",
        "success",
        "done",
        "approved",
        "completed",
    ];
    const FAILED: &[&str] = &[
        "failed",
        "failure",
        "error",
        "denied",
        "refused",
        "cancelled",
    ];
    if OK.iter().any(|w| word.eq_ignore_ascii_case(w)) {
        Some(Role::OutcomeOk)
    } else if FAILED.iter().any(|w| word.eq_ignore_ascii_case(w)) {
        Some(Role::OutcomeFailed)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_coloured_by_meaning() {
        assert_eq!(outcome_role("SUCCEEDED"), Some(Role::OutcomeOk));
        assert_eq!(outcome_role("INSTALL_DENIED"), None);
        assert_eq!(outcome_role("denied"), Some(Role::OutcomeFailed));
        assert_eq!(outcome_role("RUNNING"), None);
    }

    #[test]
    fn a_ranked_column_sorts_as_its_comparison_does() {
        use crate::model::{HostStatus, SourceRow};
        use crate::state::Mode;
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut state = AppState::new("alice".into(), "test".into(), Mode::default(), now);
        // Two sources that turn stale at different ages, and one that is not configured (the
        // store's), whose rows never do; their rows mixed, so the rank's remembered source
        // changes from row to row.
        state.sources = vec![
            SourceRow::pending("fleet", "postgres", std::time::Duration::from_secs(10)),
            SourceRow::pending("slow", "postgres", std::time::Duration::from_secs(60)),
        ];
        let sources = ["fleet", "slow", "fleet", "store"];
        let ages = [0, 20, 21, 119, 121, 300].map(chrono::Duration::seconds);
        let statuses = [
            HostStatus::Up,
            HostStatus::Down,
            HostStatus::Unknown,
            HostStatus::Degraded,
        ];
        state.data.hosts = (0..48)
            .map(|i| {
                HostRow::checked(
                    sources[i / 3 % 4],
                    format!("h{:02}", (i * 7) % 48),
                    "x",
                    statuses[i % 4],
                    now - ages[i % 6],
                )
            })
            .collect();
        let status = heads(Pane::Hosts)
            .iter()
            .position(|h| h.header == "STATUS")
            .unwrap_or(0);
        assert!(HostRow::COLUMNS[status].rank.is_some());
        for descending in [false, true] {
            let mut ranked: Vec<usize> = (0..48).collect();
            sort(&state, Pane::Hosts, status, descending, &mut ranked);
            let mut compared: Vec<usize> = (0..48).collect();
            compared.sort_by(|&a, &b| {
                let order = compare(&state, Pane::Hosts, status, a, b);
                if descending { order.reverse() } else { order }
            });
            assert_eq!(ranked, compared, "descending: {descending}");
        }
        let stale: Vec<usize> = (0..48)
            .filter(|&i| state.host_status(&state.data.hosts[i]) == HostStatus::Stale)
            .collect();
        // fleet's rows 21 s old and more, slow's 121 s and more, the store's never.
        assert_eq!(
            stale,
            [2, 4, 5, 8, 14, 16, 17, 20, 26, 28, 29, 32, 38, 40, 41, 44]
        );
    }

    /// The view is rebuilt from its last order, so the sort must not depend on the order rows
    /// come in: rows that tie (one name from two sources) stay in the order of their index.
    #[test]
    fn a_sort_gives_one_order_whatever_order_the_rows_come_in() {
        use crate::model::HostStatus;
        use crate::state::Mode;
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut state = AppState::new("alice".into(), "test".into(), Mode::default(), now);
        let statuses = [HostStatus::Up, HostStatus::Down];
        state.data.hosts = (0..30)
            .map(|i| {
                let source = ["a", "b", "c"][i / 10];
                HostRow::checked(source, format!("h{}", i % 4), "x", statuses[i % 2], now)
            })
            .collect();
        for column in 0..HostRow::COLUMNS.len() {
            for descending in [false, true] {
                let mut ascending: Vec<usize> = (0..30).collect();
                sort(&state, Pane::Hosts, column, descending, &mut ascending);
                let mut shuffled: Vec<usize> = (0..30).map(|i| i * 7 % 30).collect();
                sort(&state, Pane::Hosts, column, descending, &mut shuffled);
                assert_eq!(
                    ascending, shuffled,
                    "column {column}, descending {descending}"
                );
                for pair in ascending.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    let tied = compare(&state, Pane::Hosts, column, a, b) == Ordering::Equal;
                    assert!(!tied || a < b, "ties by index: {ascending:?}");
                }
            }
        }
    }

    #[test]
    fn every_default_sort_names_a_column_of_its_pane() {
        for pane in Pane::ALL {
            let header = with_table!(pane, T => T::DEFAULT_SORT.0);
            assert!(
                heads(pane).iter().any(|h| h.header == header),
                "{pane:?} sorts by {header}"
            );
        }
    }
}
