//! Text from other systems made safe to print: on the console, in `snapshot` and `audit`, as text
//! or JSON.
//!
//! A host name, an alert summary or an error message comes from a server ondeck does not
//! control. Control characters in it (an escape sequence, C1's single-byte CSI U+009B) would act
//! on the reader's terminal, and Unicode format characters (the bidirectional overrides U+202E
//! and U+2066–U+2069, zero-width spaces and joiners) make text read differently from what it is.
//! Each such character is shown escaped, visibly, rather than dropped: an operator must see that
//! a name was tampered with.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `c` must not reach a terminal as itself: a control character (C0, DEL, C1), a format
/// character (Unicode category Cf: bidi controls, zero-width characters, the BOM, tags) or a
/// line or paragraph separator (U+2028, U+2029), which some terminals and editors break lines on.
pub fn is_unsafe(c: char) -> bool {
    // ASCII printables are the bulk of every string; skip the table lookup for them.
    if (' '..='~').contains(&c) {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// `s` with every [unsafe](is_unsafe) character escaped as Rust writes it (`\n`, `\u{1b}`,
/// `\u{202e}`); borrowed when there is nothing to escape.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with every [unsafe](is_unsafe) character written as a `\uXXXX` escape
/// (a surrogate pair above U+FFFF). serde_json escapes only C0 controls, so a C1 control or a
/// bidi override would otherwise reach the terminal a script prints the JSON on; escaped, a JSON
/// reader still gets the very same string.
///
/// Done on the output rather than in a serde_json `Formatter`, which would have to re-implement
/// the pretty printer's indentation: outside string literals serde_json writes only ASCII, and
/// inside them it escapes every C0 control itself, so a raw line feed is the printer's own and
/// every other unsafe character is inside a string, where an escape means the same character.
pub fn json_escaped(json: String) -> String {
    let needs_escape = |c: char| c != '\n' && is_unsafe(c);
    if !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as pretty-printed JSON, [escaped](json_escaped) for a terminal.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(json_escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_format_characters_are_escaped_visibly() {
        assert_eq!(printable("db\u{1b}[2J\nx"), r"db\u{1b}[2J\nx");
        assert_eq!(printable("a\u{9b}31mb"), r"a\u{9b}31mb");
        assert_eq!(printable("exe.\u{202e}gpj"), r"exe.\u{202e}gpj");
        assert_eq!(
            printable("\u{2066}x\u{2069}\u{200b}\u{feff}\u{2028}"),
            r"\u{2066}x\u{2069}\u{200b}\u{feff}\u{2028}"
        );
        // A tag character, above the Basic Multilingual Plane.
        assert_eq!(printable("\u{e0041}"), r"\u{e0041}");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "api-prod",
            "日本語のホスト",
            "café",
            "3 hosts down → ok",
            "C:\\ops",
        ] {
            assert!(
                matches!(printable(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn json_keeps_its_strings_but_not_their_raw_bytes() {
        let hostile = "a\u{9b}b\u{202e}c\u{e0041}\u{1b}\u{7f}";
        let json = to_json_pretty(&serde_json::json!({ "name": hostile, "ok": "é" })).unwrap();
        assert!(!json.chars().any(|c| c != '\n' && is_unsafe(c)), "{json}");
        assert!(
            json.contains(r"a\u009bb\u202ec\udb40\udc41\u001b\u007f"),
            "{json}"
        );
        assert!(json.contains("{\n  \""), "still pretty-printed: {json}");
        assert!(json.contains("é"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], hostile);
    }
}
