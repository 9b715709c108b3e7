//! Which backups retention removes: decided from their times and whether they verify, without
//! touching a file, so that the rules are tested on their own.
//!
//! - Only backups that verify are ever removed; one that does not is kept and reported, for
//!   someone to look at.
//! - The newest backup that verifies is never removed, whatever `keep` and `max_age` say.
//! - Of the others that verify, those past the `keep` newest, and those older than `max_age`,
//!   are removed.

use chrono::{DateTime, Utc};

use crate::config::Retention;

/// One backup as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub time: DateTime<Utc>,
    pub verifies: bool,
}

/// What retention does with a list of candidates: indexes into it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub remove: Vec<usize>,
    /// Backups that do not verify: kept, and reported.
    pub reported: Vec<usize>,
}

/// The decision for `candidates`, in any order, at `now`.
pub fn decide(candidates: &[Candidate], retention: &Retention, now: DateTime<Utc>) -> Decision {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(candidates[index].time));
    let mut decision = Decision::default();
    let mut good_seen = 0u32;
    for index in order {
        let candidate = candidates[index];
        if !candidate.verifies {
            decision.reported.push(index);
            continue;
        }
        good_seen += 1;
        if good_seen == 1 {
            continue;
        }
        let beyond_keep = retention.keep.is_some_and(|keep| good_seen > keep);
        let too_old = retention.max_age.is_some_and(|max_age| {
            (now - candidate.time)
                .to_std()
                .is_ok_and(|age| age > max_age)
        });
        if beyond_keep || too_old {
            decision.remove.push(index);
        }
    }
    decision.remove.sort_unstable();
    decision.reported.sort_unstable();
    decision
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeDelta;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn days_ago(now: DateTime<Utc>, days: i64, verifies: bool) -> Candidate {
        Candidate {
            time: now - TimeDelta::days(days),
            verifies,
        }
    }

    fn keep(keep: Option<u32>, max_age: Option<Duration>) -> Retention {
        Retention { keep, max_age }
    }

    #[test]
    fn keeps_the_newest_n_that_verify_in_any_listing_order() {
        let now = Utc::now();
        let candidates: Vec<Candidate> = [3, 0, 4, 1, 2]
            .into_iter()
            .map(|days| days_ago(now, days, true))
            .collect();
        let decision = decide(&candidates, &keep(Some(2), None), now);
        // Kept: 0 and 1 days old (indexes 1 and 3); removed: 2, 3, 4 days old.
        assert_eq!(decision.remove, [0, 2, 4]);
        assert!(decision.reported.is_empty());
    }

    #[test]
    fn removes_the_old_but_never_the_newest_that_verifies() {
        let now = Utc::now();
        let candidates = [days_ago(now, 40, true), days_ago(now, 45, true)];
        let decision = decide(&candidates, &keep(None, Some(30 * DAY)), now);
        assert_eq!(decision.remove, [1], "the only recent one is 40 days old");
        let decision = decide(&candidates[..1], &keep(Some(1), Some(DAY)), now);
        assert!(decision.remove.is_empty(), "the only good one stays");
    }

    #[test]
    fn backups_that_do_not_verify_are_reported_never_removed_nor_counted() {
        let now = Utc::now();
        let candidates = [
            days_ago(now, 0, false),
            days_ago(now, 1, true),
            days_ago(now, 2, true),
            days_ago(now, 90, false),
        ];
        let decision = decide(&candidates, &keep(Some(1), Some(30 * DAY)), now);
        assert_eq!(decision.remove, [2], "the newest good one is 1 day old");
        assert_eq!(decision.reported, [0, 3]);
    }

    #[test]
    fn no_limits_keep_everything() {
        let now = Utc::now();
        let candidates = [days_ago(now, 1, true), days_ago(now, 400, true)];
        assert_eq!(
            decide(&candidates, &Retention::default(), now),
            Decision::default()
        );
    }
}
