//! Problems found in a configuration, theme or keymap file, each pinned to a file, line, column
//! and key path, and the spanned-TOML reader that finds them.
//!
//! Validation is written by hand over toml's spanned document (`DeTable`) rather than derived
//! with serde: serde stops at the first error and cannot suggest the key that was meant, while an
//! operator fixing a config at 3 a.m. wants every problem, with its line, in one go.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user knows it: its path, or `themes/default.toml (built in)`.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The key path, e.g. `source "api-prod".expect_status` (`source[2]` for a source without a
    /// usable name); empty for a problem with the file as a whole.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// One paragraph per problem, in file order.
pub(crate) fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The closest candidate to a misspelt word, if any is close enough to be what was meant.
pub(crate) fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    // Jaro-Winkler ranks well but is harsh on short words (`rde` vs `red`); one typo or
    // swapped pair per few letters is accepted too.
    let typos_allowed = (word.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, candidate)| {
            *score >= 0.8 || strsim::damerau_levenshtein(word, candidate) <= typos_allowed
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// ` Did you mean `x`?` or nothing, for the end of a message.
pub(crate) fn suggestion<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    did_you_mean(word, candidates)
        .map(|best| format!(" Did you mean `{best}`?"))
        .unwrap_or_default()
}

pub(crate) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects the problems of one file and turns byte spans into lines and columns.
pub(crate) struct Problems<'s> {
    file: String,
    text: &'s str,
    found: Vec<Diagnostic>,
}

impl<'s> Problems<'s> {
    pub(crate) fn new(file: impl Into<String>, text: &'s str) -> Self {
        Problems {
            file: file.into(),
            text,
            found: Vec::new(),
        }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    pub(crate) fn report(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.found.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// TOML syntax errors, as the parser words them, plus a pointer at the usual fix.
    pub(crate) fn syntax(&mut self, errors: Vec<toml::de::Error>) {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let message = format!(
                "this is not valid TOML: {}. Check quotes, brackets and `=` on this line.",
                error.message().trim_end_matches('\n')
            );
            self.report(span, "", message);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// All problems in file order, or `Ok` when there were none.
    pub(crate) fn finish(mut self) -> Result<(), Vec<Diagnostic>> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.found.sort_by_key(|d| (d.line, d.column));
        Err(self.found)
    }
}

pub(crate) type Value<'a, 'i> = &'a Spanned<DeValue<'i>>;

/// The values a duration key accepts. Every duration has a maximum: far beyond it a value is a
/// slip (a unit left off, a zero too many), and an unbounded one overflows the date arithmetic
/// of the console's loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DurationLimits {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    /// Why nothing shorter is accepted, for the message: "a timeout must be longer than zero".
    pub(crate) why_min: &'static str,
}

/// A short phrase for a TOML value's type, for "expected …, found …".
pub(crate) fn found(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number with a fraction",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

pub(crate) fn as_i64(value: &DeValue<'_>) -> Option<i64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

pub(crate) fn as_f64(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Float(f) => f.as_str().parse().ok(),
        DeValue::Integer(_) => as_i64(value).map(|i| i as f64),
        _ => None,
    }
}

/// One TOML table being validated. Every key the validator asks for is remembered, so that
/// [`Table::finish`] can call every other key unknown and suggest the closest known one.
pub(crate) struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    span: Range<usize>,
    path: String,
    known: Vec<&'static str>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn root(document: &'a Spanned<DeTable<'i>>) -> Self {
        Table {
            entries: document.get_ref(),
            span: document.span(),
            path: String::new(),
            known: Vec::new(),
        }
    }

    fn nested(value: Value<'a, 'i>, path: String) -> Option<Self> {
        match value.get_ref() {
            DeValue::Table(entries) => Some(Table {
                entries,
                span: value.span(),
                path,
                known: Vec::new(),
            }),
            _ => None,
        }
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Every entry, for tables whose keys are data (keymap sections) rather than a schema.
    pub(crate) fn entries(
        &self,
    ) -> impl Iterator<Item = (&'a Spanned<std::borrow::Cow<'i, str>>, Value<'a, 'i>)> {
        self.entries.iter()
    }

    pub(crate) fn value(&mut self, key: &'static str) -> Option<Value<'a, 'i>> {
        self.known.push(key);
        self.entries.get(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub(crate) fn missing(&self, problems: &mut Problems<'_>, key: &str, what: &str) {
        let place = if self.path.is_empty() {
            "the file".to_owned()
        } else {
            format!("`{}`", self.path)
        };
        problems.report(
            self.span(),
            &self.key_path(key),
            format!("{place} needs `{key}`: add `{key} = {what}`."),
        );
    }

    pub(crate) fn wrong_type(
        &self,
        problems: &mut Problems<'_>,
        key: &str,
        value: Value<'_, '_>,
        expected: &str,
    ) {
        problems.report(
            value.span(),
            &self.key_path(key),
            format!("expected {expected}, found {}.", found(value.get_ref())),
        );
    }

    pub(crate) fn string(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<(String, Range<usize>)> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), value.span())),
            _ => {
                self.wrong_type(problems, key, value, expected);
                None
            }
        }
    }

    /// A string that must be present and non-empty.
    pub(crate) fn required_string(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<(String, Range<usize>)> {
        if !self.has(key) {
            self.missing(problems, key, expected);
            self.known.push(key);
            return None;
        }
        let (text, span) = self.string(problems, key, expected)?;
        if text.trim().is_empty() {
            problems.report(
                span,
                &self.key_path(key),
                format!("is empty: give {expected}."),
            );
            return None;
        }
        Some((text, span))
    }

    pub(crate) fn bool(&mut self, problems: &mut Problems<'_>, key: &'static str) -> Option<bool> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(problems, key, value, "true or false");
                None
            }
        }
    }

    /// An integer in `range`; `expected` describes it with an example.
    pub(crate) fn integer(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
        expected: &str,
    ) -> Option<i64> {
        self.in_range(problems, key, range, expected, as_i64)
    }

    /// A number (integer or float) in `range`; `expected` describes it with an example.
    pub(crate) fn number(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        range: std::ops::RangeInclusive<f64>,
        expected: &str,
    ) -> Option<f64> {
        self.in_range(problems, key, range, expected, as_f64)
    }

    fn in_range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        range: std::ops::RangeInclusive<T>,
        expected: &str,
        read: impl Fn(&DeValue<'_>) -> Option<T>,
    ) -> Option<T> {
        let value = self.value(key)?;
        let Some(number) = read(value.get_ref()) else {
            self.wrong_type(problems, key, value, expected);
            return None;
        };
        if !range.contains(&number) {
            problems.report(
                value.span(),
                &self.key_path(key),
                format!(
                    "{number} is out of range: expected {expected} ({} to {}).",
                    range.start(),
                    range.end()
                ),
            );
            return None;
        }
        Some(number)
    }

    /// A humantime duration such as `"10s"`, within `limits`.
    pub(crate) fn duration(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        limits: DurationLimits,
    ) -> Option<Duration> {
        let (text, span) = self.string(problems, key, "a duration such as \"10s\" or \"5m\"")?;
        let message = match super::duration::parse(&text) {
            Ok(d) if d < limits.min => format!(
                "`{text}` is too short: {}; write at least \"{}\".",
                limits.why_min,
                super::duration::format_limit(limits.min)
            ),
            Ok(d) if d > limits.max => format!(
                "`{text}` is longer than this key allows: write at most \"{}\".",
                super::duration::format_limit(limits.max)
            ),
            Ok(d) => return Some(d),
            Err(message) => message,
        };
        problems.report(span, &self.key_path(key), message);
        None
    }

    /// A list of strings; `non_empty` refuses `[]`.
    pub(crate) fn string_list(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        expected: &str,
        non_empty: bool,
    ) -> Option<Vec<String>> {
        let value = self.value(key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(problems, key, value, expected);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => out.push(s.to_string()),
                other => {
                    problems.report(
                        item.span(),
                        &format!("{}[{index}]", self.key_path(key)),
                        format!("expected a string, found {}.", found(other)),
                    );
                    return None;
                }
            }
        }
        if non_empty && out.is_empty() {
            problems.report(
                value.span(),
                &self.key_path(key),
                format!("is empty: give {expected}."),
            );
            return None;
        }
        Some(out)
    }

    /// A sub-table (`x = { … }` or `[parent.x]`).
    pub(crate) fn table(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<Table<'a, 'i>> {
        let value = self.value(key)?;
        let table = Table::nested(value, self.key_path(key));
        if table.is_none() {
            self.wrong_type(problems, key, value, expected);
        }
        table
    }

    /// `[[key]]` entries, each named in key paths by its `name` when it has one
    /// (`source "api-prod"`: the name the operator knows it by), else by its index
    /// (`source[6]`).
    pub(crate) fn array_of_tables(
        &mut self,
        problems: &mut Problems<'_>,
        key: &'static str,
    ) -> Vec<Table<'a, 'i>> {
        let Some(value) = self.value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(problems, key, value, &format!("`[[{key}]]` tables"));
            return Vec::new();
        };
        let mut tables = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let name = match item.get_ref() {
                DeValue::Table(entries) => {
                    entries.get("name").and_then(|name| match name.get_ref() {
                        DeValue::String(name) if !name.trim().is_empty() => Some(name),
                        _ => None,
                    })
                }
                _ => None,
            };
            let path = match name {
                // Quoted and escaped as Rust's `Debug` does: a name may hold anything.
                Some(name) => format!("{} {:?}", self.key_path(key), name.as_ref()),
                None => format!("{}[{index}]", self.key_path(key)),
            };
            match Table::nested(item, path.clone()) {
                Some(table) => tables.push(table),
                None => problems.report(
                    item.span(),
                    &path,
                    format!(
                        "expected a `[[{key}]]` table, found {}.",
                        found(item.get_ref())
                    ),
                ),
            }
        }
        tables
    }

    /// Every key nobody asked for is unknown; `what` names the table for the message
    /// (`an http source`).
    pub(crate) fn finish(&self, problems: &mut Problems<'_>, what: &str) {
        for (key, _) in self.entries.iter() {
            let name: &str = key.get_ref();
            if self.known.contains(&name) {
                continue;
            }
            let mut valid = self.known.clone();
            valid.sort_unstable();
            valid.dedup();
            let hint = match did_you_mean(name, valid.iter().copied()) {
                Some(best) => format!("Did you mean `{best}`?"),
                None => format!("Valid keys here: {}.", backticked(&valid)),
            };
            problems.report(
                key.span(),
                &self.key_path(name),
                format!("unknown key `{name}` in {what}. {hint}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let problems = Problems::new("f", "ab\ncé=x\n");
        assert_eq!(problems.position(0), (1, 1));
        assert_eq!(problems.position(3), (2, 1));
        // `=` follows a two-byte character: column counts characters, not bytes.
        assert_eq!(problems.position(6), (2, 3));
    }

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(
            did_you_mean("expect_stauts", ["expect_status", "url"]),
            Some("expect_status")
        );
        assert_eq!(did_you_mean("banana", ["expect_status", "url"]), None);
    }

    #[test]
    fn problems_come_out_in_file_order() {
        let mut problems = Problems::new("f", "a\nb\nc\n");
        problems.report(4..5, "c", "third");
        problems.report(0..1, "a", "first");
        let found = problems.finish().unwrap_err();
        assert_eq!(found[0].message, "first");
        assert_eq!(found[1].line, 3);
        assert_eq!(found[1].to_string(), "f:3:1: `c`: third");
    }
}
