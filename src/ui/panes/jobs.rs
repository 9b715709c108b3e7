use super::{Column, Field, outcome_role};
use crate::state::AppState;
use crate::ui::text;

/// ID ACTION TARGET OPERATOR STATE PROGRESS STARTED DURATION AGE
pub(super) const COLUMNS: [Column; 9] = [
    Column::fixed(8, 8),
    Column::grow(14, 2, 9),
    Column::grow(10, 1, 7),
    Column::fixed(8, 4),
    Column::fixed(9, 8),
    Column::fixed(10, 6),
    Column::fixed(8, 5),
    Column::number(8, 3),
    Column::number(4, 1),
];

/// Job ids are UUIDs or database keys; eight characters tell them apart on screen and the
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

pub(super) fn fields(state: &AppState, row: usize) -> (Vec<Field<'_>>, bool) {
    let Some(job) = state.data.jobs.get(row) else {
        return (Vec::new(), false);
    };
    let id = job
        .id
        .char_indices()
        .nth(SHORT_ID)
        .map_or(job.id.as_str(), |(end, _)| &job.id[..end]);
    let job_state = match outcome_role(&job.state) {
        Some(role) => Field::styled(job.state.as_str(), role),
        None => Field::plain(job.state.as_str()),
    };
    let fields = vec![
        Field::plain(id),
        Field::plain(job.action.as_str()),
        Field::plain(job.target.as_str()),
        Field::plain(job.operator.as_str()),
        job_state,
        Field::plain(progress(job.progress)),
        Field::plain(
            job.started
                .map_or_else(|| "-".to_owned(), |at| text::time_or_date(state.now, at)),
        ),
        Field::plain(
            job.duration_s(state.now)
                .map_or_else(|| "-".to_owned(), text::duration),
        ),
        Field::plain(text::age(state.now, job.observed_at)),
    ];
    (fields, state.is_stale(&job.source, job.observed_at))
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
