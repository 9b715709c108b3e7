//! What sits on top of the panes: help, detail, filter input, command palette, Sources view.

mod detail;
mod filter;
mod help;
mod palette;
mod sources;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use crate::config::keymap::KeyContext;
use crate::config::theme::{Role, Theme};
use crate::msg::Command;
use crate::state::Overlay;
use crate::ui::{Ui, text};

/// `body` is the screen above the status bar; `focused_pane` is where the focused pane is.
pub(super) fn draw(frame: &mut Frame, body: Rect, focused_pane: Rect, ui: &Ui) {
    match &ui.state.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => help::draw(frame, body, ui, *scroll),
        Overlay::Detail { scroll } => detail::draw(frame, body, ui, *scroll),
        Overlay::Filter(input) => filter::draw(frame, focused_pane, ui, input),
        Overlay::Palette { input, selected } => palette::draw(frame, body, ui, input, *selected),
        Overlay::Sources { selected } => sources::draw(frame, body, ui, *selected),
    }
}

/// A cleared, bordered popup with a title and, where the keymap binds one, the key that closes
/// it; returns the inside.
fn popup(frame: &mut Frame, area: Rect, ui: &Ui, title: &str) -> Rect {
    let theme = ui.theme;
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.style(Role::DialogBorder))
        .style(theme.style(Role::Dialog))
        .title(Line::from(Span::styled(
            format!(" {title} "),
            theme.style(Role::TitleFocused),
        )));
    if let Some(keys) = close_keys(ui) {
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

fn close_keys(ui: &Ui) -> Option<String> {
    text::keys(
        ui.keymap,
        &[KeyContext::Dialog, KeyContext::Global],
        Command::Close,
    )
}

/// Lines in a popup, scrolled by `scroll` but never past the last page.
fn scrolled(frame: &mut Frame, area: Rect, theme: &Theme, lines: Vec<Line>, scroll: u16) {
    // Wrapped lines take more rows than `lines.len()`; counting them keeps the end reachable.
    let width = usize::from(area.width.max(1));
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let max_scroll = rows.saturating_sub(usize::from(area.height));
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
