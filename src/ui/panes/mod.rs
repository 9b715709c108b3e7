//! The five panes: one table each, virtualised so a frame builds only the rows that fit. What
//! the columns are is in [`crate::columns`]; here is how they share a pane's width.

pub(super) use crate::columns::{severity_role, status_role};

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, TableState, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::columns::{self, Field, Head};
use crate::config::keymap::KeyContext;
use crate::config::theme::{Role, Theme};
use crate::model::SourceStatus;
use crate::msg::Command;
use crate::state::{AppState, Pane};
use crate::ui::layout::scroll_offset;
use crate::ui::{Ui, text};

const COLUMN_SPACING: u16 = 1;
const HIGHLIGHT_SYMBOL: &str = "▶ ";
const SORT_ASCENDING: &str = "▲";
const SORT_DESCENDING: &str = "▼";

/// The pane's columns and their widths in a table `width` wide (inside the borders).
fn layout_columns(
    state: &AppState,
    pane: Pane,
    width: u16,
    focused: bool,
) -> (Vec<Head>, Vec<u16>) {
    let highlight_width = if focused {
        HIGHLIGHT_SYMBOL.width() as u16
    } else {
        0
    };
    let heads = columns::heads(pane);
    let widths = column_widths(
        &heads,
        width.saturating_sub(highlight_width),
        state.view(pane).sort_column,
    );
    (heads, widths)
}

/// The columns drawn when `pane` fills `area`, borders included.
pub(super) fn shown_columns(state: &AppState, pane: Pane, area: Rect, focused: bool) -> Vec<usize> {
    let inner = Block::bordered().inner(area);
    let (_, widths) = layout_columns(state, pane, inner.width, focused);
    (0..widths.len()).filter(|&c| widths[c] > 0).collect()
}

/// The width of every column of `heads`, in order, 0 for a column that does not fit.
///
/// Computed here rather than left to the table so that cells know their width and can end a
/// cut value with `…` instead of silently losing its tail.
fn column_widths(heads: &[Head], width: u16, sort_column: usize) -> Vec<u16> {
    let mut widths: Vec<u16> = heads
        .iter()
        .enumerate()
        .map(|(c, head)| {
            let header = head.header.width() + usize::from(c == sort_column);
            head.width
                .min
                .max(u16::try_from(header).unwrap_or(u16::MAX))
        })
        .collect();
    let used = |widths: &[u16]| -> u32 {
        let shown = widths.iter().filter(|&&w| w > 0).count() as u32;
        widths.iter().map(|&w| u32::from(w)).sum::<u32>()
            + shown.saturating_sub(1) * u32::from(COLUMN_SPACING)
    };
    while used(&widths) > u32::from(width) && widths.iter().filter(|&&w| w > 0).count() > 1 {
        // Drop the least important column still shown; among equals, the rightmost. The sort
        // column stays, so its arrow says what the order is.
        let victim = (0..heads.len())
            .filter(|&c| widths[c] > 0 && c != sort_column)
            .min_by_key(|&c| (heads[c].width.keep, usize::MAX - c));
        match victim {
            Some(c) => widths[c] = 0,
            None => break,
        }
    }
    let mut spare = u32::from(width).saturating_sub(used(&widths));
    let total_grow: u32 = (0..heads.len())
        .filter(|&c| widths[c] > 0)
        .map(|c| u32::from(heads[c].width.grow))
        .sum();
    // Shares by weight, then what rounding left over, first column first; each up to its cap.
    let share = spare;
    for pass in 0..2 {
        for (c, head) in heads.iter().enumerate() {
            let spec = head.width;
            if widths[c] == 0 || spec.grow == 0 {
                continue;
            }
            let cap = spec.min.saturating_add(spec.max_growth);
            let room = u32::from(cap.saturating_sub(widths[c]));
            let wanted = if pass == 0 {
                (share * u32::from(spec.grow))
                    .checked_div(total_grow)
                    .unwrap_or(0)
            } else {
                spare
            };
            let extra = wanted.min(room).min(spare);
            widths[c] += extra as u16;
            spare -= extra;
        }
    }
    widths
}

fn cell<'a>(field: Field<'a>, width: u16, right: bool, theme: &Theme) -> Cell<'a> {
    let text = text::fit(field.text, width);
    let span = match field.role {
        Some(role) => Span::styled(text, theme.style(role)),
        None => Span::raw(text),
    };
    let line = Line::from(span);
    Cell::from(if right { line.right_aligned() } else { line })
}

/// The text a pane shows instead of its table when it has no row to show.
fn empty_message(ui: &Ui, pane: Pane) -> (String, Role) {
    let state = ui.state;
    let view = state.view(pane);
    if pane == Pane::Alerts && state.alerts_have_no_data() {
        let hint = text::keys(ui.keymap, &[KeyContext::Global], Command::ShowSources)
            .map(|k| format!("\n{k}: Sources view"))
            .unwrap_or_default();
        return (
            format!("NO DATA — every alert source is failing{hint}"),
            Role::NoData,
        );
    }
    if !view.filter.is_empty() && !state.data.is_empty(pane) {
        return (
            format!("no row matches \"{}\"", text::shown(view.filter.as_str())),
            Role::Dim,
        );
    }
    if state
        .sources
        .iter()
        .any(|s| s.status == SourceStatus::Pending)
    {
        return ("waiting for first poll…".to_owned(), Role::Dim);
    }
    let message = match pane {
        Pane::Hosts => "no hosts reported",
        Pane::Sessions => "no active sessions",
        Pane::Jobs => "no jobs",
        Pane::Alerts => "no alerts firing",
        Pane::Audit => "the audit log is empty",
    };
    (message.to_owned(), Role::Dim)
}

fn sort_arrow(descending: bool) -> &'static str {
    if descending {
        SORT_DESCENDING
    } else {
        SORT_ASCENDING
    }
}

/// ` Hosts 4/10  filter: vm-  sort: STATUS ▲ `
fn title<'a>(state: &AppState, theme: &Theme, pane: Pane, focused: bool) -> Line<'a> {
    let view = state.view(pane);
    let title_role = if focused {
        Role::TitleFocused
    } else {
        Role::Title
    };
    let mut spans = vec![
        Span::styled(format!(" {} ", pane.title()), theme.style(title_role)),
        Span::styled(
            format!("{}/{} ", view.rows.len(), state.row_count(pane)),
            theme.style(Role::Title),
        ),
    ];
    if pane == Pane::Alerts && state.alerts_have_no_data() {
        spans.push(Span::styled(" NO DATA ", theme.style(Role::NoData)));
        spans.push(Span::raw(" "));
    }
    for cut in state.truncated(pane) {
        spans.push(Span::styled(
            format!(" {} ", cut.describe()),
            theme.style(Role::StatusDegraded),
        ));
        spans.push(Span::raw(" "));
    }
    if !view.filter.is_empty() {
        spans.push(Span::styled(
            format!(" filter: {} ", text::shown(view.filter.as_str())),
            theme.style(Role::Input),
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(column) = columns::heads(pane).get(view.sort_column) {
        spans.push(Span::styled(
            format!("sort: {} {} ", column.header, sort_arrow(view.sort_desc)),
            theme.style(Role::Title),
        ));
    }
    Line::from(spans)
}

/// Draws one pane into `area`. `reserved_bottom` lines at the bottom of the pane's inside are
/// left free for the filter input, and the table scrolls so the selection stays above them.
pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    ui: &Ui,
    pane: Pane,
    focused: bool,
    reserved_bottom: u16,
) {
    let Ui { state, theme, .. } = *ui;
    let border_role = if focused {
        Role::BorderFocused
    } else {
        Role::Border
    };
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.style(border_role))
        .title(title(state, theme, pane, focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let inner = Rect {
        height: inner.height.saturating_sub(reserved_bottom),
        ..inner
    };
    if inner.is_empty() {
        return;
    }

    let view = state.view(pane);
    if view.rows.is_empty() {
        let (message, role) = empty_message(ui, pane);
        let top = inner.height.saturating_sub(1) / 2;
        let middle = Rect {
            y: inner.y + top,
            height: inner.height - top,
            ..inner
        };
        frame.render_widget(
            Paragraph::new(message)
                .style(theme.style(role))
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            middle,
        );
        return;
    }

    let (heads, widths) = layout_columns(state, pane, inner.width, focused);
    let cell = |field, c: usize| cell(field, widths[c], heads[c].width.right, theme);

    let arrow = sort_arrow(view.sort_desc);
    let header = Row::new(
        heads
            .iter()
            .enumerate()
            .filter(|&(c, _)| widths[c] > 0)
            .map(|(c, head)| {
                let label = if c == view.sort_column {
                    Cow::Owned(format!("{}{arrow}", head.header))
                } else {
                    Cow::Borrowed(head.header)
                };
                cell(Field::plain(label), c)
            }),
    )
    .style(theme.style(Role::Header));

    let body_height = usize::from(inner.height.saturating_sub(1));
    let selected = view.selected.min(view.rows.len() - 1);
    let offset = scroll_offset(selected, view.rows.len(), body_height);
    let end = (offset + body_height).min(view.rows.len());
    let stale = theme.style(Role::StatusStale);
    let rows = view.rows[offset..end].iter().map(|&row| {
        let (fields, is_stale) = columns::cells(state, pane, row).unwrap_or_default();
        let cells = fields
            .into_iter()
            .enumerate()
            .filter(|&(c, _)| widths.get(c).is_some_and(|&w| w > 0))
            .map(|(c, field)| cell(field, c));
        // Fresh rows take the screen's base style, filled once for the whole frame.
        let row = Row::new(cells);
        if is_stale { row.style(stale) } else { row }
    });

    let table = Table::new(
        rows,
        widths
            .iter()
            .filter(|&&w| w > 0)
            .map(|&w| Constraint::Length(w)),
    )
    .header(header)
    .column_spacing(COLUMN_SPACING);
    if focused {
        let table = table
            .row_highlight_style(theme.style(Role::Selected))
            .highlight_symbol(HIGHLIGHT_SYMBOL);
        let mut table_state = TableState::default().with_selected(Some(selected - offset));
        frame.render_stateful_widget(table, inner, &mut table_state);
    } else {
        frame.render_widget(table, inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_drop_the_least_important_columns_whole() {
        let hosts = columns::heads(Pane::Hosts);
        let all = column_widths(&hosts, 200, 2);
        assert!(all.iter().all(|&w| w > 0), "{all:?}");
        let narrow = column_widths(&hosts, 40, 2);
        // NAME and STATUS stay; every shown column keeps at least its minimum.
        assert!(narrow[0] >= 14 && narrow[2] >= 10, "{narrow:?}");
        let shown = narrow.iter().filter(|&&w| w > 0).count() as u16;
        assert!(narrow.iter().sum::<u16>() + shown - 1 <= 40, "{narrow:?}");
        let one = column_widths(&hosts, 3, 2);
        assert_eq!(one.iter().filter(|&&w| w > 0).count(), 1, "{one:?}");
    }
}
