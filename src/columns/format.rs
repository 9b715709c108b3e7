//! How values read in cells and views: ages, percentages, times, durations.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use crate::model::{UNDER_A_MINUTE, format_age_to_minute};

/// How long ago `at` was, to the minute (see [`format_age_to_minute`]).
pub fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format_age_to_minute((now - at).num_seconds())
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

/// `3m 12s`: humantime's wording, which operators read the same way in the logs. For a span
/// that has ended; one still growing reads as [`elapsed`].
pub fn duration(seconds: i64) -> String {
    humantime::format_duration(Duration::from_secs(seconds.max(0).unsigned_abs())).to_string()
}

/// How long something still going has run, to the minute for the reason [`age`] gives:
/// `<1m`, `4m`, `2h 5m`.
pub fn elapsed(seconds: i64) -> String {
    if seconds < 60 {
        UNDER_A_MINUTE.to_owned()
    } else {
        duration(seconds - seconds % 60)
    }
}

/// A number in the unit its name ends with, the way the rows name them: `free_bytes` as
/// `71.7 GiB`, `used_pct` as `41.6%`, `latency_ms` as `12ms`, `uptime_s` as `3days 4h`.
/// `None` for a name without a known unit.
pub fn with_unit(name: &str, value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let unit = name.rsplit('_').next().unwrap_or("");
    let text = match unit {
        "bytes" => bytesize::ByteSize::b(value.max(0.0) as u64)
            .display()
            .iec()
            .to_string(),
        "pct" | "percent" => format!("{}%", round1(value)),
        "ms" => format!("{}ms", round1(value)),
        "s" | "seconds" => {
            // To the millisecond: a replication lag of 0.3 s reads as `300ms`.
            let span = Duration::from_millis((value.max(0.0) * 1000.0).round() as u64);
            humantime::format_duration(span).to_string()
        }
        _ => return None,
    };
    Some(text)
}

/// One decimal where there is one: `41.6`, `12`.
fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
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

    #[test]
    fn numbers_read_in_the_unit_their_name_ends_with() {
        assert_eq!(
            with_unit("free_bytes", 76_973_936_640.0).as_deref(),
            Some("71.7 GiB")
        );
        assert_eq!(
            with_unit("mem_total_bytes", 8_388_608.0).as_deref(),
            Some("8.0 MiB")
        );
        assert_eq!(with_unit("used_pct", 41.63).as_deref(), Some("41.6%"));
        assert_eq!(with_unit("latency_ms", 12.0).as_deref(), Some("12ms"));
        assert_eq!(
            with_unit("uptime_s", 273_600.0).as_deref(),
            Some("3days 4h")
        );
        assert_eq!(
            with_unit("replication_lag_s", 0.3).as_deref(),
            Some("300ms")
        );
        assert_eq!(with_unit("load1", 0.52), None);
        assert_eq!(with_unit("progress", 1.0), None);
        assert_eq!(with_unit("used_pct", f64::NAN), None);
    }

    /// The screen may wait up to a minute for its next frame: nothing that grows with the
    /// clock is shown in seconds.
    #[test]
    fn growing_spans_are_shown_to_the_minute() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:40:30Z")
            .unwrap()
            .to_utc();
        let ago = |seconds: i64| now - chrono::Duration::seconds(seconds);
        assert_eq!(age(now, ago(0)), "<1m");
        assert_eq!(age(now, ago(42)), "<1m");
        assert_eq!(age(now, ago(-5)), "<1m");
        assert_eq!(age(now, ago(60)), "1m");
        assert_eq!(age(now, ago(3599)), "59m");
        assert_eq!(age(now, ago(7300)), "2h");
        assert_eq!(elapsed(42), "<1m");
        assert_eq!(elapsed(95), "1m");
        assert_eq!(elapsed(7530), "2h 5m");
    }
}
