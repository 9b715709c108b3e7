//! Drawing: a pure function of the state, the theme and the keymap.
//!
//! Nothing here does I/O, takes a lock or keeps state between frames; the scroll position of a
//! table is derived from its selection each frame. Tables are virtualised: a frame formats only
//! the rows that fit on screen, so its cost does not grow with the number of rows loaded.

mod layout;
mod overlays;
mod panes;
mod statusbar;
mod text;
mod wall;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::state::{AppState, Overlay, Pane};

/// What every drawing function reads.
#[derive(Clone, Copy)]
struct Ui<'a> {
    state: &'a AppState,
    theme: &'a Theme,
    keymap: &'a Keymap,
}

/// Draws the whole screen for `state`.
pub fn draw(frame: &mut Frame, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let ui = Ui {
        state,
        theme,
        keymap,
    };
    frame.render_widget(Block::new().style(theme.style(Role::Base)), area);
    let (body, status) = layout::screen(area);

    // The filter input sits on the last line inside the focused pane.
    let filter_lines = u16::from(matches!(state.overlay, Overlay::Filter(_)));
    let focused_area = if state.mode.wall {
        let (tiles, pane) = layout::wall(body);
        wall::draw(frame, tiles, &ui);
        panes::draw(frame, pane, &ui, state.focus, true, filter_lines);
        pane
    } else if state.is_dashboard() {
        let mut focused_area = body;
        for (pane, pane_area) in layout::dashboard(body) {
            let focused = pane == state.focus;
            if focused {
                focused_area = pane_area;
            }
            panes::draw(
                frame,
                pane_area,
                &ui,
                pane,
                focused,
                if focused { filter_lines } else { 0 },
            );
        }
        focused_area
    } else {
        let (tabs, pane) = layout::tabbed(body);
        draw_tabs(frame, tabs, &ui);
        panes::draw(frame, pane, &ui, state.focus, true, filter_lines);
        pane
    };

    statusbar::draw(frame, status, &ui);
    overlays::draw(frame, body, focused_area, &ui);
}

/// `Hosts 12 │ Sessions 3 │ …`: every pane with its visible row count, the focused one
/// highlighted.
fn draw_tabs(frame: &mut Frame, area: Rect, ui: &Ui) {
    let mut spans = Vec::with_capacity(Pane::ALL.len() * 2);
    for pane in Pane::ALL {
        if !spans.is_empty() {
            spans.push(Span::styled("│", ui.theme.style(Role::Border)));
        }
        let (marker, role) = if pane == ui.state.focus {
            ("▶", Role::TabActive)
        } else {
            (" ", Role::TabInactive)
        };
        spans.push(Span::styled(
            format!(
                "{marker}{} {} ",
                pane.title(),
                ui.state.view(pane).rows.len()
            ),
            ui.theme.style(role),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
