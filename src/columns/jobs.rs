use super::format::{age, duration, elapsed, time_or_date};
use super::{Column, Field, Table, Width, or_dash, outcome, unknown_last};
use crate::model::JobRow;
use crate::state::{AppState, Data};

/// Job ids are UUIDs or database keys; eight characters tell them apart on screen, and the
/// detail view shows the whole id.
const SHORT_ID: usize = 8;
const BAR_CELLS: usize = 5;

/// `███░░ 60%`: readable at a glance on the wall, exact in the number.
fn progress(fraction: Option<f64>) -> String {
    let Some(fraction) = fraction.filter(|f| f.is_finite()) else {
        return "-".to_owned();
    };
    let fraction = fraction.clamp(0.0, 1.0);
    let filled = (fraction * BAR_CELLS as f64).round() as usize;
    format!(
        "{}{} {:>3.0}%",
        "█".repeat(filled),
        "░".repeat(BAR_CELLS - filled),
        fraction * 100.0
    )
}

fn short_id(id: &str) -> &str {
    id.char_indices()
        .nth(SHORT_ID)
        .map_or(id, |(end, _)| &id[..end])
}

impl Table for JobRow {
    const COLUMNS: &'static [Column<JobRow>] = &[
        Column::new(
            "ID",
            Width::fixed(8, 8),
            |_, j| Field::plain(short_id(&j.id)),
            |_, a, b| a.id.cmp(&b.id),
        ),
        Column::new(
            "ACTION",
            Width::grow(14, 2, 9),
            |_, j| Field::plain(j.action.as_str()),
            |_, a, b| a.action.cmp(&b.action),
        ),
        Column::new(
            "TARGET",
            Width::grow(10, 1, 7),
            |_, j| Field::plain(j.target.as_str()),
            |_, a, b| a.target.cmp(&b.target),
        ),
        Column::new(
            "OPERATOR",
            Width::fixed(8, 4),
            |_, j| Field::plain(j.operator.as_str()),
            |_, a, b| a.operator.cmp(&b.operator),
        ),
        Column::new(
            "STATE",
            Width::fixed(9, 8),
            |_, j| outcome(&j.state),
            |_, a, b| a.state.cmp(&b.state),
        ),
        Column::measured(
            "PROGRESS",
            Width::fixed(10, 6),
            |_, j| Field::plain(progress(j.progress)),
            |_, a, b| unknown_last(a.progress, b.progress),
        ),
        Column::measured(
            "STARTED",
            Width::fixed(8, 5),
            |state, j| or_dash(j.started, |at| time_or_date(state.now, at)),
            |_, a, b| unknown_last(a.started, b.started),
        ),
        Column::measured(
            "DURATION",
            Width::number(8, 3),
            |state, j| {
                let show = if j.finished.is_some() {
                    duration
                } else {
                    elapsed
                };
                or_dash(j.duration_s(state.now), show)
            },
            |state, a, b| unknown_last(a.duration_s(state.now), b.duration_s(state.now)),
        ),
        Column::measured(
            "AGE",
            Width::number(4, 1),
            |state, j| Field::plain(age(state.now, j.observed_at)),
            |_, a, b| b.observed_at.cmp(&a.observed_at),
        ),
        Column::new(
            "RESULT",
            Width::explains(16, 6, 0),
            |_, j| Field::plain(j.result.as_deref().unwrap_or("")),
            |_, a, b| a.result.cmp(&b.result),
        ),
    ];
    // Newest job first.
    const DEFAULT_SORT: (&'static str, bool) = ("STARTED", true);

    fn rows(data: &Data) -> &[JobRow] {
        &data.jobs
    }

    type TieKey<'a> = &'a str;

    fn tie_key(&self) -> &str {
        &self.id
    }

    fn also_matched(&self) -> &str {
        &self.id
    }

    fn is_stale(&self, state: &AppState) -> bool {
        state.is_stale(&self.source, self.observed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::progress;

    #[test]
    fn progress_bar_matches_the_percentage() {
        assert_eq!(progress(Some(0.42)), "██░░░  42%");
        assert_eq!(progress(Some(1.0)), "█████ 100%");
        assert_eq!(progress(Some(7.0)), "█████ 100%");
        assert_eq!(progress(None), "-");
    }
}
