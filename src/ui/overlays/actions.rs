//! `a`: the actions that apply to the selected row, one to pick.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::palette::action_description;
use super::popup;
use crate::config::theme::Role;
use crate::state::ActionMenu;
use crate::ui::{Ui, layout, text};

const NAME_COLUMN: usize = 20;

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, menu: &ActionMenu) {
    // Sized to its content, where the palette goes.
    let wanted_height = u16::try_from(menu.actions.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let width = body.width.min(72);
    let height = wanted_height.min(body.height);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 4,
        width,
        height,
    };
    let title = format!("Actions — {}", text::shown(menu.subject.describe()));
    let inner = popup(frame, area, ui, &title);
    if inner.is_empty() {
        return;
    }
    let theme = ui.theme;
    let height = usize::from(inner.height);
    let selected = menu.selected.min(menu.actions.len().saturating_sub(1));
    let offset = layout::scroll_offset(selected, menu.actions.len(), height);
    let lines: Vec<Line> = menu
        .actions
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(i, &index)| {
            let action = ui.state.actions.get(index)?;
            let (marker, style) = if i == selected {
                ("▶ ", theme.style(Role::Selected))
            } else {
                ("  ", theme.style(Role::Dialog))
            };
            Some(
                Line::from(vec![
                    Span::raw(marker),
                    Span::styled(
                        format!("{:<NAME_COLUMN$} ", text::shown(action.name.as_str())),
                        theme.style(Role::TitleFocused),
                    ),
                    Span::raw(text::shown(action_description(action)).into_owned()),
                ])
                .style(style),
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
