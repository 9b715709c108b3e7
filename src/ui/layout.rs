//! Where things go on the screen. Pure geometry: every function takes a `Rect` and returns
//! `Rect`s inside it, and none can panic on a tiny or empty area.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::state::Pane;

/// The body (panes, tiles) and the status bar on the last line.
pub fn screen(area: Rect) -> (Rect, Rect) {
    let [body, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    (body, status)
}

/// The dashboard: all five panes at once, Hosts and Alerts with the most room because they are
/// what an operator looks at first.
///
/// ```text
/// ┌ Hosts ───────────────────────────┐┌ Alerts ──────────────────────────┐
/// │                                  ││                                  │
/// │                                  ││                                  │  5/11
/// │                                  ││                                  │
/// └──────────────────────────────────┘└──────────────────────────────────┘
/// ┌ Sessions ───────────────────┐┌ Jobs ───────────────────────────────────┐
/// │                             ││                                         │  3/11
/// └─────────────────────────────┘└─────────────────────────────────────────┘
/// ┌ Audit ─────────────────────────────────────────────────────────────────┐
/// │                                                                        │  3/11
/// └────────────────────────────────────────────────────────────────────────┘
///  status bar
/// ```
pub fn dashboard(body: Rect) -> [(Pane, Rect); 5] {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Fill(5),
        Constraint::Fill(3),
        Constraint::Fill(3),
    ])
    .areas(body);
    let [hosts, alerts] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
    let [sessions, jobs] =
        Layout::horizontal([Constraint::Fill(2), Constraint::Fill(3)]).areas(middle);
    [
        (Pane::Hosts, hosts),
        (Pane::Alerts, alerts),
        (Pane::Sessions, sessions),
        (Pane::Jobs, jobs),
        (Pane::Audit, bottom),
    ]
}

/// One pane full-size under a one-line tab bar.
///
/// ```text
///  Hosts 12 │ Sessions 3 │ Jobs 4 │ Alerts 2 │ Audit 100
/// ┌ Hosts ─────────────────────────────────────────────┐
/// │                                                    │
/// └────────────────────────────────────────────────────┘
/// ```
pub fn tabbed(body: Rect) -> (Rect, Rect) {
    let [tabs, pane] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
    (tabs, pane)
}

/// Where the wall puts each of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallAreas {
    /// Across the top while the data is stale.
    pub banner: Option<Rect>,
    /// The count tiles.
    pub tiles: Rect,
    /// OpenBao nodes, jobs, and how fresh the data is.
    pub strip: Rect,
    /// The firing alerts, grouped.
    pub firing: Rect,
    /// Which page the rotating area shows, and whether it is paused.
    pub pages: Rect,
    /// The rotating page: the focused pane.
    pub pane: Rect,
}

/// The wall. Side by side where the screen is wide, stacked where it is not:
///
/// ```text
///   DATA STALE (only while every source is failing or stale)
/// ┏ HOSTS UP ┓┏ DEGRADED ┓┏ DOWN ┓┏ CRITICAL ┓┏ WARNING ┓┏ INFO ┓
/// ┃   ███    ┃┃    █     ┃┃  ██  ┃┃    ██    ┃┃   ███   ┃┃  █   ┃
/// ┗━━━━━━━━━━┛┗━━━━━━━━━━┛┗━━━━━━┛┗━━━━━━━━━━┛┗━━━━━━━━━┛┗━━━━━━┛
/// ┌ bao-1 ──┐┌ JOBS ───────────────┐┌ DATA ───────────────────────┐
/// └─────────┘└─────────────────────┘└─────────────────────────────┘
/// ┌ FIRING ───────────────────┐ ▶Hosts │ Alerts │ Jobs  every 20s
/// │ CRITICAL ServiceDown ×2   │┌ Hosts ─────────────────────────┐
/// └───────────────────────────┘└────────────────────────────────┘
/// ```
pub fn wall(body: Rect, stale: bool, firing_lines: u16) -> WallAreas {
    // Eight-row glyphs plus borders where the screen is tall, half-height glyphs on a middling
    // one, plain numbers on a small one.
    let tiles_height = match body.height {
        60.. => 10,
        36.. => 6,
        _ => 3,
    };
    let banner_height = match (stale, body.height, body.width) {
        (false, ..) => 0,
        (true, 40.., 90..) => 6,
        (true, ..) => 1,
    };
    let [banner, tiles, strip, main] = Layout::vertical([
        Constraint::Length(banner_height),
        Constraint::Length(tiles_height),
        Constraint::Length(3),
        Constraint::Fill(1),
    ])
    .areas(body);
    let (firing, rotating) = if main.width >= 120 {
        let [firing, rotating] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(main);
        (firing, rotating)
    } else {
        // Stacked: the alerts take what they need, up to half, borders included.
        let wanted = firing_lines.saturating_add(2).min(main.height / 2).max(3);
        let [firing, rotating] =
            Layout::vertical([Constraint::Length(wanted), Constraint::Fill(1)]).areas(main);
        (firing, rotating)
    };
    let [pages, pane] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(rotating);
    WallAreas {
        banner: stale.then_some(banner),
        tiles,
        strip,
        firing,
        pages,
        pane,
    }
}

/// A popup centred in `area`: `percent_x`×`percent_y` of it, at least `min_width`×`min_height`
/// where the area allows.
pub fn popup(area: Rect, percent_x: u16, percent_y: u16, min_width: u16, min_height: u16) -> Rect {
    let width = (u32::from(area.width) * u32::from(percent_x) / 100) as u16;
    let height = (u32::from(area.height) * u32::from(percent_y) / 100) as u16;
    let width = width.max(min_width).min(area.width);
    let height = height.max(min_height).min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// The first row to show so that `selected` is visible, computed from nothing but the
/// selection, so drawing keeps no scroll state. A couple of rows below the selection stay in
/// view while scrolling down, so the operator sees what comes next.
pub fn scroll_offset(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    let lookahead = (height / 4).min(2);
    (selected.min(len - 1) + lookahead + 1)
        .saturating_sub(height)
        .min(len - height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_and_a_little_lookahead_visible() {
        assert_eq!(scroll_offset(0, 100, 10), 0);
        assert_eq!(scroll_offset(7, 100, 10), 0);
        assert_eq!(scroll_offset(8, 100, 10), 1);
        assert_eq!(scroll_offset(50, 100, 10), 43);
        assert_eq!(scroll_offset(99, 100, 10), 90);
        assert_eq!(scroll_offset(500, 100, 10), 90);
        assert_eq!(scroll_offset(3, 5, 10), 0);
        assert_eq!(scroll_offset(3, 5, 0), 0);
        assert_eq!(scroll_offset(1, 5, 1), 1);
    }

    #[test]
    fn the_wall_fits_every_part_inside_any_body() {
        for (width, height) in [(0, 0), (10, 3), (80, 23), (160, 47), (320, 89)] {
            let body = Rect::new(0, 0, width, height);
            for stale in [false, true] {
                let areas = wall(body, stale, 40);
                let parts = [
                    areas.banner.unwrap_or_default(),
                    areas.tiles,
                    areas.strip,
                    areas.firing,
                    areas.pages,
                    areas.pane,
                ];
                for part in parts {
                    assert!(
                        body.union(part) == body || part.is_empty(),
                        "{part:?} in {body:?}"
                    );
                }
                assert_eq!(areas.banner.is_some(), stale);
            }
        }
    }

    #[test]
    fn popups_fit_inside_any_area() {
        let tiny = Rect::new(0, 0, 3, 2);
        let p = popup(tiny, 80, 80, 40, 10);
        assert!(tiny.contains(p.as_position()) || p.is_empty());
        assert_eq!((p.width, p.height), (3, 2));
        let big = Rect::new(0, 0, 100, 50);
        assert_eq!(popup(big, 50, 50, 10, 5), Rect::new(25, 12, 50, 25));
    }
}
