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
}
