//! Human durations in configuration files: `"10s"`, `"5m"`, `"30d"`.

use std::time::Duration;

/// Parses a humantime duration; the error says what was wrong and shows a valid example.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|error| {
        format!(
            "`{text}` is not a duration ({error}): write a number and a unit, e.g. \"500ms\", \"10s\", \"5m\", \"2h\" or \"30d\"."
        )
    })
}

/// The short form used in summaries, e.g. `1m 30s`.
pub fn format(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A limit as a user would write it in the file, in its largest whole unit: `365d`, `10m`,
/// `1ms`. humantime would write 365 days in years and months of average length.
pub fn format_limit(duration: Duration) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let seconds = duration.as_secs();
    if duration.subsec_nanos() == 0 && seconds > 0 {
        for (size, unit) in UNITS {
            if seconds.is_multiple_of(size) {
                return format!("{}{unit}", seconds / size);
            }
        }
    }
    format!("{}ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_the_spec_shows() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse("150ms"), Ok(Duration::from_millis(150)));
    }

    #[test]
    fn a_bad_duration_shows_an_example() {
        let message = parse("10 parsecs").unwrap_err();
        assert!(message.contains("`10 parsecs`"), "{message}");
        assert!(message.contains("\"10s\""), "{message}");
        assert!(parse("10").is_err(), "a bare number has no unit");
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn limits_read_back_as_written() {
        for (limit, text) in [
            (Duration::from_secs(365 * 86_400), "365d"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(600), "10m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(1), "1ms"),
        ] {
            assert_eq!(format_limit(limit), text);
            assert_eq!(parse(text), Ok(limit));
        }
    }
}
