//! The screen, as text: one snapshot per pane, layout, overlay and edge state.
//!
//! Review a changed snapshot by reading it (`cargo insta review`): these are how the team sees
//! the screen without running the console.

#[path = "support/screen_fixture.rs"]
mod screen_fixture;

use insta::assert_snapshot;
use ondeck::config::theme::{Role, Theme};
use ondeck::model::{HostStatus, JobRow, SourceStatus};
use ondeck::msg::Command;
use ondeck::state::{AppState, Mode, Overlay, Pane};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui_textarea::{CursorMove, TextArea};
use screen_fixture::*;

fn text_input(text: &str) -> Box<TextArea<'static>> {
    let mut input = TextArea::from([text]);
    input.move_cursor(CursorMove::End);
    Box::new(input)
}

#[test]
fn hosts_pane_80x24() {
    let state = fixture(80, 24);
    assert_snapshot!(render(&state).backend());
}

#[test]
fn sessions_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Sessions;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn jobs_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Jobs;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn alerts_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Alerts;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn audit_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Audit;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn dashboard_120x35() {
    let state = fixture(120, 35);
    assert!(state.is_dashboard());
    assert_snapshot!(render(&state).backend());
}

#[test]
fn dashboard_160x48() {
    let mut state = fixture(160, 48);
    state.focus = Pane::Alerts;
    state.mode.read_only = true;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn zoomed_pane_on_a_dashboard_sized_screen_shows_tabs() {
    let mut state = fixture(120, 35);
    state.zoomed = true;
    state.focus = Pane::Jobs;
    let text = screen_text(&render(&state));
    assert!(text.contains("▶Jobs 5"), "{text}");
    assert!(
        !text.contains(" Audit 9/9"),
        "other panes are hidden: {text}"
    );
}

#[test]
fn zoomed_jobs_pane_says_how_each_job_ended_160x48() {
    let mut state = fixture(160, 48);
    state.zoomed = true;
    state.focus = Pane::Jobs;
    let drill = JobRow {
        result: Some("drill passed · RTO 9.8s · 4 tables, 12840 rows, sentinel found".to_owned()),
        ..job(
            "7b3e5f10-9c2d-4a8e-b1f0-3d4c5e6f7a06",
            "drill-app-db",
            "app",
            "alice",
            "SUCCEEDED",
            Some(1.0),
            Some(600),
            Some(590),
        )
    };
    let mut jobs: Vec<JobRow> = state.data.jobs.iter().cloned().collect();
    jobs.push(drill);
    state.data.jobs = jobs.into();
    state.rebuild_all_views();
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(text.contains("RESULT"), "{text}");
    assert!(text.contains("drill passed · RTO 9.8s"), "{text}");
    assert!(text.contains("health check failed: HTTP 503"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay() {
    let mut state = fixture(120, 35);
    state.overlay = Overlay::Help { scroll: 0 };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn help_lists_every_binding_of_the_keymap() {
    let mut state = fixture(120, 60);
    state.overlay = Overlay::Help { scroll: 0 };
    let text = screen_text(&render(&state));
    for command in [Command::Quit, Command::ShowSources, Command::Cancel] {
        assert!(text.contains(command.description()), "{command:?}: {text}");
    }
    assert!(text.contains("q, ctrl-c"), "{text}");
}

#[test]
fn detail_overlay_of_a_sealed_openbao_node() {
    let mut state = fixture(80, 24);
    let sealed = state
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| state.data.hosts[i].name == "bao-1")
        .unwrap();
    state.view_mut(Pane::Hosts).selected = sealed;
    state.overlay = Overlay::Detail { scroll: 0 };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn detail_of_a_release_environment_shows_its_rollback_target() {
    let mut state = fixture(80, 24);
    let mut prod = host(
        "deploy",
        "prod",
        "release",
        HostStatus::Up,
        None,
        None,
        Some("v2.4.1"),
        20,
    );
    for (key, value) in [
        ("current_ref", "v2.4.1"),
        ("previous_ref", "v2.4.0"),
        ("environment", "prod"),
        ("deployed_by", "carol"),
    ] {
        prod.fields.insert(key.to_owned(), value.into());
    }
    state.data.hosts.push(prod);
    state.rebuild_view(Pane::Hosts);
    let row = state
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| state.data.hosts[i].name == "prod")
        .unwrap();
    state.view_mut(Pane::Hosts).selected = row;
    state.overlay = Overlay::Detail { scroll: 0 };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    let rollback = text.lines().find(|line| line.contains("rollback"));
    assert!(
        rollback.is_some_and(|line| line.contains("v2.4.1 → v2.4.0")),
        "{text}"
    );
    assert_snapshot!(terminal.backend());
}

#[test]
fn filter_overlay() {
    let mut state = fixture(80, 24);
    state.view_mut(Pane::Hosts).filter = "vm-".to_owned();
    state.rebuild_view(Pane::Hosts);
    state.overlay = Overlay::Filter(text_input("vm-"));
    assert_snapshot!(render(&state).backend());
}

#[test]
fn palette_overlay() {
    let mut state = fixture(80, 24);
    state.overlay = Overlay::Palette {
        input: text_input("focus"),
        selected: 2,
    };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn sources_overlay_shows_the_failing_source_error_in_full() {
    let mut state = fixture(120, 35);
    let failing = state
        .sources
        .iter()
        .position(|s| s.name == "alertmanager")
        .unwrap();
    state.overlay = Overlay::Sources { selected: failing };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(text.contains("retrying in 40s"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn waiting_for_first_poll() {
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        Mode::default(),
        now(),
    );
    state.sources = vec![
        source("local", "local", SourceStatus::Pending, 10),
        source("prometheus", "prometheus", SourceStatus::Pending, 15),
    ];
    state.alert_sources = vec!["prometheus".to_owned()];
    state.rebuild_all_views();
    assert_snapshot!(render(&state).backend());
}

#[test]
fn alerts_no_data_when_every_alert_source_fails() {
    let mut state = fixture(80, 24);
    state.data.alerts.clear();
    for source in &mut state.sources {
        if source.name == "prometheus" {
            source.status = SourceStatus::Failing;
            source.last_error = Some("HTTP 503 Service Unavailable".to_owned());
        }
    }
    state.rebuild_all_views();
    state.focus = Pane::Alerts;
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(
        text.contains("NO DATA — every alert source is failing"),
        "{text}"
    );
    assert!(!text.contains("no alerts firing"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn alerts_empty_with_healthy_sources_says_none_firing() {
    let mut state = fixture(80, 24);
    state.data.alerts.clear();
    state.sources.retain(|s| s.name != "alertmanager");
    state.rebuild_all_views();
    state.focus = Pane::Alerts;
    let text = screen_text(&render(&state));
    assert!(text.contains("no alerts firing"), "{text}");
    assert!(!text.contains("NO DATA"), "{text}");
}

#[test]
fn a_stale_host_is_shown_stale_not_up() {
    let state = fixture(80, 24);
    let text = screen_text(&render(&state));
    let line = text
        .lines()
        .find(|l| l.contains("vm-104-edge"))
        .expect("the stale host is on screen");
    assert!(line.contains("stale"), "{line}");
    assert!(line.contains("5m"), "its age is shown: {line}");
}

#[test]
fn status_bar_shows_operator_sources_alerts_clock_and_help_key() {
    let mut state = fixture(160, 48);
    state.mode.read_only = true;
    let text = screen_text(&render(&state));
    let status = text.lines().last().unwrap();
    for expected in [
        "READ-ONLY",
        "2 critical 1 warning 1 info",
        "sources 8 ok, 1 failing, 0 stale",
        "alice",
        "14:05 UTC",
        "? help",
    ] {
        assert!(status.contains(expected), "{expected:?} in {status}");
    }
}

#[test]
fn status_bar_shows_a_store_error() {
    let mut state = fixture(160, 48);
    state.store_error = Some("database is locked".to_owned());
    let text = screen_text(&render(&state));
    let status = text.lines().last().unwrap();
    assert!(
        status.contains("store unavailable — actions refused: database is locked"),
        "{status}"
    );
}

#[test]
fn status_bar_counts_the_other_consoles_on_the_store_once_it_is_read() {
    let mut state = fixture(160, 48);
    let console = |user: &str| session("ondeck", user, "pts/1", "active", 60);
    let others = vec![
        console("alice@ops-01"),
        console("bob@ops-02"),
        console("carol@ops-03"),
    ];
    state.data.sessions.replace("ondeck", others);
    let status = |state: &AppState| {
        screen_text(&render(state))
            .lines()
            .last()
            .unwrap()
            .to_owned()
    };
    assert!(
        status(&state).contains("alice · 2 other consoles"),
        "{}",
        status(&state)
    );
    state.store_error = Some("connection refused".to_owned());
    assert!(
        !status(&state).contains("other console"),
        "{}",
        status(&state)
    );
}

#[test]
fn only_the_rows_around_the_selection_are_drawn() {
    let mut state = fixture(80, 24);
    state.data.audit = (0..100_000)
        .map(|seq| audit(seq, 100_000 - seq, "alice", "backup", "proofpass", "ok"))
        .collect();
    state.rebuild_view(Pane::Audit);
    state.focus = Pane::Audit;
    // Newest first; select the oldest record, the last row of the view.
    state.view_mut(Pane::Audit).selected = 99_999;
    let text = screen_text(&render(&state));
    assert!(text.contains("req-7f3a0000"), "oldest record shown: {text}");
    assert!(
        !text.contains("req-7f3a99999"),
        "newest scrolled away: {text}"
    );
}

/// Where `text` starts on screen, searching row by row.
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    let chars: Vec<String> = text.chars().map(String::from).collect();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let matches = chars.iter().enumerate().all(|(i, ch)| {
                let x = x as usize + i;
                x < area.right() as usize && buffer[(x as u16, y)].symbol() == ch
            });
            if matches {
                return Some((x, y));
            }
        }
    }
    None
}

/// Asserts that every cell of the first `text` on screen is drawn in `role`: its colours where
/// the role sets them, the screen's base colours where it does not, and its modifiers.
fn assert_drawn_in(buffer: &Buffer, theme: &Theme, name: &str, text: &str, role: Role) {
    let (x, y) = find(buffer, text).unwrap_or_else(|| panic!("{name}: {text:?} on screen"));
    let want = theme.style(role);
    let base = theme.style(Role::Base);
    for dx in 0..text.chars().count() as u16 {
        let cell = &buffer[(x + dx, y)];
        let got = cell.style();
        assert_eq!(
            got.fg,
            want.fg.or(base.fg).or(Some(Color::Reset)),
            "theme {name}: foreground of {text:?} ({role:?})"
        );
        assert_eq!(
            got.bg,
            want.bg.or(base.bg).or(Some(Color::Reset)),
            "theme {name}: background of {text:?} ({role:?})"
        );
        assert!(
            cell.modifier.contains(want.add_modifier),
            "theme {name}: modifiers of {text:?} ({role:?}): {:?}",
            cell.modifier
        );
    }
}

/// Every shipped theme draws what matters in its roles: a critical alert in the critical
/// colour, a down host in the down colour, the focused pane's border in its colour.
#[test]
fn every_theme_colours_by_role() {
    let names: Vec<&str> = Theme::builtin_names().collect();
    assert!(names.len() >= 4, "shipped themes: {names:?}");
    for name in names {
        let theme = Theme::load(name).expect("a shipped theme loads");
        let mut state = fixture(160, 48);
        state.focus = Pane::Alerts;
        // The selection's highlight would cover the rows looked at; put it on the info alert.
        let last = state.view(Pane::Alerts).rows.len() - 1;
        state.view_mut(Pane::Alerts).selected = last;
        let terminal = render_with(&state, &theme);
        let buffer = terminal.backend().buffer();
        assert_drawn_in(buffer, &theme, name, "critical", Role::AlertCritical);
        assert_drawn_in(buffer, &theme, name, "down", Role::StatusDown);
        assert_drawn_in(buffer, &theme, name, "┏", Role::BorderFocused);
        assert_drawn_in(buffer, &theme, name, "silenced", Role::Silenced);

        // The wall and a small screen draw in every theme too.
        for (width, height, wall) in [(80, 24, false), (160, 48, true)] {
            let mut state = fixture(width, height);
            state.mode.wall = wall;
            let text = screen_text(&render_with(&state, &theme));
            assert!(text.contains("api-dev"), "theme {name} at {width}x{height}");
        }
    }
}

#[test]
fn tiny_and_empty_screens_do_not_panic() {
    let overlays: [fn() -> Overlay; 6] = [
        || Overlay::None,
        || Overlay::Help { scroll: u16::MAX },
        || Overlay::Detail { scroll: u16::MAX },
        || Overlay::Filter(text_input("prod")),
        || Overlay::Palette {
            input: text_input("zzz"),
            selected: 99,
        },
        || Overlay::Sources { selected: 99 },
    ];
    let sizes = [
        (0, 0),
        (1, 1),
        (10, 3),
        (20, 5),
        (40, 10),
        (80, 1),
        (1, 80),
        (120, 35),
        (119, 34),
    ];
    for (width, height) in sizes {
        for overlay in overlays {
            for (wall, zoomed) in [(false, false), (true, false), (false, true)] {
                let mut state = fixture(width, height);
                state.mode.wall = wall;
                state.zoomed = zoomed;
                state.overlay = overlay();
                // The terminal may have been resized since the state last heard of it.
                state.size = (width.saturating_add(50), height.saturating_add(20));
                let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
                terminal
                    .draw(|frame| ondeck::ui::draw(frame, &state, &theme(), &keymap()))
                    .unwrap();
            }
        }
    }
}

#[test]
fn control_and_format_characters_from_a_source_are_shown_escaped() {
    let mut state = fixture(160, 48);
    // An escape sequence and a bell; a C1 CSI (U+009B), a right-to-left override and a
    // zero-width space.
    let (mut hosts, mut alerts) = (state.data.hosts.to_vec(), state.data.alerts.to_vec());
    hosts[0].name = "\u{1b}[2J\u{7}".to_owned();
    hosts[1].name = "\u{9b}\u{202e}\u{200b}".to_owned();
    alerts[0].summary = "\u{1b}]0;owned\u{7}".to_owned();
    (state.data.hosts, state.data.alerts) = (hosts.into(), alerts.into());
    state.rebuild_all_views();
    let terminal = render(&state);
    let screen = screen_text(&terminal);
    // Visibly escaped by ondeck, not dropped by the terminal library: an operator must see that
    // the name is not what it seems.
    for name in [r"\u{1b}[2J\u{7}", r"\u{9b}\u{202e}"] {
        assert!(
            screen.contains(name),
            "{name} is not shown escaped:\n{screen}"
        );
    }
    let cells = terminal.backend().buffer().content();
    let raw: Vec<&str> = cells
        .iter()
        .map(|cell| cell.symbol())
        .filter(|symbol| {
            symbol.chars().any(|c| {
                c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
            })
        })
        .collect();
    assert!(raw.is_empty(), "raw in cells: {raw:?}");
}

/// `s` cycles through the columns on screen only: whatever the screen, the header shows the
/// column the rows are sorted by.
#[test]
fn the_sort_arrow_is_always_on_screen() {
    for (width, height) in [(80, 24), (120, 35), (160, 48)] {
        for pane in Pane::ALL {
            let mut state = fixture(width, height);
            state.focus = pane;
            let columns = ondeck::columns::heads(pane).len();
            let mut sorted_by = Vec::new();
            for press in 0..=columns {
                let text = screen_text(&render(&state));
                let view = state.view(pane);
                let header = ondeck::columns::heads(pane)[view.sort_column].header;
                let arrow = if view.sort_desc { '▼' } else { '▲' };
                // The pane's title says `sort: X ▲`; the line under it is its header.
                let lines: Vec<&str> = text.lines().collect();
                let title = lines
                    .iter()
                    .position(|line| line.contains(&format!(" {} ", pane.title())))
                    .expect("the focused pane's title");
                assert!(
                    lines[title + 1].contains(&format!("{header}{arrow}")),
                    "{pane:?} at {width}x{height}, after {press} presses of s, \
                     sorted by {header}:\n{text}"
                );
                sorted_by.push(state.view(pane).sort_column);
                ondeck::update::update(&mut state, ondeck::msg::Msg::Command(Command::SortNext));
            }
            let distinct: std::collections::BTreeSet<_> = sorted_by.iter().collect();
            assert!(distinct.len() > 1, "{pane:?}: s changed nothing");
        }
    }
}

/// What explains a row stays on screen: an alert's summary on the 160-column dashboard and at
/// 80 columns, whole where the Alerts pane is wide (the wall's rotating page at 320 columns); a host's version on the smallest dashboard.
#[test]
fn the_columns_that_explain_are_kept() {
    for (width, height, wall, summary) in [
        (160, 48, false, "api-dev has not an…"),
        (80, 24, false, "api-dev has not an…"),
        (
            320,
            90,
            true,
            "api-dev has not answered its health check for 9 minutes",
        ),
    ] {
        let mut state = fixture(width, height);
        state.focus = Pane::Alerts;
        state.mode.wall = wall;
        let text = screen_text(&render(&state));
        assert!(text.contains(summary), "{width}x{height}: {text}");
    }
    let text = screen_text(&render(&fixture(120, 35)));
    assert!(
        text.contains("VERSION") && text.contains("v1.15.0-rc1"),
        "{text}"
    );
}

/// The detail of an alert lists its labels; numbers read in their units.
#[test]
fn detail_of_an_alert_shows_its_labels() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = fixture(width, height);
        state.focus = Pane::Alerts;
        let row = state
            .view(Pane::Alerts)
            .rows
            .iter()
            .position(|&i| state.data.alerts[i].name == "ServiceDown")
            .unwrap();
        state.view_mut(Pane::Alerts).selected = row;
        state.overlay = Overlay::Detail { scroll: 0 };
        let terminal = render(&state);
        let text = screen_text(&terminal);
        assert!(
            text.contains("labels.job") && text.contains("api_backend"),
            "{text}"
        );
        assert_snapshot!(
            format!("detail_of_an_alert_{width}x{height}"),
            terminal.backend()
        );
    }
}

/// The palette is closed by the `[input]` keys (`q` types a q), and says when nothing matches.
#[test]
fn palette_without_a_match_says_so_and_names_its_closing_key() {
    let mut state = fixture(80, 24);
    state.overlay = Overlay::Palette {
        input: text_input("zzz"),
        selected: 0,
    };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(text.contains("no command matches \"zzz\""), "{text}");
    assert!(text.contains("esc close"), "{text}");
    assert!(!text.contains("q close"), "{text}");
    assert_snapshot!(terminal.backend());
}

/// Three backup actions as the Hosts pane shows them: one within its limits, one whose newest
/// good backup is too old and whose drills never passed, one whose drills cannot be read (the
/// store is down): up, degraded with two warnings, unknown.
fn backup_rows(width: u16, height: u16) -> AppState {
    use ondeck::actions::backups::status::{self, Reading};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("config.toml");
    let action = |name: &str, database: &str, extra: &str| {
        format!(
            "[[action]]\nname = \"{name}\"\nkind = \"pg_backup\"\n\
             database = \"postgres://ondeck@127.0.0.1/{database}\"\ndir = \"/var/backups/{database}\"\n{extra}\n\
             [[action]]\nname = \"drill-{database}\"\nkind = \"pg_restore\"\ndrill = true\n\
             database = \"postgres://ondeck@127.0.0.1/{database}\"\ndir = \"/var/backups/{database}\"\n"
        )
    };
    std::fs::write(
        &path,
        [
            action(
                "backup-app",
                "app",
                "max_backup_age = \"26h\"\nmax_drill_age = \"8d\"",
            ),
            action(
                "backup-billing",
                "billing",
                "max_backup_age = \"26h\"\nmax_drill_age = \"8d\"",
            ),
            action("backup-wiki", "wiki", ""),
        ]
        .concat(),
    )
    .expect("the configuration is written");
    let config = ondeck::config::load(Some(&path)).expect("the configuration loads");
    let watched = status::watched(&config);
    let readings = [
        Reading {
            backup: Ok(Some(ago(3 * 3600))),
            drill: Ok(Some(ago(2 * 86_400))),
        },
        Reading {
            backup: Ok(Some(ago(30 * 3600))),
            drill: Ok(None),
        },
        Reading {
            backup: Ok(Some(ago(5 * 3600))),
            drill: Err("the store is not open".to_owned()),
        },
    ];
    let (hosts, alerts) = status::rows(&watched, &readings, now());
    let mut state = fixture(width, height);
    state.sources = vec![source(status::SOURCE, status::SOURCE, SourceStatus::Ok, 5)];
    state.data.hosts = hosts.into();
    state.data.alerts = alerts.into();
    state.rebuild_all_views();
    state
}

#[test]
fn backup_actions_as_host_rows_80x24() {
    assert_snapshot!(render(&backup_rows(80, 24)).backend());
}

#[test]
fn backup_actions_on_the_dashboard_120x35() {
    assert_snapshot!(render(&backup_rows(120, 35)).backend());
}
