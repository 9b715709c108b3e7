//! Poller health: every configured source, and the selected one's last error in full.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::popup;
use crate::columns::format;
use crate::config::theme::Role;
use crate::model::{SourceRow, SourceStatus, Truncated};
use crate::ui::text::fit;
use crate::ui::{Ui, layout, text};

const HEADER: [&str; 8] = [
    "NAME",
    "KIND",
    "STATUS",
    "LAST OK",
    "FAILS",
    "LATENCY",
    "EVERY",
    "LAST ERROR",
];
/// FAILS, LATENCY, EVERY: numbers.
const RIGHT_ALIGNED: [usize; 3] = [4, 5, 6];
const WIDTHS: [Constraint; 8] = [
    Constraint::Length(NAME_WIDTH),
    Constraint::Length(12),
    Constraint::Length(7),
    Constraint::Length(7),
    Constraint::Length(5),
    Constraint::Length(7),
    Constraint::Length(5),
    Constraint::Fill(1),
];
/// Source names are short labels from the configuration; longer ones end in `…`.
const NAME_WIDTH: u16 = 16;
/// Room under the table for the selected source's whole error message.
const ERROR_LINES: u16 = 4;

fn status_role(status: SourceStatus) -> Role {
    match status {
        SourceStatus::Ok => Role::StatusUp,
        SourceStatus::Failing => Role::StatusDown,
        SourceStatus::Stale => Role::StatusStale,
        SourceStatus::Pending => Role::StatusUnknown,
    }
}

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, selected: usize) {
    let Ui { state, theme, .. } = *ui;
    // As tall as the list needs, so a short list does not leave a screen of blank lines.
    let wanted = u16::try_from(state.sources.len())
        .unwrap_or(u16::MAX)
        .saturating_add(ERROR_LINES + 4);
    let area = layout::popup(body, 90, 0, 60, wanted.max(10));
    let inner = popup(frame, area, ui, &format!("Sources {}", state.sources.len()));
    if inner.is_empty() {
        return;
    }
    if state.sources.is_empty() {
        frame.render_widget(
            Paragraph::new("No sources are configured.")
                .style(theme.style(Role::Dim))
                .alignment(Alignment::Center),
            inner,
        );
        return;
    }
    let [table_area, error_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(ERROR_LINES + 1)]).areas(inner);

    let selected = selected.min(state.sources.len() - 1);
    let visible = usize::from(table_area.height.saturating_sub(1));
    let offset = layout::scroll_offset(selected, state.sources.len(), visible);
    let rows = state
        .sources
        .iter()
        .skip(offset)
        .take(visible)
        .map(|source| {
            let status = state.source_status(source);
            Row::new([
                Cell::from(fit(&source.name, NAME_WIDTH)),
                Cell::from(source.kind.as_str()),
                Cell::from(status.as_str()).style(theme.style(status_role(status))),
                Cell::from(
                    source
                        .last_success
                        .map_or_else(|| "never".to_owned(), |at| format::age(state.now, at)),
                ),
                Cell::from(Line::from(source.consecutive_failures.to_string()).right_aligned()),
                Cell::from(
                    Line::from(
                        source
                            .latency_ms
                            .map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms")),
                    )
                    .right_aligned(),
                ),
                Cell::from(Line::from(format::duration(source.every_s as i64)).right_aligned()),
                match (&source.last_error, source.truncated.as_slice()) {
                    (Some(error), _) => {
                        Cell::from(text::shown(error.as_str())).style(theme.style(Role::Error))
                    }
                    (None, []) => Cell::from(""),
                    (None, cut) => {
                        Cell::from(cut_short(cut)).style(theme.style(Role::StatusDegraded))
                    }
                },
            ])
        });
    let table = Table::new(rows, WIDTHS)
        .header(
            Row::new(HEADER.iter().enumerate().map(|(i, &name)| {
                let name = Line::from(name);
                Cell::from(if RIGHT_ALIGNED.contains(&i) {
                    name.right_aligned()
                } else {
                    name
                })
            }))
            .style(theme.style(Role::Header)),
        )
        .style(theme.style(Role::Dialog))
        .row_highlight_style(theme.style(Role::Selected))
        .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(selected - offset));
    frame.render_stateful_widget(table, table_area, &mut table_state);

    draw_error(frame, error_area, ui, &state.sources[selected]);
}

/// The selected source's last error, whole and wrapped: the table cell above cuts it.
fn draw_error(frame: &mut Frame, area: Rect, ui: &Ui, source: &SourceRow) {
    let theme = ui.theme;
    let [rule, message] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!("── {} ", text::shown(source.name.as_str())),
            theme.style(Role::DialogBorder),
        ))),
        rule,
    );
    let mut text = vec![match &source.last_error {
        Some(error) => Line::from(vec![
            Span::styled("last error: ", theme.style(Role::Header)),
            Span::styled(text::shown(error.as_str()), theme.style(Role::Error)),
        ]),
        None => Line::from(Span::styled("no error", theme.style(Role::Dim))),
    }];
    if !source.truncated.is_empty() {
        text.push(Line::from(Span::styled(
            cut_short(&source.truncated),
            theme.style(Role::StatusDegraded),
        )));
    }
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), message);
}

/// `cut short: fleet: first 5,000 rows`: a query that shows less than its table holds.
fn cut_short(cut: &[Truncated]) -> String {
    let described: Vec<String> = cut.iter().map(Truncated::describe).collect();
    format!("cut short: {}", described.join("; "))
}
