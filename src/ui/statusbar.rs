//! The bottom line. Left to right in order of urgency — mode badges, firing alerts, sources,
//! operator, store — so a narrow terminal drops the least urgent parts, whole, from the right;
//! the clock and the help key stay pinned on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::config::keymap::KeyContext;
use crate::config::theme::Role;
use crate::msg::Command;
use crate::state::firing_counts;
use crate::ui::panes::severity_role;
use crate::ui::{Ui, text};

const SEPARATOR: &str = " │ ";

/// One part of the bar: its full wording, then shorter ones to try when space is short.
#[derive(Clone)]
struct Segment<'a> {
    wordings: Vec<Vec<Span<'a>>>,
    /// Worth showing cut rather than not at all (the notice, the store's address).
    cut_to_fit: bool,
}

pub(super) fn draw(frame: &mut Frame, area: Rect, ui: &Ui) {
    let bar = ui.theme.style(Role::StatusBar);
    let mut right = vec![
        Span::styled(SEPARATOR, bar),
        Span::styled(format!("{} UTC", clock(ui)), bar),
    ];
    if let Some(keys) = text::keys(ui.keymap, &[KeyContext::Global], Command::Help) {
        right.push(Span::styled(SEPARATOR, bar));
        right.push(Span::styled(format!("{keys} help"), bar));
    }
    right.push(Span::styled(" ", bar));
    let right = Line::from(right);
    let right_width = u16::try_from(right.width()).unwrap_or(u16::MAX);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);

    let width = usize::from(left_area.width);
    let all = segments(ui, bar);
    // Long wordings when everything but the store's address fits; otherwise short ones, so the
    // operator is not dropped for the sake of spelling out "failing".
    let (mut left, placed) = fit_segments(all.clone(), width, bar, false);
    if placed + 1 < all.len() {
        (left, _) = fit_segments(all, width, bar, true);
    }
    frame.render_widget(Paragraph::new(Line::from(left)).style(bar), left_area);
    frame.render_widget(Paragraph::new(right).style(bar), right_area);
}

/// `14:05`, or `14:05:09` on a wall configured to show seconds (and so redrawn every second).
fn clock(ui: &Ui) -> String {
    let now = ui.state.now;
    if ui.state.mode.wall && ui.state.wall.config.seconds {
        format!("{}:{:02}", text::hh_mm(now), chrono::Timelike::second(&now))
    } else {
        text::hh_mm(now)
    }
}

/// Takes segments in order, each in the longest (or, with `short`, the shortest) wording that
/// still fits, and stops at the first that does not fit at all. Returns the spans and how many
/// segments were placed.
fn fit_segments<'a>(
    segments: Vec<Segment<'a>>,
    width: usize,
    bar: Style,
    short: bool,
) -> (Vec<Span<'a>>, usize) {
    let spans_width = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let mut line = vec![Span::styled(" ", bar)];
    let mut used = 1;
    let mut placed = 0;
    for (i, segment) in segments.into_iter().enumerate() {
        let Segment {
            mut wordings,
            cut_to_fit: may_cut,
        } = segment;
        if short {
            wordings.reverse();
        }
        let separator = if i == 0 { 0 } else { SEPARATOR.width() };
        if used + separator >= width {
            break;
        }
        let room = width - used - separator;
        let longest = if short {
            wordings.last()
        } else {
            wordings.first()
        };
        let cut = may_cut.then(|| longest.cloned()).flatten();
        let fitting = wordings
            .into_iter()
            .find(|spans| spans_width(spans) <= room)
            .or_else(|| cut_to_fit(cut, room));
        let Some(spans) = fitting else { break };
        if separator > 0 {
            line.push(Span::styled(SEPARATOR, bar));
        }
        used += separator + spans_width(&spans);
        line.extend(spans);
        placed += 1;
    }
    (line, placed)
}

/// `spans` cut to `width` columns with a trailing `…`; `None` when too little would be left.
fn cut_to_fit(spans: Option<Vec<Span<'_>>>, width: usize) -> Option<Vec<Span<'_>>> {
    const WORTH_SHOWING: usize = 12;
    if width < WORTH_SHOWING {
        return None;
    }
    let mut left = width;
    let mut cut = Vec::new();
    for span in spans? {
        if left == 0 {
            break;
        }
        let span_width = span.width();
        let text = text::fit(span.content, u16::try_from(left).unwrap_or(u16::MAX));
        left -= span_width.min(left);
        cut.push(Span::styled(text, span.style));
    }
    Some(cut)
}

/// `alice · 2 other consoles`: who this is and, with a store read, how many other consoles are
/// open on it (the others' rows are in the Sessions pane).
fn operator_wordings<'a>(state: &'a crate::state::AppState, bar: Style) -> Vec<Vec<Span<'a>>> {
    let name = text::shown(state.operator.as_str());
    let store_read = state.store_error.is_none() && !state.store_connecting;
    let others = state
        .data
        .sessions
        .iter()
        .filter(|s| s.source == crate::store::OPERATOR_SESSIONS_SOURCE)
        .count()
        // One of them is this console's own.
        .saturating_sub(1);
    let mut wordings = Vec::new();
    if store_read && others > 0 {
        let consoles = if others == 1 { "console" } else { "consoles" };
        wordings.push(vec![Span::styled(
            format!("{name} · {others} other {consoles}"),
            bar,
        )]);
        wordings.push(vec![Span::styled(format!("{name} +{others}"), bar)]);
    }
    wordings.push(vec![Span::styled(name, bar)]);
    wordings
}

fn segments<'a>(ui: &Ui<'a>, bar: Style) -> Vec<Segment<'a>> {
    let Ui { state, theme, .. } = *ui;
    let mut segments: Vec<Vec<Vec<Span>>> = Vec::new();

    let badge = theme.style(Role::StatusBarMode);
    let mut badges = Vec::new();
    if state.mode.read_only {
        badges.push(Span::styled(" READ-ONLY ", badge));
    }
    if state.mode.wall {
        if !badges.is_empty() {
            badges.push(Span::styled(" ", bar));
        }
        badges.push(Span::styled(" WALL ", badge));
    }
    if !badges.is_empty() {
        segments.push(vec![badges]);
    }
    // Another console's two-person request waits for someone to approve it.
    let waiting = state.approvals_waiting();
    if waiting > 0 {
        let style = theme.style(Role::StatusBarMode);
        let approvals = if waiting == 1 {
            "approval"
        } else {
            "approvals"
        };
        segments.push(vec![
            vec![Span::styled(
                format!(" {waiting} {approvals} waiting "),
                style,
            )],
            vec![Span::styled(format!(" {waiting} appr "), style)],
        ]);
    }
    // The answer to the operator's last key comes before everything that was there before it.
    let notice_at = state.notice.as_ref().map(|notice| {
        segments.push(vec![vec![Span::styled(
            format!(" {} ", text::shown(notice.as_str())),
            theme.style(Role::StatusBarMode),
        )]]);
        segments.len() - 1
    });

    if state.alerts_have_no_data() {
        segments.push(vec![vec![Span::styled(
            "alerts NO DATA",
            theme.style(Role::NoData),
        )]]);
    } else {
        let counts = firing_counts(state.shown_alerts());
        let waiting = state.alerts_pending();
        if counts.is_empty() && waiting {
            segments.push(vec![vec![Span::styled(
                "waiting for sources",
                theme.style(Role::StatusUnknown),
            )]]);
        } else if counts.is_empty() {
            segments.push(vec![vec![Span::styled("no alerts firing", bar)]]);
        } else {
            let wording = |short: bool| {
                let mut spans = Vec::new();
                for (severity, count) in &counts {
                    if !spans.is_empty() {
                        spans.push(Span::styled(" ", bar));
                    }
                    let name = severity.as_str();
                    let name = if short { &name[..4] } else { name };
                    spans.push(Span::styled(
                        format!("{count} {name}"),
                        theme.style(severity_role(*severity)),
                    ));
                }
                // What is firing is known; that more may be is worth the words when they fit.
                if waiting && !short {
                    spans.push(Span::styled(", waiting for sources", bar));
                }
                spans
            };
            segments.push(vec![wording(false), wording(true)]);
        }
    }

    let (ok, failing, stale) = state.source_counts();
    let failing_style = if failing > 0 {
        theme.style(Role::Error)
    } else {
        bar
    };
    let stale_style = if stale > 0 {
        theme.style(Role::StatusStale)
    } else {
        bar
    };
    segments.push(vec![
        vec![
            Span::styled(format!("sources {ok} ok, "), bar),
            Span::styled(format!("{failing} failing"), failing_style),
            Span::styled(", ", bar),
            Span::styled(format!("{stale} stale"), stale_style),
        ],
        vec![
            Span::styled(format!("src {ok} ok "), bar),
            Span::styled(format!("{failing} fail"), failing_style),
            Span::styled(" ", bar),
            Span::styled(format!("{stale} stale"), stale_style),
        ],
    ]);

    // A store that is down or not yet read means actions cannot be audited: that outranks who
    // is logged in.
    let operator = operator_wordings(state, bar);
    match (&state.store_error, state.store_connecting) {
        (Some(error), _) => {
            segments.push(vec![
                vec![Span::styled(
                    format!(
                        "store unavailable — actions refused: {}",
                        text::shown(error.as_str())
                    ),
                    theme.style(Role::Error),
                )],
                vec![Span::styled(
                    "store unavailable — actions refused",
                    theme.style(Role::Error),
                )],
                vec![Span::styled("store unavailable", theme.style(Role::Error))],
            ]);
            segments.push(operator);
        }
        (None, true) => {
            segments.push(operator);
            segments.push(vec![vec![Span::styled(
                format!("store connecting… {}", state.store_label),
                bar,
            )]]);
        }
        (None, false) => {
            segments.push(operator);
            segments.push(vec![vec![Span::styled(
                format!("store {}", state.store_label),
                bar,
            )]]);
        }
    }
    let last = segments.len().saturating_sub(1);
    segments
        .into_iter()
        .enumerate()
        .map(|(i, wordings)| Segment {
            wordings,
            // The store's address, last, is worth showing cut too.
            cut_to_fit: i == last || Some(i) == notice_at,
        })
        .collect()
}
