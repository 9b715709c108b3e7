//! NOC wall tiles: the numbers a room reads from across the floor.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::widgets::{Block, BorderType, Paragraph};
use tui_big_text::{BigText, PixelSize};

use crate::config::theme::{Role, Theme};
use crate::model::{HostStatus, Severity};
use crate::state::firing_counts;
use crate::ui::Ui;
use crate::ui::panes::{severity_role, status_role};

struct Tile {
    label: &'static str,
    count: Count,
    role: Role,
    /// Zero is good news for this tile and is drawn quietly.
    quiet_when_zero: bool,
}

/// What a tile can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Known(usize),
    /// Every source that would tell is failing.
    NoData,
    /// A source that would tell has not answered yet: a zero would read as all clear.
    Waiting,
}

pub(super) fn draw(frame: &mut Frame, area: Rect, ui: &Ui) {
    let state = ui.state;
    let (mut up, mut degraded, mut down) = (0, 0, 0);
    for host in &state.data.hosts {
        match state.host_status(host) {
            HostStatus::Up => up += 1,
            HostStatus::Degraded => degraded += 1,
            HostStatus::Down => down += 1,
            HostStatus::Stale | HostStatus::Unknown => {}
        }
    }
    let firing = firing_counts(state.shown_alerts());
    let (no_data, waiting) = (state.alerts_have_no_data(), state.alerts_pending());
    let alerts = |severity: Severity| match firing.get(&severity).copied().unwrap_or(0) {
        _ if no_data => Count::NoData,
        // A count already firing is true whatever the pending sources will add.
        0 if waiting => Count::Waiting,
        count => Count::Known(count),
    };
    let host_tile = |label, count, status, quiet_when_zero| Tile {
        label,
        count: Count::Known(count),
        role: status_role(status),
        quiet_when_zero,
    };
    let alert_tile = |label, severity| Tile {
        label,
        count: alerts(severity),
        role: severity_role(severity),
        quiet_when_zero: true,
    };
    let tiles = [
        host_tile("HOSTS UP", up, HostStatus::Up, false),
        host_tile("DEGRADED", degraded, HostStatus::Degraded, true),
        host_tile("DOWN", down, HostStatus::Down, true),
        alert_tile("CRITICAL", Severity::Critical),
        alert_tile("WARNING", Severity::Warning),
        alert_tile("INFO", Severity::Info),
    ];
    let areas = Layout::horizontal([Constraint::Fill(1); 6]).split(area);
    for (tile, &tile_area) in tiles.iter().zip(areas.iter()) {
        draw_tile(frame, tile_area, tile, ui.theme);
    }
}

fn draw_tile(frame: &mut Frame, area: Rect, tile: &Tile, theme: &Theme) {
    let quiet = tile.quiet_when_zero && tile.count == Count::Known(0);
    let style = match tile.count {
        Count::NoData => theme.style(Role::NoData),
        Count::Waiting => theme.style(Role::StatusUnknown),
        Count::Known(_) if quiet => theme.style(Role::Dim),
        Count::Known(_) => theme.style(tile.role),
    };
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(style)
        .title(format!(" {} ", tile.label))
        .title_alignment(Alignment::Center);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let text = match tile.count {
        Count::Known(count) => count.to_string(),
        Count::NoData => "NO DATA".to_owned(),
        Count::Waiting => "WAITING".to_owned(),
    };
    match glyph_size(inner, text.chars().count()) {
        Some((pixel_size, height)) => {
            let big = BigText::builder()
                .pixel_size(pixel_size)
                .style(style)
                .centered()
                .lines(vec![text.into()])
                .build();
            let y = inner.y + (inner.height - height) / 2;
            frame.render_widget(big, Rect { y, height, ..inner });
        }
        None => {
            let y = inner.y + inner.height.saturating_sub(1) / 2;
            frame.render_widget(
                Paragraph::new(text)
                    .style(style)
                    .alignment(Alignment::Center),
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
            );
        }
    }
}

/// The largest glyphs that fit: full 8×8 cells, half-height, then quadrants; `None` for plain
/// text.
fn glyph_size(inner: Rect, chars: usize) -> Option<(PixelSize, u16)> {
    let chars = u16::try_from(chars).unwrap_or(u16::MAX);
    [
        (PixelSize::Full, 8u16, 8u16),
        (PixelSize::HalfHeight, 8, 4),
        (PixelSize::Quadrant, 4, 4),
    ]
    .into_iter()
    .find(|&(_, width, height)| {
        inner.height >= height && inner.width >= width.saturating_mul(chars)
    })
    .map(|(size, _, height)| (size, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_shrink_to_fit_and_fall_back_to_text() {
        assert!(matches!(
            glyph_size(Rect::new(0, 0, 24, 8), 3),
            Some((PixelSize::Full, 8))
        ));
        assert!(matches!(
            glyph_size(Rect::new(0, 0, 24, 4), 3),
            Some((PixelSize::HalfHeight, 4))
        ));
        assert!(matches!(
            glyph_size(Rect::new(0, 0, 12, 8), 3),
            Some((PixelSize::Quadrant, 4))
        ));
        assert!(glyph_size(Rect::new(0, 0, 24, 1), 3).is_none());
    }
}
