//! `?`: every binding of the active keymap, grouped by context, with what it does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{popup, scrolled};
use crate::config::keymap::KeyContext;
use crate::config::theme::Role;
use crate::msg::Command;
use crate::ui::{Ui, layout, text};

const CONTEXTS: [(KeyContext, &str); 3] = [
    (KeyContext::Global, "In the panes"),
    (
        KeyContext::Dialog,
        "In dialogs and views (pane keys work there too)",
    ),
    (KeyContext::Input, "While typing (filter, palette)"),
];
const KEY_COLUMN: usize = 18;

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, scroll: u16) {
    let area = layout::popup(body, 70, 90, 60, 12);
    let inner = popup(
        frame,
        area,
        ui,
        &format!("Keys — keymap \"{}\"", ui.keymap.name),
    );
    if inner.is_empty() {
        return;
    }
    let theme = ui.theme;
    let header = theme.style(Role::Header);
    let key_style = theme.style(Role::TitleFocused);
    let mut lines = Vec::new();
    for (context, heading) in CONTEXTS {
        let bound: Vec<(String, Command)> = Command::ALL
            .iter()
            .filter_map(|&c| text::keys(ui.keymap, &[context], c).map(|keys| (keys, c)))
            .collect();
        if bound.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(Span::styled(heading, header)));
        for (keys, command) in bound {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<KEY_COLUMN$} "), key_style),
                Span::raw(command.description()),
            ]));
        }
    }

    // Commands no key reaches are still available from the palette; say so rather than hide
    // them.
    let palette = text::keys(ui.keymap, &[KeyContext::Global], Command::Palette);
    let unbound: Vec<Command> = crate::state::palette_matches("")
        .into_iter()
        .filter(|&c| {
            CONTEXTS
                .iter()
                .all(|&(context, _)| ui.keymap.keys_for(context, c).is_empty())
        })
        .collect();
    if !unbound.is_empty() {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        let heading = match &palette {
            Some(keys) => format!("No key — run from the command palette ({keys})"),
            None => "No key bound".to_owned(),
        };
        lines.push(Line::from(Span::styled(heading, header)));
        for command in unbound {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<KEY_COLUMN$} ", command.name()), key_style),
                Span::raw(command.description()),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from("This keymap binds no keys."));
    }
    scrolled(frame, inner, theme, lines, scroll);
}
