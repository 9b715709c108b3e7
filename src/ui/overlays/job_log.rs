//! `Enter` on a job: its log, following the newest line until scrolled back, with the job's
//! state, progress and elapsed time above it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::popup;
use crate::columns;
use crate::config::theme::Role;
use crate::job_log::JobLog;
use crate::state::{AppState, JobLogView, Pane};
use crate::ui::{Ui, layout, text};

/// The Jobs pane's columns shown above the log, most telling first: a narrow screen cuts the
/// last. The title names the action and the target.
const HEADER_COLUMNS: [&str; 5] = ["STATE", "PROGRESS", "DURATION", "STARTED", "OPERATOR"];

/// Where the popup goes in the body of the screen.
fn area(body: Rect) -> Rect {
    layout::popup(body, 90, 90, 50, 10)
}

/// How many log lines the popup shows on the state's screen: what a page key scrolls by.
pub fn rows(state: &AppState) -> usize {
    let (body, _) = layout::screen(Rect::new(0, 0, state.size.0, state.size.1));
    // One row for the job's state above the lines.
    usize::from(Block::bordered().inner(area(body)).height.saturating_sub(1))
}

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, view: &JobLogView) {
    let state = ui.state;
    let theme = ui.theme;
    let row = state.job_row(&view.job_id);
    let title = match row {
        Some(job) => format!("Job log — {} on {}", job.action, job.target),
        None => format!("Job log — {}", view.job_id),
    };
    let area = area(body);
    let inner = popup(frame, area, ui, &text::shown(title));
    if inner.is_empty() {
        return;
    }
    let [header_area, lines_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(header(ui, &view.job_id)), header_area);

    let Some(log) = state.job_log(view) else {
        frame.render_widget(
            Paragraph::new("This job's log is not held here.").style(theme.style(Role::Dim)),
            lines_area,
        );
        return;
    };
    let height = usize::from(lines_area.height);
    let len = log.lines().len();
    let last_top = len.saturating_sub(height);
    let top = view.top.unwrap_or(last_top).min(last_top);
    let width = lines_area.width;
    let lines: Vec<Line> = log
        .lines()
        .iter()
        .skip(top)
        .take(height)
        .map(|line| Line::from(text::fit(line.text.as_str(), width).into_owned()))
        .collect();
    if lines.is_empty() {
        // A page asked of a store that is down never comes: say why nothing shows.
        let (empty, role) = match (log.is_loading(), state.store_refusal()) {
            (true, Some(_)) => (
                "the store is unavailable: the log cannot be read",
                Role::Error,
            ),
            (true, None) => ("loading the log from the store…", Role::Dim),
            (false, _) => ("no lines yet", Role::Dim),
        };
        frame.render_widget(Paragraph::new(empty).style(theme.style(role)), lines_area);
    } else {
        frame.render_widget(
            Paragraph::new(lines).style(theme.style(Role::Dialog)),
            lines_area,
        );
    }
    position(frame, area, ui, log, top, height);
}

/// The job's row as the Jobs pane shows it: state, progress, start, elapsed, operator.
fn header(ui: &Ui, job_id: &str) -> Line<'static> {
    let state = ui.state;
    let Some(row) = state
        .data
        .jobs
        .iter()
        .position(|job| job.id == job_id && job.source == crate::store::STORE_SOURCE)
    else {
        return Line::from(Span::styled(
            "not in the job ledger",
            ui.theme.style(Role::StatusUnknown),
        ));
    };
    let Some((cells, _)) = columns::cells(state, Pane::Jobs, row) else {
        return Line::default();
    };
    let heads = columns::heads(Pane::Jobs);
    let mut spans = Vec::new();
    for header in HEADER_COLUMNS {
        let Some(cell) = heads
            .iter()
            .position(|head| head.header == header)
            .and_then(|column| cells.get(column))
        else {
            continue;
        };
        if !spans.is_empty() {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::raw(format!("{} ", header.to_lowercase())));
        let shown = text::shown(cell.text.as_ref()).into_owned();
        spans.push(match cell.role {
            Some(role) => Span::styled(shown, ui.theme.style(role)),
            None => Span::raw(shown),
        });
    }
    Line::from(spans)
}

/// `lines 1–20 of 840`, and whether older lines wait in the store, on the bottom border.
fn position(frame: &mut Frame, area: Rect, ui: &Ui, log: &JobLog, top: usize, height: usize) {
    let len = log.lines().len();
    let border = area.bottom().saturating_sub(1);
    if area.width < 4 || border >= frame.area().bottom() {
        return;
    }
    let shown_to = (top + height).min(len);
    let mut position = if len == 0 {
        String::new()
    } else {
        format!(" lines {}–{shown_to} of {len} held ", top + 1)
    };
    if log.is_loading() && len > 0 {
        position.push_str("· loading… ");
    } else if !log.has_start() && top == 0 && len > 0 {
        position.push_str("· ↑ older lines in the store ");
    }
    frame.render_widget(
        Paragraph::new(position).style(ui.theme.style(Role::Dim)),
        Rect {
            x: area.x + 1,
            y: border,
            width: area.width - 2,
            height: 1,
        },
    );
}
