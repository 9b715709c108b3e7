//! `?`: every binding of the active keymap, grouped by context, with what it does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{popup, scrolled};
use crate::config::keymap::{KeyContext, Keymap};
use crate::config::theme::{Role, Theme};
use crate::msg::Command;
use crate::state::{AppState, HelpSection};
use crate::ui::{Ui, layout, text};

const CONTEXTS: [(KeyContext, &str); 3] = [
    (KeyContext::Global, "In the panes"),
    (
        KeyContext::Dialog,
        "In dialogs and views (pane keys work there too)",
    ),
    (
        KeyContext::Input,
        "While typing (filter, palette, a target's name to confirm)",
    ),
];
const KEY_COLUMN: usize = 18;

/// Where the popup goes in the body of the screen.
pub(super) fn area(body: Rect) -> Rect {
    layout::popup(body, 70, 90, 60, 12)
}

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, scroll: u16) {
    let inner = popup(
        frame,
        area(body),
        ui,
        &format!("Keys — keymap \"{}\"", ui.keymap.name),
    );
    if inner.is_empty() {
        return;
    }
    scrolled(frame, inner, ui.theme, lines(ui.state, ui.theme), scroll);
}

/// The popup's text, from the sections worked out at start-up.
pub(super) fn lines(state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let header = theme.style(Role::Header);
    let key_style = theme.style(Role::TitleFocused);
    let mut lines = Vec::new();
    for section in &state.help {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(Span::styled(section.heading.clone(), header)));
        for (keys, description) in &section.entries {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<KEY_COLUMN$} "), key_style),
                Span::raw(*description),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from("This keymap binds no keys."));
    }
    lines
}

/// Every binding of `keymap`, grouped by context, then the commands no key reaches.
pub fn sections(keymap: &Keymap) -> Vec<HelpSection> {
    let mut sections = Vec::new();
    for (context, heading) in CONTEXTS {
        let entries: Vec<(String, &'static str)> = Command::ALL
            .iter()
            .filter_map(|&c| text::keys(keymap, &[context], c).map(|keys| (keys, c.description())))
            .collect();
        if !entries.is_empty() {
            sections.push(HelpSection {
                heading: heading.to_owned(),
                entries,
            });
        }
    }

    // Commands no key reaches are still available from the palette; say so rather than hide
    // them.
    let unbound: Vec<(String, &'static str)> = crate::state::palette_matches("")
        .into_iter()
        .filter(|&c| {
            CONTEXTS
                .iter()
                .all(|&(context, _)| keymap.keys_for(context, c).is_empty())
        })
        .map(|c| (c.name().to_owned(), c.description()))
        .collect();
    if !unbound.is_empty() {
        let heading = match text::keys(keymap, &[KeyContext::Global], Command::Palette) {
            Some(keys) => format!("No key — run from the command palette ({keys})"),
            None => "No key bound".to_owned(),
        };
        sections.push(HelpSection {
            heading,
            entries: unbound,
        });
    }
    sections
}
