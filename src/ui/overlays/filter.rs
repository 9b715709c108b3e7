//! `/`: the filter being typed, on the last line inside the focused pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;

use crate::config::theme::Role;
use crate::ui::Ui;

const PROMPT: &str = "/";

pub(super) fn draw(frame: &mut Frame, pane: Rect, ui: &Ui, input: &TextArea<'static>) {
    // Inside the pane's border, on the line the pane left free for it.
    if pane.width < 3 || pane.height < 3 {
        return;
    }
    let line = Rect {
        x: pane.x + 1,
        y: pane.bottom() - 2,
        width: pane.width - 2,
        height: 1,
    };
    let style = ui.theme.style(Role::Input);
    frame.render_widget(Clear, line);
    frame.render_widget(Paragraph::new(PROMPT).style(style), line);
    let prompt_width = PROMPT.len() as u16;
    let field = Rect {
        x: line.x + prompt_width,
        width: line.width.saturating_sub(prompt_width),
        ..line
    };
    frame.render_widget(input, field);
}
