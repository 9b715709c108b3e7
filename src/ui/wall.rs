//! The NOC wall: what a room reads from across the floor. The counts, what is firing and where,
//! the vault's seal, the jobs, and whether any of it is fresh; the focused pane below rotates.
//!
//! Words are never cut: each part has wordings from long to short and shows the longest that
//! fits, or nothing.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use tui_big_text::{BigText, PixelSize};
use unicode_width::UnicodeWidthStr;

use crate::columns::format::age;

/// `20s`, `5m`: a configured duration as the wall says it.
fn duration(duration: std::time::Duration) -> String {
    crate::columns::format::duration(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}
use crate::config::keymap::KeyContext;
use crate::config::theme::{Role, Theme};
use crate::model::{HostStatus, Severity, SourceStatus};
use crate::msg::Command;
use crate::state::{
    AlertGroup, AppState, Seal, WALL_PAGES, alert_groups, data_stale, firing_counts, freshness,
    job_counts, seal_tiles,
};
use crate::ui::layout::{self, WallAreas};
use crate::ui::panes::{severity_role, status_role};
use crate::ui::{Ui, text};

/// Below this many columns per OpenBao node, the nodes share one tile.
const SEAL_TILE_WIDTH: usize = 16;
/// Rows one alert group takes in large letters: four of glyphs and one of space.
const BIG_GROUP_ROWS: u16 = 5;

pub(super) fn areas(state: &AppState, body: Rect) -> WallAreas {
    let lines = u16::try_from(alert_groups(state).len().max(1)).unwrap_or(u16::MAX);
    layout::wall(body, data_stale(state), lines)
}

pub(super) fn draw(frame: &mut Frame, areas: WallAreas, ui: &Ui) {
    if let Some(banner) = areas.banner {
        draw_banner(frame, banner, ui);
    }
    draw_count_tiles(frame, areas.tiles, ui);
    draw_strip(frame, areas.strip, ui);
    draw_firing(frame, areas.firing, ui);
    draw_pages(frame, areas.pages, ui);
}

/// The longest of `wordings` that fits in `width` columns, if any.
fn longest_fitting(wordings: &[String], width: u16) -> Option<&str> {
    wordings
        .iter()
        .map(String::as_str)
        .find(|w| w.width() <= usize::from(width))
}

fn draw_banner(frame: &mut Frame, area: Rect, ui: &Ui) {
    let (state, style) = (ui.state, ui.theme.style(Role::NoData));
    frame.render_widget(Block::new().style(style), area);
    let since = match freshness(state).freshest {
        Some(at) => format!(
            "newest data {} UTC, {} ago",
            text::hh_mm(at),
            age(state.now, at)
        ),
        None => "no source has answered yet".to_owned(),
    };
    let wordings = [
        format!("DATA STALE · every source is failing or stale · {since}"),
        format!("DATA STALE · {since}"),
        "DATA STALE".to_owned(),
        "STALE".to_owned(),
    ];
    if area.height >= 6 {
        let [big, detail] =
            Layout::vertical([Constraint::Length(5), Constraint::Length(1)]).areas(area);
        let glyphs = BigText::builder()
            .pixel_size(PixelSize::HalfHeight)
            .style(style)
            .centered()
            .lines(vec!["DATA STALE".into()])
            .build();
        frame.render_widget(glyphs, Rect::new(big.x, big.y + 1, big.width, 4));
        let line = longest_fitting(&wordings[..2], detail.width)
            .map(|w| w.trim_start_matches("DATA STALE · "))
            .unwrap_or_default();
        centred(frame, detail, line, style);
    } else if let Some(line) = longest_fitting(&wordings, area.width) {
        centred(frame, area, line, style);
    }
}

fn centred(frame: &mut Frame, area: Rect, line: &str, style: Style) {
    frame.render_widget(
        Paragraph::new(line.to_owned())
            .style(style)
            .alignment(Alignment::Center),
        area,
    );
}

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

fn draw_count_tiles(frame: &mut Frame, area: Rect, ui: &Ui) {
    let state = ui.state;
    let (mut up, mut degraded, mut down) = (0, 0, 0);
    let mut stale = state.stale_check();
    for host in &state.data.hosts {
        match stale.host_status(host) {
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
        draw_count_tile(frame, tile_area, tile, ui.theme);
    }
}

fn draw_count_tile(frame: &mut Frame, area: Rect, tile: &Tile, theme: &Theme) {
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
    let wordings = match tile.count {
        Count::Known(count) => vec![count.to_string()],
        Count::NoData => vec!["NO DATA".to_owned(), "N/A".to_owned()],
        Count::Waiting => vec!["WAITING".to_owned(), "…".to_owned()],
    };
    let text = wordings[0].clone();
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
            let line = longest_fitting(&wordings, inner.width).unwrap_or_default();
            centred(
                frame,
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
                line,
                style,
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

/// A bordered tile of the strip: a title, and one line in the longest wording that fits.
struct StripTile {
    title: String,
    wordings: Vec<String>,
    role: Role,
    /// Takes only the room its words need; the others share the rest.
    fixed: bool,
}

impl StripTile {
    fn width(&self) -> u16 {
        let words = self.wordings.first().map_or(0, |w| w.width());
        u16::try_from(words.max(self.title.width()) + 4).unwrap_or(u16::MAX)
    }
}

fn draw_strip(frame: &mut Frame, area: Rect, ui: &Ui) {
    let mut tiles = seal_strip(ui.state, area.width);
    tiles.push(jobs_tile(ui.state));
    tiles.push(data_tile(ui.state));
    let constraints = tiles.iter().map(|tile| match tile.fixed {
        true => Constraint::Length(tile.width()),
        false => Constraint::Fill(1),
    });
    let areas = Layout::horizontal(constraints).split(area);
    for (tile, &tile_area) in tiles.iter().zip(areas.iter()) {
        let style = ui.theme.style(tile.role);
        let title = text::fit(tile.title.as_str(), tile_area.width.saturating_sub(4));
        let block = Block::bordered()
            .border_style(style)
            .title(format!(" {title} "));
        let inner = block.inner(tile_area);
        frame.render_widget(block, tile_area);
        if let Some(line) = longest_fitting(&tile.wordings, inner.width) {
            centred(frame, inner, line, style);
        }
    }
}

/// A tile per OpenBao node, sealed ones in the critical colour with their unseal progress; one
/// tile for all of them when there are too many for the width.
fn seal_strip(state: &AppState, width: u16) -> Vec<StripTile> {
    let seals = seal_tiles(state);
    if seals.is_empty() {
        return Vec::new();
    }
    if seals.len() * SEAL_TILE_WIDTH > usize::from(width) / 2 {
        let sealed = seals
            .iter()
            .filter(|s| matches!(s.seal, Seal::Sealed { .. }))
            .count();
        let unknown = seals
            .iter()
            .filter(|s| matches!(s.seal, Seal::Unknown(_)))
            .count();
        let (role, wordings) = match (sealed, unknown) {
            (0, 0) => (Role::StatusUp, vec!["all unsealed".to_owned()]),
            (0, unknown) => (
                Role::StatusUnknown,
                vec![format!("{unknown} unknown"), "?".to_owned()],
            ),
            (sealed, _) => (
                Role::AlertCritical,
                vec![
                    format!("{sealed} of {} sealed", seals.len()),
                    format!("{sealed} sealed"),
                ],
            ),
        };
        return vec![StripTile {
            title: "OPENBAO".to_owned(),
            wordings,
            role,
            fixed: true,
        }];
    }
    seals
        .into_iter()
        .map(|tile| {
            let (role, wordings) = match tile.seal {
                Seal::Unsealed => (Role::StatusUp, vec!["unsealed".to_owned()]),
                Seal::Sealed {
                    progress,
                    threshold,
                } => {
                    let progress = match (progress, threshold) {
                        (Some(p), Some(t)) => format!("SEALED {p}/{t}"),
                        _ => "SEALED".to_owned(),
                    };
                    (Role::AlertCritical, vec![progress, "SEALED".to_owned()])
                }
                Seal::Unknown(HostStatus::Stale) => (Role::StatusStale, vec!["STALE".to_owned()]),
                Seal::Unknown(HostStatus::Down) => (Role::StatusDown, vec!["DOWN".to_owned()]),
                Seal::Unknown(_) => (Role::StatusUnknown, vec!["unknown".to_owned()]),
            };
            StripTile {
                title: text::shown(tile.node).into_owned(),
                wordings,
                role,
                fixed: true,
            }
        })
        .collect()
}

fn jobs_tile(state: &AppState) -> StripTile {
    let title = "JOBS".to_owned();
    if state.store_connecting || state.store_error.is_some() {
        // Jobs live in the store: without it, none running is not known.
        return StripTile {
            title,
            wordings: vec!["store unavailable".to_owned(), "no store".to_owned()],
            role: Role::StatusUnknown,
            fixed: false,
        };
    }
    let counts = job_counts(state);
    let (running, failed) = (counts.running, counts.failed);
    let role = match (running, failed) {
        (_, 1..) => Role::OutcomeFailed,
        (1.., 0) => Role::Title,
        (0, 0) => Role::Dim,
    };
    StripTile {
        title,
        wordings: vec![
            format!("{running} running · {failed} failed in 24h"),
            format!("{running} running · {failed} failed"),
            format!("{running} run · {failed} fail"),
        ],
        role,
        fixed: false,
    }
}

/// How fresh the data is: the newest answer and the oldest, naming the source behind it.
fn data_tile(state: &AppState) -> StripTile {
    let fresh = freshness(state);
    let age_of = |at: Option<_>| at.map_or_else(|| "never".to_owned(), |at| age(state.now, at));
    let newest = age_of(fresh.freshest);
    let statuses: Vec<SourceStatus> = state
        .sources
        .iter()
        .map(|s| state.source_status(s))
        .collect();
    let role = if statuses.contains(&SourceStatus::Pending) {
        Role::StatusUnknown
    } else if statuses.iter().any(|s| *s != SourceStatus::Ok) {
        Role::StatusStale
    } else {
        Role::Dim
    };
    let mut wordings = Vec::new();
    if let Some((name, at)) = fresh.stalest {
        let oldest = age_of(at);
        wordings.push(format!(
            "newest {newest} · oldest {oldest} ({})",
            text::shown(name)
        ));
        wordings.push(format!("newest {newest} · oldest {oldest}"));
        wordings.push(format!("oldest {oldest}"));
    } else {
        wordings.push("no sources configured".to_owned());
        wordings.push("none".to_owned());
    }
    StripTile {
        title: "DATA".to_owned(),
        wordings,
        role,
        fixed: false,
    }
}

fn draw_firing(frame: &mut Frame, area: Rect, ui: &Ui) {
    let (state, theme) = (ui.state, ui.theme);
    let groups = alert_groups(state);
    let loud: usize = groups
        .iter()
        .filter(|g| !g.silenced)
        .map(AlertGroup::count)
        .sum();
    let worst = groups.iter().find(|g| !g.silenced).map(|g| g.severity);
    let border = worst.map_or(theme.style(Role::Border), |s| theme.style(severity_role(s)));
    // Without data, a count would pass old news off as the present.
    let title = if state.alerts_have_no_data() {
        " FIRING ".to_owned()
    } else {
        format!(" FIRING {loud} ")
    };
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(border)
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let say = |frame: &mut Frame, words: &[&str], role: Role| {
        let wordings: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        if let Some(line) = longest_fitting(&wordings, inner.width) {
            let row = Rect { height: 1, ..inner };
            frame.render_widget(
                Paragraph::new(line.to_owned()).style(theme.style(role)),
                row,
            );
        }
    };
    if state.alerts_have_no_data() {
        return say(
            frame,
            &["NO DATA: every alert source is failing", "NO DATA"],
            Role::NoData,
        );
    }
    if groups.is_empty() {
        return if state.alerts_pending() {
            say(
                frame,
                &["waiting for sources", "waiting"],
                Role::StatusUnknown,
            )
        } else {
            say(frame, &["nothing firing", "none"], Role::StatusUp)
        };
    }
    let longest_name = groups.iter().map(|g| g.name.width()).max().unwrap_or(0);
    let big = usize::from(inner.height) >= groups.len() * usize::from(BIG_GROUP_ROWS)
        && usize::from(inner.width) >= longest_name * 4 + 36;
    if big {
        draw_big_groups(frame, inner, ui, &groups, longest_name);
    } else {
        draw_group_lines(frame, inner, ui, &groups);
    }
}

/// How a group reads: dimmed when silenced, reversed while it holds a new critical alert.
fn group_style(group: &AlertGroup, theme: &Theme) -> Style {
    if group.silenced {
        theme.style(Role::Silenced)
    } else if group.new {
        theme
            .style(severity_role(group.severity))
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        theme.style(severity_role(group.severity))
    }
}

/// One line a group: severity, name and count, its targets, since when.
fn draw_group_lines(frame: &mut Frame, inner: Rect, ui: &Ui, groups: &[AlertGroup]) {
    let rows = usize::from(inner.height);
    let (shown, hidden) = if groups.len() > rows {
        (
            &groups[..rows.saturating_sub(1)],
            &groups[rows.saturating_sub(1)..],
        )
    } else {
        (groups, &[][..])
    };
    let name_width = shown
        .iter()
        .map(|g| head(g).width())
        .max()
        .unwrap_or(0)
        .min(usize::from(inner.width) / 2);
    let mut lines: Vec<Line> = shown
        .iter()
        .map(|group| {
            let style = group_style(group, ui.theme);
            let since = group
                .since
                .map_or_else(String::new, |at| age(ui.state.now, at));
            let head = head(group);
            let head = format!(
                "{:<name_width$}",
                text::fit(head.as_str(), name_width as u16)
            );
            let room = usize::from(inner.width).saturating_sub(head.width() + since.width() + 4);
            let targets = targets_text(&group.targets, room);
            let gap = room.saturating_sub(targets.width());
            Line::from(vec![
                Span::styled(head, style),
                Span::styled(
                    format!("  {targets}{}  ", " ".repeat(gap)),
                    ui.theme.style(role_of(group)),
                ),
                Span::styled(since, ui.theme.style(role_of(group))),
            ])
        })
        .collect();
    if !hidden.is_empty() {
        let alerts: usize = hidden.iter().map(AlertGroup::count).sum();
        let more = [
            format!("+{} more groups ({alerts} alerts)", hidden.len()),
            format!("+{} more", hidden.len()),
        ];
        if let Some(line) = longest_fitting(&more, inner.width) {
            lines.push(Line::styled(line.to_owned(), ui.theme.style(Role::Dim)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The base text colour of a group's details: dimmed when silenced.
fn role_of(group: &AlertGroup) -> Role {
    if group.silenced {
        Role::Silenced
    } else {
        Role::Base
    }
}

/// `CRITICAL NEW ServiceDown ×2`: what the group is, first on its line.
fn head(group: &AlertGroup) -> String {
    format!(
        "{:<8} {} {}",
        badge(group),
        text::shown(group.name),
        tally(group)
    )
}

/// `CRITICAL`, `CRITICAL NEW`.
fn badge(group: &AlertGroup) -> String {
    let severity = group.severity.as_str().to_uppercase();
    if group.new {
        format!("{severity} NEW")
    } else {
        severity
    }
}

/// `×2`, `×2 (silenced)`.
fn tally(group: &AlertGroup) -> String {
    let silenced = if group.silenced { " (silenced)" } else { "" };
    format!("×{}{silenced}", group.count())
}

/// As many whole targets as fit in `width` columns, then how many more; never half a name.
fn targets_text(targets: &[&str], width: usize) -> String {
    let mut shown = String::new();
    for (i, target) in targets.iter().enumerate() {
        let target = text::shown(*target);
        let rest = targets.len() - i - 1;
        let more = if rest > 0 {
            format!(", +{rest} more")
        } else {
            String::new()
        };
        let separator = if shown.is_empty() { "" } else { ", " };
        let candidate = format!("{shown}{separator}{target}");
        let fits_with_more = candidate.width() + more.width() <= width;
        if fits_with_more || (rest == 0 && candidate.width() <= width) {
            shown = candidate;
            continue;
        }
        let left = targets.len() - i;
        let tail = if shown.is_empty() {
            format!("{left} targets")
        } else {
            format!("{shown}, +{left} more")
        };
        return if tail.width() <= width { tail } else { shown };
    }
    shown
}

/// Five rows a group: its name in large letters, what and where beside it.
fn draw_big_groups(
    frame: &mut Frame,
    inner: Rect,
    ui: &Ui,
    groups: &[AlertGroup],
    longest_name: usize,
) {
    let name_width = u16::try_from(longest_name * 4).unwrap_or(u16::MAX);
    for (i, group) in groups.iter().enumerate() {
        let y = inner.y + u16::try_from(i).unwrap_or(u16::MAX) * BIG_GROUP_ROWS;
        let row = Rect::new(inner.x, y, inner.width, BIG_GROUP_ROWS - 1);
        let [name, details] =
            Layout::horizontal([Constraint::Length(name_width), Constraint::Fill(1)])
                .spacing(2)
                .areas(row);
        let style = group_style(group, ui.theme);
        let glyphs = BigText::builder()
            .pixel_size(PixelSize::Quadrant)
            .style(style)
            .lines(vec![text::shown(group.name).into_owned().into()])
            .build();
        frame.render_widget(glyphs, name);
        let since = group.since.map_or_else(String::new, |at| {
            format!("firing for {}", age(ui.state.now, at))
        });
        let detail = ui.theme.style(role_of(group));
        let lines = vec![
            // The name again in plain text, for a terminal's search and a screen reader.
            Line::styled(
                format!(
                    "{} {} {}",
                    badge(group),
                    text::shown(group.name),
                    tally(group)
                ),
                style,
            ),
            Line::styled(
                targets_text(&group.targets, usize::from(details.width)),
                detail,
            ),
            Line::styled(since, detail),
        ];
        frame.render_widget(Paragraph::new(lines), details);
    }
}

/// `▶Hosts │ Alerts │ Jobs  every 20s · space pauses`.
fn draw_pages(frame: &mut Frame, area: Rect, ui: &Ui) {
    let (state, theme) = (ui.state, ui.theme);
    let mut spans = vec![Span::raw(" ")];
    for (i, page) in WALL_PAGES.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", theme.style(Role::Border)));
        }
        let (marker, role) = if *page == state.focus {
            ("▶", Role::TabActive)
        } else {
            (" ", Role::TabInactive)
        };
        spans.push(Span::styled(
            format!("{marker}{}", page.title()),
            theme.style(role),
        ));
    }
    let key = text::keys(ui.keymap, &[KeyContext::Global], Command::PauseRotation);
    let rotation = match (state.wall.paused, key) {
        (true, Some(key)) => format!("  PAUSED · {key} resumes"),
        (true, None) => "  PAUSED".to_owned(),
        (false, Some(key)) => format!(
            "  every {} · {key} pauses",
            duration(state.wall.config.rotate)
        ),
        (false, None) => format!("  every {}", duration(state.wall.config.rotate)),
    };
    let used: usize = spans.iter().map(Span::width).sum();
    if used + rotation.width() <= usize::from(area.width) {
        let role = if state.wall.paused {
            Role::StatusBarMode
        } else {
            Role::Dim
        };
        spans.push(Span::styled(rotation, theme.style(role)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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

    #[test]
    fn targets_are_listed_whole_then_counted() {
        let targets = ["api-dev", "api-prod", "api-staging"];
        assert_eq!(targets_text(&targets, 80), "api-dev, api-prod, api-staging");
        assert_eq!(targets_text(&targets, 28), "api-dev, api-prod, +1 more");
        assert_eq!(targets_text(&targets, 20), "api-dev, +2 more");
        assert_eq!(targets_text(&targets, 10), "3 targets");
        assert_eq!(targets_text(&targets, 5), "");
        assert_eq!(targets_text(&["api-dev"], 7), "api-dev");
    }
}
