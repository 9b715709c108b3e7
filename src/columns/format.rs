//! How values read in cells and views: ages, percentages, times, durations.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use crate::model::format_age;

/// How long ago `at` was, rounded: `42s`, `5m`.
pub fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format_age((now - at).num_seconds())
}

/// `42%`, or `-` when the source does not report it.
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.0}%", v.clamp(0.0, 999.0)),
        _ => "-".to_owned(),
    }
}

/// `14:03:55` for a moment in the last day; `11-30` (month-day) for an older one, which a bare
/// time of day would pass off as today's.
pub fn time_or_date(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    if now - at < chrono::Duration::days(1) {
        format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
    } else {
        at.format("%m-%d").to_string()
    }
}

/// `3m 12s`: humantime's wording, which operators read the same way in the logs.
pub fn duration(seconds: i64) -> String {
    humantime::format_duration(Duration::from_secs(seconds.max(0).unsigned_abs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_and_marks_unknown() {
        assert_eq!(percent(Some(41.6)), "42%");
        assert_eq!(percent(None), "-");
        assert_eq!(percent(Some(f64::NAN)), "-");
    }

    #[test]
    fn a_time_of_day_only_within_the_last_day() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:40:00Z")
            .unwrap()
            .to_utc();
        let earlier = |hours: i64| now - chrono::Duration::hours(hours);
        assert_eq!(time_or_date(now, earlier(2)), "06:40:00");
        assert_eq!(time_or_date(now, earlier(23)), "09:40:00");
        assert_eq!(time_or_date(now, earlier(24)), "11-30");
    }

    #[test]
    fn duration_reads_like_the_logs() {
        assert_eq!(duration(192), "3m 12s");
        assert_eq!(duration(-5), "0s");
    }
}
