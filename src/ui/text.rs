//! Text shared by the panes, overlays and status bar: fitting, key names, the clock.

use std::borrow::Cow;

use chrono::{DateTime, Timelike, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::config::keymap::{KeyContext, Keymap};
use crate::msg::Command;
use crate::printable::printable;

const ELLIPSIS: char = '…';

/// `14:05`: the status bar's clock.
pub fn hh_mm(at: DateTime<Utc>) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
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
