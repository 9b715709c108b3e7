//! The console's whole state. `update` changes it; the UI only reads it.
//!
//! Rows are kept once per pane, grouped by their source ([`SourceRows`]). Each pane also keeps
//! a *view*: the indices of its rows that pass the filter, in sort order. The view is rebuilt in `update`
//! when data, filter or sort change, so drawing a frame only slices it — with 100,000 audit
//! rows a frame still builds only the rows that fit on screen. New data only marks the panes it
//! touched as outdated; they are rebuilt once when the loop has applied a batch of messages (see
//! [`AppState::refresh_views`]), so a burst of polls costs one sort per pane it touched, and a
//! poll of hosts never re-sorts the audit log.
//!
//! The selection follows its row by identity ([`crate::row_identity`]), since positions change
//! with every poll. Until the operator moves it, it stays on the top row: the worst ones sort
//! first, and rows arriving late never scroll the view away from them.

mod actions;
mod audit_pages;
mod backup_pick;
mod unseal;
mod wall;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;

pub(crate) use actions::trim_live_jobs;
pub use actions::{
    ActionMenu, ActionSubject, Button, Confirm, Confirming, JobLogView, LiveJob, PaletteEntry,
    palette_label,
};
pub use audit_pages::{AUDIT_PAGE, AuditPages, MAX_OLDER_AUDIT};
pub use backup_pick::{BackupEntry, BackupList, BackupPick};
pub use unseal::UnsealDialog;
pub use wall::{
    AlertGroup, Freshness, JobCounts, Seal, SealTile, WALL_PAGES, WallState, alert_groups,
    data_stale, freshness, job_counts, seal_tiles,
};

use crate::config::ActionConfig;
use crate::model::{
    AlertRow, AuditRow, HostRow, HostStatus, JobRow, SessionRow, SourceRow, SourceStatus,
    Truncated, shown_alerts,
};
use crate::row_identity::{Identified, RowIdentity};
use crate::source_rows::SourceRows;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Hosts,
    Sessions,
    Jobs,
    Alerts,
    Audit,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Hosts,
        Pane::Sessions,
        Pane::Jobs,
        Pane::Alerts,
        Pane::Audit,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Hosts => "Hosts",
            Pane::Sessions => "Sessions",
            Pane::Jobs => "Jobs",
            Pane::Alerts => "Alerts",
            Pane::Audit => "Audit",
        }
    }

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }

    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// Sorting, filtering and selection of one pane.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneView {
    pub sort_column: usize,
    pub sort_desc: bool,
    pub filter: String,
    /// Indices into the pane's rows that pass the filter, in display order.
    pub rows: Vec<usize>,
    /// Position in `rows` of the selected row.
    pub selected: usize,
    /// The row the selection stays on while rows come and go; `None` until the operator moves
    /// it (and after `top`): then it stays on the top row, whichever that is.
    pub followed: Option<RowIdentity>,
}

impl PaneView {
    fn new(pane: Pane) -> PaneView {
        let (sort_column, sort_desc) = crate::columns::default_sort(pane);
        PaneView {
            sort_column,
            sort_desc,
            filter: String::new(),
            rows: Vec::new(),
            selected: 0,
            followed: None,
        }
    }

    /// The index into the pane's rows of the selected row, if any row is visible.
    pub fn selected_row(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }
}

/// All rows, per pane, from every source and from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Data {
    pub hosts: SourceRows<HostRow>,
    pub sessions: SourceRows<SessionRow>,
    pub jobs: SourceRows<JobRow>,
    pub alerts: SourceRows<AlertRow>,
    pub audit: SourceRows<AuditRow>,
}

impl Data {
    pub fn len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Hosts => self.hosts.len(),
            Pane::Sessions => self.sessions.len(),
            Pane::Jobs => self.jobs.len(),
            Pane::Alerts => self.alerts.len(),
            Pane::Audit => self.audit.len(),
        }
    }

    pub fn is_empty(&self, pane: Pane) -> bool {
        self.len(pane) == 0
    }
}

/// What sits on top of the panes and takes the keys.
#[derive(Debug, Default)]
pub enum Overlay {
    #[default]
    None,
    Help {
        scroll: u16,
    },
    /// The selected row of the focused pane, every field.
    Detail {
        scroll: u16,
    },
    /// The focused pane's filter being typed.
    Filter(Box<TextArea<'static>>),
    /// `:` — type a command's name.
    Palette {
        input: Box<TextArea<'static>>,
        selected: usize,
    },
    /// Poller health for every source.
    Sources {
        selected: usize,
    },
    /// The actions that apply to the selected row.
    Actions(ActionMenu),
    /// An action's plan, or a job's cancellation, waiting for the operator's word.
    Confirm(Box<Confirm>),
    /// A job's log, live or paged from the store.
    JobLog(Box<JobLogView>),
    /// Key shares for the nodes of an OpenBao source, one at a time.
    Unseal(Box<UnsealDialog>),
}

/// One group of the `?` help: a heading, and the keys with what they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    pub heading: String,
    pub entries: Vec<(String, &'static str)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    pub read_only: bool,
    pub wall: bool,
}

#[derive(Debug)]
pub struct AppState {
    pub now: DateTime<Utc>,
    pub operator: String,
    /// Where the store lives, passwords masked, for the status bar.
    pub store_label: String,
    /// The last store error, shown in the status bar until the store answers again.
    pub store_error: Option<String>,
    /// The console has not read the store yet: actions are refused as when it fails.
    pub store_connecting: bool,
    pub mode: Mode,
    /// The wall's rotation and new-critical highlights; idle unless `mode.wall`.
    pub wall: WallState,
    pub size: (u16, u16),
    pub focus: Pane,
    /// Show the focused pane alone even on a screen big enough for the dashboard.
    pub zoomed: bool,
    pub overlay: Overlay,
    pub data: Data,
    pub views: [PaneView; 5],
    /// Every configured source, in configuration order.
    pub sources: Vec<SourceRow>,
    /// The sources that can raise alerts, so an Alerts pane fed only by failing sources can say
    /// "NO DATA" instead of looking green.
    pub alert_sources: Vec<String>,
    /// For each row of `data.alerts`, whether it is shown: not a copy of an alert that an
    /// Alertmanager source reports too (see [`shown_alerts`]). Kept with the Alerts view.
    pub alert_shown: Vec<bool>,
    /// The `?` help, worked out from the keymap at start-up; kept here so that `update` knows
    /// where the help ends.
    pub help: Vec<HelpSection>,
    /// The configured `[[action]]`s, in configuration order.
    pub actions: Vec<ActionConfig>,
    /// One line for the status bar answering the operator's last key: why an action was
    /// refused, how a job ended. The next key clears it.
    pub notice: Option<String>,
    /// The jobs this console started, oldest first: their rows as their events describe them
    /// (newer than the store's, which are read every few seconds) and their live logs.
    pub live_jobs: VecDeque<LiveJob>,
    /// The store's audit records older than its tail, read as the Audit pane is scrolled.
    pub audit_pages: AuditPages,
    /// The two-person requests on the store waiting for a second operator, as last read.
    pub approvals: Vec<crate::model::ApprovalRequest>,
    /// Whether this operator has a TOTP secret, so that their approval of a two-person request
    /// is confirmed by their code.
    pub decide_by_code: bool,
    /// Panes whose rows changed since their view was last built (by [`Pane::index`]).
    outdated: [bool; 5],
    /// Set whenever something visible changed; the loop draws and clears it.
    pub dirty: bool,
    pub quitting: bool,
}

impl AppState {
    pub fn new(operator: String, store_label: String, mode: Mode, now: DateTime<Utc>) -> AppState {
        AppState {
            now,
            operator,
            store_label,
            store_error: None,
            store_connecting: false,
            mode,
            wall: WallState::new(crate::config::WallConfig::default(), now),
            size: (80, 24),
            focus: Pane::Hosts,
            zoomed: false,
            overlay: Overlay::None,
            data: Data::default(),
            views: Pane::ALL.map(PaneView::new),
            sources: Vec::new(),
            alert_sources: Vec::new(),
            alert_shown: Vec::new(),
            help: Vec::new(),
            actions: Vec::new(),
            notice: None,
            live_jobs: VecDeque::new(),
            audit_pages: AuditPages::default(),
            approvals: Vec::new(),
            decide_by_code: false,
            outdated: [false; 5],
            dirty: true,
            quitting: false,
        }
    }

    pub fn view(&self, pane: Pane) -> &PaneView {
        &self.views[pane.index()]
    }

    pub fn view_mut(&mut self, pane: Pane) -> &mut PaneView {
        &mut self.views[pane.index()]
    }

    pub fn source(&self, name: &str) -> Option<&SourceRow> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// Data is stale when it is older than twice its source's poll interval. Rows from the
    /// store (no configured source) are never stale.
    pub fn is_stale(&self, source: &str, observed_at: DateTime<Utc>) -> bool {
        self.stale_check().is_stale(source, observed_at)
    }

    /// A host's status as shown: its reported status, or `stale` when its data is old.
    pub fn host_status(&self, host: &HostRow) -> HostStatus {
        self.stale_check().host_status(host)
    }

    /// Staleness for many rows at once (a sort by status), each source looked up once.
    pub fn stale_check(&self) -> StaleCheck<'_> {
        StaleCheck {
            state: self,
            last: None,
        }
    }

    /// A source's status as shown: `stale` when its last success is too old.
    pub fn source_status(&self, source: &SourceRow) -> SourceStatus {
        match (source.status, source.last_success) {
            (SourceStatus::Ok, Some(at)) if self.is_stale(&source.name, at) => SourceStatus::Stale,
            (status, _) => status,
        }
    }

    /// (ok, failing, stale) counts for the status bar.
    pub fn source_counts(&self) -> (usize, usize, usize) {
        self.sources
            .iter()
            .fold((0, 0, 0), |(ok, failing, stale), s| {
                match self.source_status(s) {
                    SourceStatus::Ok => (ok + 1, failing, stale),
                    SourceStatus::Failing => (ok, failing + 1, stale),
                    SourceStatus::Stale => (ok, failing, stale + 1),
                    SourceStatus::Pending => (ok, failing, stale),
                }
            })
    }

    /// True when every source that feeds the Alerts pane is failing or stale: an empty pane
    /// would then lie, so it says NO DATA.
    pub fn alerts_have_no_data(&self) -> bool {
        !self.alert_sources.is_empty()
            && self.alert_sources.iter().all(|name| {
                self.source(name).is_none_or(|s| {
                    matches!(
                        self.source_status(s),
                        SourceStatus::Failing | SourceStatus::Stale
                    )
                })
            })
    }

    /// True while a source that feeds the Alerts pane has neither answered nor failed yet: an
    /// empty pane then means "not known yet", not "nothing firing".
    pub fn alerts_pending(&self) -> bool {
        self.alert_sources.iter().any(|name| {
            self.source(name)
                .is_some_and(|s| s.status == SourceStatus::Pending)
        })
    }

    /// The named queries whose rows in `pane` were cut at their `max_rows`.
    pub fn truncated(&self, pane: Pane) -> impl Iterator<Item = &Truncated> {
        self.sources
            .iter()
            .flat_map(|source| &source.truncated)
            .filter(move |cut| cut.pane.eq_ignore_ascii_case(pane.title()))
    }

    /// Rows a page holds, from the terminal height (the dashboard shows about a third).
    pub fn page_rows(&self) -> usize {
        let height = self.size.1 as usize;
        let visible = if self.is_dashboard() {
            height / 3
        } else {
            height
        };
        visible.saturating_sub(6).max(1)
    }

    /// The dashboard (all five panes) needs 120×35; smaller screens show one pane with tabs.
    pub fn is_dashboard(&self) -> bool {
        !self.zoomed && !self.mode.wall && self.size.0 >= 120 && self.size.1 >= 35
    }

    /// Rebuild a pane's view from its rows, filter and sort, keeping the selection on the row
    /// it follows. Where that row is gone (or filtered out) the selection keeps its position and
    /// follows the row now there.
    pub fn rebuild_view(&mut self, pane: Pane) {
        if pane == Pane::Alerts {
            self.alert_shown = shown_alerts(&self.data.alerts, &self.sources);
        }
        let view = &self.views[pane.index()];
        let needle = view.filter.to_lowercase();
        let (column, desc) = (view.sort_column, view.sort_desc);
        let mut rows: Vec<usize> = last_order_first(&view.rows, self.data.len(pane))
            .filter(|&i| pane != Pane::Alerts || self.is_alert_shown(i))
            .filter(|&i| needle.is_empty() || self.row_text(pane, i).contains(&needle))
            .collect();
        crate::columns::sort(self, pane, column, desc, &mut rows);
        let found = view.followed.as_ref().map(|followed| {
            rows.iter()
                .position(|&row| self.row_is(pane, row, followed))
        });
        let last = rows.len().saturating_sub(1);
        let (selected, refollow) = match found {
            None => (0, false),
            Some(Some(position)) => (position, false),
            Some(None) => (view.selected.min(last), !rows.is_empty()),
        };
        let followed = refollow.then(|| self.row_identity(pane, rows[selected]));
        self.outdated[pane.index()] = false;
        let view = &mut self.views[pane.index()];
        view.selected = selected;
        view.rows = rows;
        if let Some(followed) = followed {
            view.followed = Some(followed);
        }
    }

    /// Note that `pane`'s rows changed; [`AppState::refresh_views`] rebuilds its view.
    pub fn mark_outdated(&mut self, pane: Pane) {
        self.outdated[pane.index()] = true;
    }

    /// The panes whose view is behind their rows.
    pub fn outdated_panes(&self) -> impl Iterator<Item = Pane> + '_ {
        Pane::ALL
            .into_iter()
            .filter(|pane| self.outdated[pane.index()])
    }

    /// Rebuild the views of the panes whose rows changed. Views index into the rows, so this
    /// must run before they are read: before a key acts on them and before a frame is drawn.
    pub fn refresh_views(&mut self) {
        for pane in Pane::ALL {
            if self.outdated[pane.index()] {
                self.rebuild_view(pane);
            }
        }
    }

    /// Select the row at `position` of `pane`'s view (clamped) and follow it from now on.
    pub fn select(&mut self, pane: Pane, position: usize) {
        let view = &self.views[pane.index()];
        let selected = position.min(view.rows.len().saturating_sub(1));
        let followed = view
            .rows
            .get(selected)
            .map(|&row| self.row_identity(pane, row));
        let view = &mut self.views[pane.index()];
        view.selected = selected;
        view.followed = followed;
    }

    /// Select the top row of `pane`, whichever it is now and later.
    pub fn select_top(&mut self, pane: Pane) {
        let view = &mut self.views[pane.index()];
        view.selected = 0;
        view.followed = None;
    }

    /// The identity of the focused pane's selected row: what an action dialog records as its
    /// target, to check again before it runs.
    pub fn selected_identity(&self) -> Option<RowIdentity> {
        let row = self.view(self.focus).selected_row()?;
        Some(self.row_identity(self.focus, row))
    }

    fn row_identity(&self, pane: Pane, row: usize) -> RowIdentity {
        let d = &self.data;
        match pane {
            Pane::Hosts => d.hosts[row].identity(),
            Pane::Sessions => d.sessions[row].identity(),
            Pane::Jobs => d.jobs[row].identity(),
            Pane::Alerts => d.alerts[row].identity(),
            Pane::Audit => d.audit[row].identity(),
        }
    }

    fn row_is(&self, pane: Pane, row: usize, identity: &RowIdentity) -> bool {
        let d = &self.data;
        match pane {
            Pane::Hosts => d.hosts[row].is(identity),
            Pane::Sessions => d.sessions[row].is(identity),
            Pane::Jobs => d.jobs[row].is(identity),
            Pane::Alerts => d.alerts[row].is(identity),
            Pane::Audit => d.audit[row].is(identity),
        }
    }

    fn is_alert_shown(&self, row: usize) -> bool {
        self.alert_shown.get(row).copied().unwrap_or(true)
    }

    /// The alerts the Alerts pane lists before any filter: each alert once.
    pub fn shown_alerts(&self) -> impl Iterator<Item = &AlertRow> {
        self.data
            .alerts
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.is_alert_shown(i))
            .map(|(_, alert)| alert)
    }

    /// How many rows a pane has before its filter: each alert counted once.
    pub fn row_count(&self, pane: Pane) -> usize {
        match pane {
            Pane::Alerts => self.shown_alerts().count(),
            _ => self.data.len(pane),
        }
    }

    pub fn rebuild_all_views(&mut self) {
        for pane in Pane::ALL {
            self.rebuild_view(pane);
        }
    }

    /// The text a filter matches against, lower-cased.
    fn row_text(&self, pane: Pane, i: usize) -> String {
        crate::columns::filter_text(self, pane, i)
    }
}

/// Tells which rows are stale, remembering the last source it looked up and when its data
/// turns stale: ranking 10,000 hosts by status would otherwise look the source up and subtract
/// dates for each, and a pane's rows come grouped by source.
pub struct StaleCheck<'a> {
    state: &'a AppState,
    /// The last configured source asked about, and the moment at or before which its data is
    /// stale (`None`: never).
    last: Option<(&'a str, Option<DateTime<Utc>>)>,
}

impl<'a> StaleCheck<'a> {
    pub fn is_stale(&mut self, source: &str, observed_at: DateTime<Utc>) -> bool {
        let cutoff = match self.last {
            Some((name, cutoff)) if name == source => cutoff,
            _ => match self.state.source(source) {
                Some(row) => {
                    let cutoff = stale_cutoff(row, self.state.now);
                    self.last = Some((&row.name, cutoff));
                    cutoff
                }
                None => None,
            },
        };
        cutoff.is_some_and(|cutoff| observed_at <= cutoff)
    }

    pub fn host_status(&mut self, host: &HostRow) -> HostStatus {
        if self.is_stale(&host.source, host.observed_at) {
            HostStatus::Stale
        } else {
            host.status
        }
    }
}

/// The moment at or before which `source`'s data is stale at `now`: more than twice its poll
/// interval old, counted in whole seconds, so at least that many seconds and one more. `None`
/// when its data never goes stale.
fn stale_cutoff(source: &SourceRow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if source.every_s == 0 {
        return None;
    }
    let age = source
        .fresh_for()
        .checked_add(&chrono::TimeDelta::seconds(1))?;
    now.checked_sub_signed(age)
}

/// Every index below `len` once: those of `last` (the view's last order) first, in that order,
/// then the rest. A poll replaces rows in place and changes few of their places, so sorting
/// from here is mostly confirming runs already in order.
fn last_order_first(last: &[usize], len: usize) -> impl Iterator<Item = usize> {
    let mut placed = vec![false; len];
    let mut order: Vec<usize> = Vec::with_capacity(len);
    for &i in last {
        if let Some(seen @ false) = placed.get_mut(i) {
            *seen = true;
            order.push(i);
        }
    }
    order.extend((0..len).filter(|&i| !placed[i]));
    order.into_iter()
}

/// Severity counts of firing alerts, for the status bar and the wall.
pub fn firing_counts<'a>(
    alerts: impl IntoIterator<Item = &'a AlertRow>,
) -> BTreeMap<crate::model::Severity, usize> {
    let mut counts = BTreeMap::new();
    for alert in alerts
        .into_iter()
        .filter(|a| a.state == crate::model::AlertState::Firing && !a.silenced)
    {
        *counts.entry(alert.severity).or_insert(0) += 1;
    }
    counts
}

/// Commands whose name contains every word typed into the palette, in declaration order.
pub fn palette_matches(query: &str) -> Vec<crate::msg::Command> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    crate::msg::Command::ALL
        .iter()
        .copied()
        .filter(|c| !matches!(c, crate::msg::Command::Submit | crate::msg::Command::Cancel))
        .filter(|c| {
            let name = c.name();
            words.iter().all(|w| name.contains(w.as_str()))
        })
        .collect()
}
