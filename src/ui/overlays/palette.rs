//! `:`: type part of a command's name, pick it from the list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui_textarea::TextArea;

use super::popup_closed_by;
use crate::config::keymap::KeyContext;
use crate::config::theme::Role;
use crate::msg::Command;
use crate::state::{PaletteEntry, palette_label};
use crate::ui::{Ui, layout, text};

const PROMPT: &str = ": ";
const NAME_COLUMN: usize = 16;
const KEY_COLUMN: usize = 12;

pub(super) fn draw(
    frame: &mut Frame,
    body: Rect,
    ui: &Ui,
    input: &TextArea<'static>,
    selected: usize,
) {
    let query = input.lines().join(" ");
    let matches = ui.state.palette_entries(&query);
    // Sized to its content, in the upper part of the screen where the eye already is.
    // At least one line under the input, for "no command matches".
    let wanted_height = u16::try_from(matches.len().max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(4);
    let width = body.width.min(80);
    let height = wanted_height.min(body.height);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 4,
        width,
        height,
    };
    // What the palette takes is typed, so only the `[input]` keys close it (`q` types a q).
    let close = text::keys(ui.keymap, &[KeyContext::Input], Command::Cancel)
        .or_else(|| text::keys(ui.keymap, &[KeyContext::Input], Command::Close));
    let inner = popup_closed_by(frame, area, ui, "Command palette", close);
    if inner.is_empty() {
        return;
    }
    let [input_line, rule, list] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);

    let theme = ui.theme;
    let [prompt_area, field] =
        Layout::horizontal([Constraint::Length(PROMPT.len() as u16), Constraint::Fill(1)])
            .areas(input_line);
    frame.render_widget(
        Paragraph::new(PROMPT).style(theme.style(Role::Input)),
        prompt_area,
    );
    frame.render_widget(input, field);
    frame.render_widget(
        Paragraph::new("─".repeat(usize::from(rule.width))).style(theme.style(Role::DialogBorder)),
        rule,
    );

    if matches.is_empty() {
        frame.render_widget(
            Paragraph::new(format!("no command matches \"{query}\"")).style(theme.style(Role::Dim)),
            list,
        );
        return;
    }
    let selected = selected.min(matches.len() - 1);
    let height = usize::from(list.height);
    let offset = layout::scroll_offset(selected, matches.len(), height);
    let lines: Vec<Line> = matches
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, &entry)| {
            let (name, keys, description) = match entry {
                PaletteEntry::Command(command) => (
                    command.name().to_owned(),
                    text::keys(ui.keymap, &[KeyContext::Global], command).unwrap_or_default(),
                    command.description().to_owned(),
                ),
                PaletteEntry::Action(index) => {
                    let action = &ui.state.actions[index];
                    (
                        palette_label(&action.name),
                        String::new(),
                        action_description(action),
                    )
                }
            };
            let (marker, style) = if i == selected {
                ("▶ ", theme.style(Role::Selected))
            } else {
                ("  ", theme.style(Role::Dialog))
            };
            Line::from(vec![
                Span::raw(marker),
                Span::styled(
                    format!("{name:<NAME_COLUMN$} "),
                    theme.style(Role::TitleFocused),
                ),
                Span::styled(format!("{keys:<KEY_COLUMN$} "), theme.style(Role::Dim)),
                Span::raw(description),
            ])
            .style(style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}

/// What an action does, for lists: its description, or its kind.
pub(super) fn action_description(action: &crate::config::ActionConfig) -> String {
    match &action.description {
        Some(description) => description.clone(),
        None => format!("{} action", action.kind),
    }
}
