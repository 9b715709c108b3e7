//! Formatting of cell values shared by the panes and overlays.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::config::keymap::{KeyContext, Keymap};
use crate::model::format_age;
use crate::msg::Command;
use crate::printable::printable;

const ELLIPSIS: char = '…';

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

pub fn hh_mm(at: DateTime<Utc>) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
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

/// The keys bound to `command`, from the first context in `contexts` that binds it, joined for
/// display (`q, ctrl-c`); `None` when no context binds it.
pub fn keys(keymap: &Keymap, contexts: &[KeyContext], command: Command) -> Option<String> {
    contexts.iter().find_map(|&context| {
        let keys = keymap.keys_for(context, command);
        (!keys.is_empty()).then(|| keys.join(", "))
    })
}

/// Text from a source as it may reach the terminal: control and format characters escaped
/// visibly (`\u{202e}`), not left for ratatui to drop silently or pass on.
pub fn shown<'a>(text: impl Into<Cow<'a, str>>) -> Cow<'a, str> {
    match text.into() {
        Cow::Borrowed(text) => printable(text),
        Cow::Owned(text) => match printable(&text) {
            Cow::Borrowed(_) => Cow::Owned(text),
            Cow::Owned(escaped) => Cow::Owned(escaped),
        },
    }
}

/// `text` [shown](shown) and cut to `width` columns, ending in `…` when something was cut.
pub fn fit<'a>(text: impl Into<Cow<'a, str>>, width: u16) -> Cow<'a, str> {
    let text = shown(text);
    let width = usize::from(width);
    if text.width() <= width {
        return text;
    }
    let mut cut = String::with_capacity(width + ELLIPSIS.len_utf8());
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        cut.push(ch);
        used += w;
    }
    if width > 0 {
        cut.push(ELLIPSIS);
    }
    Cow::Owned(cut)
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
    fn cut_values_end_with_an_ellipsis() {
        assert_eq!(fit("backup-proofpass-db", 10), "backup-pr…");
        assert_eq!(fit("api-prod", 8), "api-prod");
        assert_eq!(fit("api-prod", 1), "…");
        assert_eq!(fit("api-prod", 0), "");
        assert_eq!(fit("日本語のホスト", 5), "日本…");
    }

    #[test]
    fn fitted_text_is_escaped_before_it_is_cut() {
        assert_eq!(fit("a\u{202e}b", 20), r"a\u{202e}b");
        assert_eq!(fit(String::from("\u{9b}2J"), 20), r"\u{9b}2J");
        // The escape counts towards the width, so the columns stay aligned.
        assert_eq!(fit("a\u{202e}b", 5), "a\\u{…");
    }
}
