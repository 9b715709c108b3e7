//! What the NOC wall keeps beyond the panes: which page its detail area shows, and which
//! critical alerts are new to the room.
//!
//! A wall is looked at, not operated: it rotates by itself, and it must make a new critical
//! alert impossible to miss without crying wolf at start-up. An alert counts as new when it
//! appears in a source's answer after that source's first; the ones already firing when the wall
//! came up are not news to anyone.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::{AppState, Pane};
use crate::config::WallConfig;
use crate::model::{
    AlertRow, AlertState, HostRow, HostStatus, Severity, SourceStatus, host_fields,
};
use crate::store::ActionState;

/// The pages of the rotating detail area, in turn.
pub const WALL_PAGES: [Pane; 3] = [Pane::Hosts, Pane::Alerts, Pane::Jobs];

/// Failed jobs older than this no longer count on the wall's jobs tile.
const FAILED_JOBS_WINDOW: TimeDelta = TimeDelta::hours(24);

/// An alert's name and target: the same alert whichever source reports it.
type AlertKey = (String, String);
/// The source that reports an alert, and when it appeared (`None`: before the wall looked).
type Appearance = (String, Option<DateTime<Utc>>);

#[derive(Debug)]
pub struct WallState {
    pub config: WallConfig,
    /// Since when the detail area shows its page (the focused pane).
    pub page_since: DateTime<Utc>,
    pub paused: bool,
    /// Every firing critical alert by name and target, with the source that reports it and
    /// when it first appeared (`None`: already firing when the wall first heard of it).
    criticals: HashMap<AlertKey, Appearance>,
}

impl WallState {
    pub fn new(config: WallConfig, now: DateTime<Utc>) -> WallState {
        WallState {
            config,
            page_since: now,
            paused: false,
            criticals: HashMap::new(),
        }
    }

    /// Takes in a source's answer: its firing critical alerts not seen before are new, unless
    /// this is the source's first answer. Alerts of this source that stopped firing are
    /// forgotten, so one that fires again is news again; a failed poll forgets nothing. Returns
    /// how many are new.
    pub fn observe(
        &mut self,
        source: &str,
        alerts: &[AlertRow],
        first_answer: bool,
        at: DateTime<Utc>,
    ) -> usize {
        let firing: HashSet<(String, String)> = alerts
            .iter()
            .filter(|a| is_loud_critical(a))
            .map(|a| (a.name.clone(), a.target.clone()))
            .collect();
        self.criticals
            .retain(|key, (from, _)| from != source || firing.contains(key));
        let mut new = 0;
        for key in firing {
            self.criticals.entry(key).or_insert_with(|| {
                new += usize::from(!first_answer);
                (source.to_owned(), (!first_answer).then_some(at))
            });
        }
        new
    }

    /// Forgets the alerts of `source`, stopped or restarted by a reload: it will not answer to
    /// forget them itself, and a renamed source would otherwise leave them behind for good.
    pub fn forget(&mut self, source: &str) {
        self.criticals.retain(|_, (from, _)| from != source);
    }

    /// Whether `alert` is a critical one that appeared less than `highlight` ago.
    pub fn is_new(&self, alert: &AlertRow, now: DateTime<Utc>) -> bool {
        is_loud_critical(alert)
            && self
                .criticals
                .get(&(alert.name.clone(), alert.target.clone()))
                .and_then(|(_, since)| *since)
                .is_some_and(|since| now < self.highlight_ends(since))
    }

    /// How many alerts are highlighted at `now`: when this changes, the wall is redrawn.
    pub fn highlighted(&self, now: DateTime<Utc>) -> usize {
        self.highlights()
            .filter(|&since| now < self.highlight_ends(since))
            .count()
    }

    /// The page after `current` when its time is up (unless paused); it is shown from `now`.
    pub fn rotate(&mut self, current: Pane, now: DateTime<Utc>) -> Option<Pane> {
        if self.paused || now < self.page_turns() {
            return None;
        }
        self.page_since = now;
        let next = WALL_PAGES
            .iter()
            .position(|&p| p == current)
            .map_or(0, |at| (at + 1) % WALL_PAGES.len());
        Some(WALL_PAGES[next])
    }

    /// The operator picked a page: it gets its full time.
    pub fn show_from(&mut self, now: DateTime<Utc>) {
        self.page_since = now;
    }

    pub fn toggle_pause(&mut self, now: DateTime<Utc>) {
        self.paused = !self.paused;
        // Resumed, the page gets its full time again rather than flipping at once.
        self.show_from(now);
    }

    /// The next moment the wall changes by itself: a page turning, a highlight ending, the
    /// clock's second when it shows seconds.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let page = (!self.paused).then(|| self.page_turns());
        let highlight = self
            .highlights()
            .map(|since| self.highlight_ends(since))
            .filter(|&end| end > now)
            .min();
        let second = self.config.seconds.then(|| {
            now + TimeDelta::milliseconds(1000 - i64::from(now.timestamp_subsec_millis()))
        });
        [page, highlight, second].into_iter().flatten().min()
    }

    fn highlights(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.criticals.values().filter_map(|(_, since)| *since)
    }

    fn highlight_ends(&self, since: DateTime<Utc>) -> DateTime<Utc> {
        since + delta(self.config.highlight)
    }

    fn page_turns(&self) -> DateTime<Utc> {
        self.page_since + delta(self.config.rotate)
    }
}

/// A firing, unsilenced critical alert: the kind a room must notice.
fn is_loud_critical(alert: &AlertRow) -> bool {
    alert.severity == Severity::Critical && alert.state == AlertState::Firing && !alert.silenced
}

/// Configured durations are bounded (at most a day), so this never saturates in practice.
fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Firing alerts of one name and severity: karma's view of an alert, one line on the wall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup<'a> {
    pub severity: Severity,
    pub name: &'a str,
    /// Every alert of the group is silenced: shown dimmed, after the loud ones.
    pub silenced: bool,
    pub targets: Vec<&'a str>,
    /// When the oldest of them started firing.
    pub since: Option<DateTime<Utc>>,
    /// One of them is a new critical alert.
    pub new: bool,
}

impl<'a> AlertGroup<'a> {
    pub fn count(&self) -> usize {
        self.targets.len()
    }
}

/// The firing alerts grouped by severity (critical first), loud before silenced, new before
/// old, then name.
pub fn alert_groups(state: &AppState) -> Vec<AlertGroup<'_>> {
    let mut groups: BTreeMap<(Severity, bool, &str), AlertGroup> = BTreeMap::new();
    for alert in state
        .shown_alerts()
        .filter(|a| a.state == AlertState::Firing)
    {
        let group = groups
            .entry((alert.severity, alert.silenced, alert.name.as_str()))
            .or_insert_with(|| AlertGroup {
                severity: alert.severity,
                name: &alert.name,
                silenced: alert.silenced,
                targets: Vec::new(),
                since: None,
                new: false,
            });
        group.targets.push(&alert.target);
        group.since = match (group.since, alert.since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        group.new |= state.wall.is_new(alert, state.now);
    }
    let mut groups: Vec<AlertGroup> = groups.into_values().collect();
    for group in &mut groups {
        group.targets.sort_unstable();
        group.targets.dedup();
    }
    // What just went critical comes first of its kind: that is what the room must see.
    groups.sort_by_key(|g| (g.severity, g.silenced, !g.new));
    groups
}

/// An OpenBao node as the wall shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealTile<'a> {
    pub node: &'a str,
    pub seal: Seal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    Unsealed,
    /// Sealed, with the key shares given so far of the threshold, where known.
    Sealed {
        progress: Option<u64>,
        threshold: Option<u64>,
    },
    /// The node did not answer, or its data is stale: its seal state is not known.
    Unknown(HostStatus),
}

/// Every OpenBao node, in the Hosts pane's order of sources.
pub fn seal_tiles(state: &AppState) -> Vec<SealTile<'_>> {
    let mut stale = state.stale_check();
    state
        .data
        .hosts
        .iter()
        .filter(|h| h.kind == "openbao")
        .map(|host| SealTile {
            node: &host.name,
            seal: seal_of(host, stale.host_status(host)),
        })
        .collect()
}

fn seal_of(host: &HostRow, status: HostStatus) -> Seal {
    let number = |key| host.fields.get(key).and_then(serde_json::Value::as_u64);
    match host
        .fields
        .get(host_fields::SEALED)
        .and_then(serde_json::Value::as_bool)
    {
        _ if status == HostStatus::Stale => Seal::Unknown(status),
        Some(true) => Seal::Sealed {
            progress: number(host_fields::UNSEAL_PROGRESS),
            threshold: number(host_fields::UNSEAL_THRESHOLD),
        },
        Some(false) => Seal::Unsealed,
        None => Seal::Unknown(status),
    }
}

/// Jobs running now (or waiting to), and failed in the last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobCounts {
    pub running: usize,
    pub failed: usize,
}

pub fn job_counts(state: &AppState) -> JobCounts {
    let running = [
        ActionState::Requested,
        ActionState::Approved,
        ActionState::Running,
    ];
    let failed = [ActionState::Failed, ActionState::Interrupted];
    let is = |states: &[ActionState], state: &str| states.iter().any(|s| s.as_str() == state);
    state
        .data
        .jobs
        .iter()
        .fold(JobCounts::default(), |mut counts, job| {
            if is(&running, &job.state) {
                counts.running += 1;
            } else if is(&failed, &job.state)
                && job
                    .finished
                    .or(job.started)
                    .is_some_and(|at| state.now - at < FAILED_JOBS_WINDOW)
            {
                counts.failed += 1;
            }
            counts
        })
}

/// How old the freshest and the stalest source's data are, with the stalest's name. A source
/// that never answered is the stalest of all (`None` age).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness<'a> {
    pub freshest: Option<DateTime<Utc>>,
    pub stalest: Option<(&'a str, Option<DateTime<Utc>>)>,
}

pub fn freshness(state: &AppState) -> Freshness<'_> {
    let freshest = state.sources.iter().filter_map(|s| s.last_success).max();
    let stalest = state
        .sources
        .iter()
        .min_by_key(|s| s.last_success.map_or(i64::MIN, |at| at.timestamp()))
        .map(|s| (s.name.as_str(), s.last_success));
    Freshness { freshest, stalest }
}

/// Every source is failing or stale: what the wall shows is old, and it must say so across
/// the screen rather than look green.
pub fn data_stale(state: &AppState) -> bool {
    !state.sources.is_empty()
        && state.sources.iter().all(|s| {
            matches!(
                state.source_status(s),
                SourceStatus::Failing | SourceStatus::Stale
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    fn critical(name: &str, target: &str) -> AlertRow {
        AlertRow {
            source: "am".into(),
            name: name.into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            target: target.into(),
            since: Some(at(0)),
            silenced: false,
            summary: String::new(),
            fingerprint: String::new(),
            labels: BTreeMap::new(),
            observed_at: at(0),
        }
    }

    #[test]
    fn alerts_firing_at_the_first_answer_are_not_new_and_later_ones_are_until_the_highlight_ends() {
        let mut wall = WallState::new(WallConfig::default(), at(0));
        let old = critical("ServiceDown", "api");
        assert_eq!(
            wall.observe("am", std::slice::from_ref(&old), true, at(0)),
            0
        );
        assert!(!wall.is_new(&old, at(1)));

        let fresh = critical("OpenBaoSealed", "bao-1");
        let both = [old.clone(), fresh.clone()];
        assert_eq!(wall.observe("am", &both, false, at(10)), 1);
        assert!(wall.is_new(&fresh, at(11)));
        assert_eq!(wall.highlighted(at(11)), 1);
        // Seen again: still the same appearance, not news twice.
        assert_eq!(wall.observe("am", &both, false, at(20)), 0);
        let ends = at(10) + delta(WallConfig::default().highlight);
        assert_eq!(
            wall.next_change(at(15)),
            Some(at(20)),
            "the page turns first"
        );
        assert!(!wall.is_new(&fresh, ends));
        assert_eq!(wall.highlighted(ends), 0);
    }

    #[test]
    fn an_alert_that_clears_and_fires_again_is_news_again_but_a_silenced_or_warning_one_is_not() {
        let mut wall = WallState::new(WallConfig::default(), at(0));
        wall.observe("am", &[], true, at(0));
        let alert = critical("ServiceDown", "api");
        assert_eq!(
            wall.observe("am", std::slice::from_ref(&alert), false, at(1)),
            1
        );
        assert_eq!(wall.observe("am", &[], false, at(2)), 0);
        assert_eq!(
            wall.observe("am", std::slice::from_ref(&alert), false, at(3)),
            1
        );
        // Another source's answer does not forget this source's alerts.
        assert_eq!(wall.observe("prom", &[], false, at(4)), 0);
        assert_eq!(
            wall.observe("am", std::slice::from_ref(&alert), false, at(5)),
            0
        );

        let mut quiet = critical("DiskFull", "db");
        quiet.silenced = true;
        let mut warning = critical("HighCPU", "db");
        warning.severity = Severity::Warning;
        assert_eq!(
            wall.observe("am", &[alert, quiet, warning], false, at(6)),
            0
        );
    }

    #[test]
    fn a_source_stopped_by_a_reload_leaves_no_alert_behind() {
        let mut wall = WallState::new(WallConfig::default(), at(0));
        let alert = critical("ServiceDown", "api");
        wall.observe("am", &[], true, at(0));
        wall.observe("am", std::slice::from_ref(&alert), false, at(1));
        wall.forget("am");
        assert!(!wall.is_new(&alert, at(2)));
        assert_eq!(wall.highlighted(at(2)), 0);
        // The source that reports it after the reload makes it news of its own.
        wall.observe("am-2", &[], true, at(3));
        assert_eq!(
            wall.observe("am-2", std::slice::from_ref(&alert), false, at(4)),
            1
        );
    }

    #[test]
    fn the_page_turns_when_its_time_is_up_unless_paused() {
        let config = WallConfig {
            rotate: std::time::Duration::from_secs(20),
            ..WallConfig::default()
        };
        let mut wall = WallState::new(config, at(0));
        assert_eq!(wall.rotate(Pane::Hosts, at(19)), None);
        assert_eq!(wall.rotate(Pane::Hosts, at(20)), Some(Pane::Alerts));
        wall.toggle_pause(at(25));
        assert_eq!(wall.rotate(Pane::Alerts, at(100)), None);
        assert_eq!(wall.next_change(at(100)), None);
        wall.toggle_pause(at(100));
        assert_eq!(wall.rotate(Pane::Alerts, at(119)), None);
        assert_eq!(wall.rotate(Pane::Alerts, at(120)), Some(Pane::Jobs));
        assert_eq!(wall.rotate(Pane::Jobs, at(140)), Some(Pane::Hosts));
        // A pane the operator picked that is not a page goes on to the first page.
        assert_eq!(wall.rotate(Pane::Audit, at(160)), Some(Pane::Hosts));
    }

    #[test]
    fn with_seconds_the_wall_wakes_on_the_next_whole_second() {
        let config = WallConfig {
            seconds: true,
            ..WallConfig::default()
        };
        let wall = WallState::new(config, at(0));
        let now = at(5) + TimeDelta::milliseconds(300);
        assert_eq!(wall.next_change(now), Some(at(6)));
    }
}
