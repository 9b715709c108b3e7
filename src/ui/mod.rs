//! Drawing: a pure function of the state, the theme and the keymap.
//!
//! Nothing here does I/O, takes a lock or keeps state between frames; the scroll position of a
//! table is derived from its selection each frame. Tables are virtualised: a frame formats only
//! the rows that fit on screen, so its cost does not grow with the number of rows loaded.

mod layout;
mod overlays;

pub use overlays::help::sections as help_sections;
pub use overlays::job_log::rows as job_log_rows;
pub use overlays::scroll_limit as overlay_scroll_limit;
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
    let arrangement = Arrangement::new(state, body);
    match arrangement {
        Arrangement::Wall(areas) => wall::draw(frame, areas, &ui),
        Arrangement::Tabbed { tabs, .. } => draw_tabs(frame, tabs, &ui),
        Arrangement::Dashboard(_) => {}
    }
    for (pane, pane_area) in arrangement.panes(state) {
        let focused = pane == state.focus;
        let reserved = if focused { filter_lines } else { 0 };
        panes::draw(frame, pane_area, &ui, pane, focused, reserved);
    }
    let focused_area = arrangement.pane_area(state, state.focus).unwrap_or(body);

    statusbar::draw(frame, status, &ui);
    overlays::draw(frame, body, focused_area, &ui);
}

/// How the body of the screen is shared out for the state's size and mode.
enum Arrangement {
    /// Tiles and the firing alerts, the focused pane as the rotating page.
    Wall(layout::WallAreas),
    /// All five panes at once.
    Dashboard([(Pane, Rect); 5]),
    /// The focused pane under a tab bar.
    Tabbed { tabs: Rect, pane: Rect },
}

impl Arrangement {
    fn new(state: &AppState, body: Rect) -> Arrangement {
        if state.mode.wall {
            Arrangement::Wall(wall::areas(state, body))
        } else if state.is_dashboard() {
            Arrangement::Dashboard(layout::dashboard(body))
        } else {
            let (tabs, pane) = layout::tabbed(body);
            Arrangement::Tabbed { tabs, pane }
        }
    }

    /// Every pane on screen and where.
    fn panes(&self, state: &AppState) -> Vec<(Pane, Rect)> {
        match *self {
            Arrangement::Dashboard(panes) => panes.to_vec(),
            Arrangement::Wall(layout::WallAreas { pane, .. })
            | Arrangement::Tabbed { pane, .. } => {
                vec![(state.focus, pane)]
            }
        }
    }

    fn pane_area(&self, state: &AppState, pane: Pane) -> Option<Rect> {
        self.panes(state)
            .into_iter()
            .find_map(|(p, area)| (p == pane).then_some(area))
    }
}

/// The columns of `pane` on screen, in order, worked out from the state as drawing lays them
/// out: `s` cycles through these, so the sort arrow is always in sight. Empty when the pane is
/// not on screen.
pub fn shown_columns(state: &AppState, pane: Pane) -> Vec<usize> {
    let (body, _) = layout::screen(Rect::new(0, 0, state.size.0, state.size.1));
    Arrangement::new(state, body)
        .pane_area(state, pane)
        .map(|area| panes::shown_columns(state, pane, area, pane == state.focus))
        .unwrap_or_default()
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
