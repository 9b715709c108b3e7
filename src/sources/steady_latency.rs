//! Latency as the console shows it: a figure that moves when the latency does, not with every
//! millisecond of jitter.
//!
//! A loopback or LAN endpoint answers in 0–4 ms, a different figure each poll. Shown raw, the
//! LATENCY column of every visible host changed at every poll, so a wall or an SSH session with
//! nothing happening redrew those cells all day (77 B/s over a slow link with 1,000 hosts polled
//! every second). So a source's task remembers the latency it last reported for each host and
//! reports it again while the new measurement stays within the noise band around it
//! ([`NOISE_FLOOR_MS`] or a quarter of it, whichever is wider). A measurement outside the band, or
//! one that comes with a change of the host's status, is reported as it is: a host that turned
//! slow shows the latency that made it slow.
//!
//! Only the console's long-running tasks do this; `ondeck snapshot` polls once and reports what
//! it measured.

use std::collections::HashMap;

use crate::model::{HostRow, HostStatus};

/// Differences up to this many milliseconds are noise whatever the latency.
const NOISE_FLOOR_MS: u64 = 5;

/// The latency last reported, for a source and for each of its hosts by name.
#[derive(Debug, Default)]
pub struct SteadyLatency {
    source: Option<u64>,
    hosts: HashMap<String, (u64, HostStatus)>,
}

impl SteadyLatency {
    /// The latency to report for the source's own poll.
    pub fn source(&mut self, measured: u64) -> u64 {
        let shown = match self.source {
            Some(shown) if is_noise(shown, measured) => shown,
            _ => measured,
        };
        self.source = Some(shown);
        shown
    }

    /// Puts back the latency last reported for each host whose new measurement is noise, and
    /// forgets the hosts that are gone.
    pub fn hosts(&mut self, hosts: &mut [HostRow]) {
        let mut reported = HashMap::with_capacity(hosts.len());
        for host in hosts {
            let Some(measured) = host.latency_ms else {
                continue;
            };
            let shown = match self.hosts.get(&host.name) {
                Some(&(shown, status)) if status == host.status && is_noise(shown, measured) => {
                    shown
                }
                _ => measured,
            };
            host.latency_ms = Some(shown);
            reported.insert(host.name.clone(), (shown, host.status));
        }
        self.hosts = reported;
    }
}

/// Whether `measured` is within the noise band around `shown`.
fn is_noise(shown: u64, measured: u64) -> bool {
    shown.abs_diff(measured) <= NOISE_FLOOR_MS.max(shown / 4)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn host(name: &str, status: HostStatus, latency_ms: Option<u64>) -> HostRow {
        let mut row =
            HostRow::checked("web", name.to_owned(), "http", status, DateTime::UNIX_EPOCH);
        row.latency_ms = latency_ms;
        row
    }

    /// Reports `measured` for one host `name` and returns what is shown.
    fn shown(steady: &mut SteadyLatency, status: HostStatus, measured: u64) -> Option<u64> {
        let mut hosts = [host("api", status, Some(measured))];
        steady.hosts(&mut hosts);
        hosts[0].latency_ms
    }

    #[test]
    fn loopback_jitter_keeps_the_first_figure() {
        let mut steady = SteadyLatency::default();
        let reported: Vec<_> = [2, 0, 4, 1, 3, 5, 0]
            .into_iter()
            .map(|ms| shown(&mut steady, HostStatus::Up, ms))
            .collect();
        assert_eq!(reported, vec![Some(2); 7]);
    }

    #[test]
    fn a_real_change_is_reported_and_becomes_the_new_anchor() {
        let mut steady = SteadyLatency::default();
        assert_eq!(shown(&mut steady, HostStatus::Up, 80), Some(80));
        // A quarter of 80 is 20: 95 is noise, 101 is not.
        assert_eq!(shown(&mut steady, HostStatus::Up, 95), Some(80));
        assert_eq!(shown(&mut steady, HostStatus::Up, 101), Some(101));
        assert_eq!(shown(&mut steady, HostStatus::Up, 110), Some(101));
        // The anchor does not creep: many small steps in one direction add up to a change.
        assert_eq!(shown(&mut steady, HostStatus::Up, 120), Some(101));
        assert_eq!(shown(&mut steady, HostStatus::Up, 130), Some(130));
        assert_eq!(shown(&mut steady, HostStatus::Up, 6), Some(6));
    }

    #[test]
    fn a_change_of_status_shows_the_measurement_that_came_with_it() {
        let mut steady = SteadyLatency::default();
        assert_eq!(shown(&mut steady, HostStatus::Up, 98), Some(98));
        assert_eq!(shown(&mut steady, HostStatus::Degraded, 103), Some(103));
        assert_eq!(shown(&mut steady, HostStatus::Degraded, 99), Some(103));
        assert_eq!(shown(&mut steady, HostStatus::Up, 99), Some(99));
    }

    #[test]
    fn hosts_are_anchored_by_name_and_forgotten_when_gone() {
        let mut steady = SteadyLatency::default();
        let mut first = [
            host("a", HostStatus::Up, Some(10)),
            host("b", HostStatus::Up, Some(200)),
            host("c", HostStatus::Down, None),
        ];
        steady.hosts(&mut first);
        let mut second = [
            host("b", HostStatus::Up, Some(210)),
            host("a", HostStatus::Up, Some(12)),
            host("c", HostStatus::Down, None),
        ];
        steady.hosts(&mut second);
        let latencies: Vec<_> = second.iter().map(|h| h.latency_ms).collect();
        assert_eq!(latencies, [Some(200), Some(10), None]);
        // "a" was left out of a poll: its next figure is taken as it is.
        steady.hosts(&mut [host("b", HostStatus::Up, Some(200))]);
        let mut back = [host("a", HostStatus::Up, Some(13))];
        steady.hosts(&mut back);
        assert_eq!(back[0].latency_ms, Some(13));
    }

    #[test]
    fn the_source_latency_is_steadied_the_same_way() {
        let mut steady = SteadyLatency::default();
        let reported: Vec<u64> = [3, 1, 7, 9, 1000, 990]
            .into_iter()
            .map(|ms| steady.source(ms))
            .collect();
        assert_eq!(reported, [3, 3, 3, 9, 1000, 1000]);
    }
}
