//! What sits on top of the panes: help, detail, filter input, command palette, Sources view,
//! the action menu, the confirmation dialog and the job log.

mod actions;
mod backup_pick;
mod confirm;
mod detail;
mod filter;
pub(super) mod help;
pub(super) mod job_log;
mod palette;
mod sources;
mod unseal;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use crate::config::keymap::KeyContext;
use crate::config::theme::{Role, Theme};
use crate::msg::Command;
use crate::state::{AppState, Overlay};
use crate::ui::{Ui, layout, text};

/// `body` is the screen above the status bar; `focused_pane` is where the focused pane is.
pub(super) fn draw(frame: &mut Frame, body: Rect, focused_pane: Rect, ui: &Ui) {
    match &ui.state.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => help::draw(frame, body, ui, *scroll),
        Overlay::Detail { scroll } => detail::draw(frame, body, ui, *scroll),
        Overlay::Filter(input) => filter::draw(frame, focused_pane, ui, input),
        Overlay::Palette { input, selected } => palette::draw(frame, body, ui, input, *selected),
        Overlay::Sources { selected } => sources::draw(frame, body, ui, *selected),
        Overlay::Actions(menu) => actions::draw(frame, body, ui, menu),
        Overlay::Confirm(confirm) => confirm::draw(frame, body, ui, confirm),
        Overlay::JobLog(view) => job_log::draw(frame, body, ui, view),
        Overlay::Unseal(dialog) => unseal::draw(frame, body, ui, dialog),
    }
}

/// A cleared, bordered popup with a title and, where the keymap binds one, the key that closes
/// it; returns the inside.
fn popup(frame: &mut Frame, area: Rect, ui: &Ui, title: &str) -> Rect {
    let close = text::keys(
        ui.keymap,
        &[KeyContext::Dialog, KeyContext::Global],
        Command::Close,
    );
    popup_closed_by(frame, area, ui, title, close)
}

/// [`popup`] with the keys that close it given: a popup that takes typing is closed by the
/// keymap's `[input]` keys, not the dialog ones.
fn popup_closed_by(
    frame: &mut Frame,
    area: Rect,
    ui: &Ui,
    title: &str,
    close_keys: Option<String>,
) -> Rect {
    let theme = ui.theme;
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.style(Role::DialogBorder))
        .style(theme.style(Role::Dialog))
        .title(Line::from(Span::styled(
            format!(" {title} "),
            theme.style(Role::TitleFocused),
        )));
    if let Some(keys) = close_keys {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" {keys} close "),
                theme.style(Role::Dim),
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

/// How far the help or detail popup scrolls on the state's screen before its last line reaches
/// its bottom; 0 for other overlays. `update` stops scrolling there, so the popup never
/// scrolls past its end.
pub fn scroll_limit(state: &AppState) -> u16 {
    let (body, _) = layout::screen(Rect::new(0, 0, state.size.0, state.size.1));
    // Styles do not change a line's width.
    let theme = Theme::default();
    let (area, lines) = match state.overlay {
        Overlay::Help { .. } => (help::area(body), help::lines(state, &theme)),
        Overlay::Detail { .. } => (detail::area(body), detail::lines(state, &theme)),
        _ => return 0,
    };
    let inner = Block::bordered().inner(area);
    let (_, max_scroll) = rows_and_max_scroll(&lines, inner);
    u16::try_from(max_scroll).unwrap_or(u16::MAX)
}

/// The rows `lines` take wrapped in `area`, and the scroll that shows the last of them at the
/// bottom.
fn rows_and_max_scroll(lines: &[Line], area: Rect) -> (usize, usize) {
    // Wrapped lines take more rows than `lines.len()`; counting them keeps the end reachable.
    let width = usize::from(area.width.max(1));
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    (rows, rows.saturating_sub(usize::from(area.height)))
}

/// Lines in a popup, scrolled by `scroll` but never past the last page.
fn scrolled(frame: &mut Frame, area: Rect, theme: &Theme, lines: Vec<Line>, scroll: u16) {
    let (rows, max_scroll) = rows_and_max_scroll(&lines, area);
    let scroll = usize::from(scroll).min(max_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.style(Role::Dialog))
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0)),
        area,
    );
    // Where there is more than fits, say so on the popup's bottom border.
    let border = area.bottom();
    if max_scroll > 0 && border < frame.area().bottom() && area.width > 2 {
        let shown_to = (scroll + usize::from(area.height)).min(rows);
        let position = format!(" lines {}–{shown_to} of {rows} ", scroll + 1);
        frame.render_widget(
            Paragraph::new(position).style(theme.style(Role::Dim)),
            Rect {
                x: area.x + 1,
                y: border,
                width: area.width - 2,
                height: 1,
            },
        );
    }
}
