//! Inputs for the fuzz tests of every parser and response decoder: arbitrary bytes, and valid
//! documents mutated the ways a broken or hostile peer or a slip in an editor mutates them
//! (wrong types, huge numbers, NaN and infinities, control characters, deep nesting, fields
//! removed or emptied, the text cut short).
//!
//! proptest rather than cargo-fuzz: cargo-fuzz needs a nightly toolchain, which neither a
//! developer's stable toolchain nor CI has, while these targets must run in every `cargo test`
//! (briefly) and for as long as wanted on demand: `ONDECK_FUZZ_CASES=100000 cargo test --lib
//! fuzz` runs each target that many times (default [`DEFAULT_CASES`]). The property of every
//! target: no panic, and a refusal is an error value whose message says something.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value, json};

use crate::sources::SourceError;
use crate::sources::fetch::Fetched;

/// Cases per target in a plain `cargo test`: a second or two each on a 2-core machine.
pub const DEFAULT_CASES: u32 = 256;

/// The proptest configuration of every fuzz target: `ONDECK_FUZZ_CASES` cases (else
/// [`DEFAULT_CASES`]), no regression files (each crash found is kept as a named test instead).
pub fn config() -> Config {
    let cases = std::env::var("ONDECK_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// An answer with this status and body.
pub fn answer(status: u16, body: Vec<u8>) -> Fetched {
    Fetched {
        status,
        body,
        latency_ms: 7,
        request_id: "fuzz".into(),
        peer_certificate: None,
    }
}

/// Mostly 200, else any status at all (a proxy's 502, an API's 4xx, a 0 from a broken peer).
pub fn status() -> impl Strategy<Value = u16> {
    prop_oneof![3 => Just(200u16), 1 => 0u16..1000]
}

/// A decoder's refusal: an error value that says something.
pub fn assert_explained(error: &SourceError) {
    assert!(
        !error.to_string().trim().is_empty(),
        "an error without a message: {error:?}"
    );
}

/// Values no peer should send but some will: extremes, the wrong type, text that is not text.
pub fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(0)),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(f64::MAX)),
        Just(json!(-f64::MAX)),
        Just(json!(f64::MIN_POSITIVE)),
        Just(json!("NaN")),
        Just(json!("+Inf")),
        Just(json!("-Inf")),
        Just(json!("1e999")),
        Just(json!("")),
        Just(json!(" ")),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("-262144-01-01T00:00:00Z")),
        Just(json!("0000-00-00 00:00:00")),
        "\\PC{0,40}".prop_map(Value::from),
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202e}\\u{feff}\\u{1b}]{1,20}".prop_map(Value::from),
        Just(Value::from("x".repeat(100_000))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One change to a JSON document, at the node `path` leads to (each step picks a child by index
/// modulo the number of children; the walk stops at a leaf).
#[derive(Debug, Clone)]
pub enum JsonMutation {
    Replace(Value),
    /// Removes a child of the node reached (a field, an element).
    Remove,
    /// Adds a field (to an object) or an element (to an array).
    Insert(String, Value),
    /// Wraps the node in this many arrays.
    Nest(usize),
    /// Repeats the node's elements or fields many times over.
    Repeat(usize),
}

fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    prop_oneof![
        3 => hostile_json().prop_map(JsonMutation::Replace),
        2 => Just(JsonMutation::Remove),
        1 => ("[a-z_]{1,12}", hostile_json()).prop_map(|(key, value)| JsonMutation::Insert(key, value)),
        1 => (1usize..300).prop_map(JsonMutation::Nest),
        1 => (2usize..2_000).prop_map(JsonMutation::Repeat),
    ]
}

fn apply(node: &mut Value, path: &[usize], mutation: JsonMutation) {
    if let Some((&step, rest)) = path.split_first() {
        let child = match node {
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                items.get_mut(step % len)
            }
            Value::Object(fields) if !fields.is_empty() => {
                let len = fields.len();
                fields.values_mut().nth(step % len)
            }
            _ => None,
        };
        if let Some(child) = child {
            return apply(child, rest, mutation);
        }
    }
    match mutation {
        JsonMutation::Replace(value) => *node = value,
        JsonMutation::Remove => match node {
            Value::Array(items) if !items.is_empty() => {
                let at = path.first().copied().unwrap_or(0) % items.len();
                items.remove(at);
            }
            Value::Object(fields) if !fields.is_empty() => {
                let at = path.first().copied().unwrap_or(0) % fields.len();
                if let Some(key) = fields.keys().nth(at).cloned() {
                    fields.remove(&key);
                }
            }
            _ => *node = Value::Null,
        },
        JsonMutation::Insert(key, value) => match node {
            Value::Array(items) => items.push(value),
            Value::Object(fields) => {
                fields.insert(key, value);
            }
            _ => *node = Value::Object(Map::from_iter([(key, value)])),
        },
        JsonMutation::Nest(depth) => {
            for _ in 0..depth {
                *node = Value::Array(vec![node.take()]);
            }
        }
        JsonMutation::Repeat(times) => match node {
            // Up to about a megabyte, so that a case stays in the milliseconds: many rows are
            // what is tested, not the memory a document of gigabytes takes.
            Value::Array(items) if !items.is_empty() => {
                let size = Value::Array(items.clone()).to_string().len();
                let copy = items.clone();
                for _ in 1..times.min(1_000_000 / size) {
                    items.extend(copy.iter().cloned());
                }
            }
            Value::String(text) if text.len() < 1_000 => *text = text.repeat(times),
            _ => {}
        },
    }
}

/// `valid` with one to four mutations applied.
pub fn mutated_json(valid: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (prop::collection::vec(any::<usize>(), 0..6), json_mutation()),
        1..4,
    )
    .prop_map(move |mutations| {
        let mut document = valid.clone();
        for (path, mutation) in mutations {
            apply(&mut document, &path, mutation);
        }
        document
    })
}

/// Tokens no JSON parser should take for a number or a string.
const JSON_TOKENS: &[&[u8]] = &[
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e999",
    b"18446744073709551616",
    b"\"\\ud800\"",
    b"\x00",
    b"\xff\xfe",
    b",,",
    b"]",
    b"}",
];

/// Bytes a decoder may be handed instead of its document: anything at all, the valid text cut
/// short or with bytes spliced in, nesting beyond any parser's depth.
pub fn json_bytes(valid: &Value) -> impl Strategy<Value = Vec<u8>> + use<> {
    let text = valid.to_string().into_bytes();
    let cut = text.clone();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (0..=text.len()).prop_map(move |at| cut[..at].to_vec()),
        (
            0..=text.len(),
            prop::collection::vec(any::<u8>(), 1..16),
            prop::sample::select(JSON_TOKENS),
        )
            .prop_map(move |(at, noise, token)| {
                let mut spliced = text.clone();
                let tail = spliced.split_off(at);
                spliced.extend_from_slice(&noise);
                spliced.extend_from_slice(token);
                spliced.extend_from_slice(&tail);
                spliced
            }),
        (1usize..5_000).prop_map(|depth| {
            let mut deep = "[".repeat(depth).into_bytes();
            deep.extend("]".repeat(depth).into_bytes());
            deep
        }),
        (1usize..5_000).prop_map(|depth| "{\"a\":".repeat(depth).into_bytes()),
    ]
}

/// A response body: a mutated valid document most of the time, else raw bytes.
pub fn json_body(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => mutated_json(valid.clone()).prop_map(|document| document.to_string().into_bytes()),
        1 => json_bytes(&valid),
    ]
}

/// TOML value texts that are wrong somewhere: every type, the extremes, NaN and infinities,
/// control characters, escapes TOML refuses, nesting.
const HOSTILE_TOML_VALUES: &[&str] = &[
    "nan",
    "+inf",
    "-inf",
    "-nan",
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "0x7fffffffffffffff",
    "1e308",
    "1e400",
    "5e-324",
    "true",
    "\"\"",
    "\" \"",
    "\"\\u0000\"",
    "\"\\u001b[31mred\"",
    "\"\\u202e\"",
    "\"\\ud800\"",
    "\"0s\"",
    "\"18446744073709551615s\"",
    "\"99999999999y\"",
    "\"-5s\"",
    "\"1ns\"",
    "\"env:\"",
    "\"file:\"",
    "\"env:ONDECK_FUZZ_UNSET\"",
    "\"file:/nonexistent/ondeck-fuzz\"",
    "\"http://\"",
    "\"http://user:pw@[::1\"",
    "\"postgres://\"",
    "\"::::\"",
    "\"#zzzzzz\"",
    "\"rgb(999,999,999)\"",
    "\"ctrl+alt+shift+super+\"",
    "\"F99999999999\"",
    "\"ctrl+\"",
    "\"+\"",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "[]",
    "[[]]",
    "[1, \"a\", true]",
    "{}",
    "{ a = { b = { c = {} } } }",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

/// Whole lines a slip or a merge can leave in a file.
const HOSTILE_TOML_LINES: &[&str] = &[
    "[console]",
    "[store]",
    "[[source]]",
    "[[action]]",
    "[[source]]\nname = \"\"\nkind = \"http\"",
    "[[action]]\nname = \"x\"\nkind = \"command\"",
    "[colors]",
    "[global]",
    "[console.nested]",
    "zzz = 1",
    "name = \"dup\"",
    "kind = \"nonsense\"",
    "extends = \"default\"",
    "extends = \"\"",
    "extends = \"/dev/null\"",
    "\u{0}",
    "\u{feff}",
    "=",
    "[",
    "\"\"\"",
    "a.b.c.d.e.f = 1",
    "\"\" = \"quit\"",
    "\"ctrl-\" = \"quit\"",
    "\"ctrl-alt-shift-\" = \"quit\"",
    "\"ctrl-ctrl-ctrl-x\" = \"quit\"",
    "\"f0\" = \"quit\"",
    "\"f4294967296\" = \"quit\"",
    "\"\\u0000\" = \"quit\"",
    "\"\\u001b\" = \"quit\"",
    "\"shift-\u{00df}\" = \"quit\"",
    "\"ctrl-\u{0130}\" = \"quit\"",
    "\"x\" = \"no_such_command\"",
];

/// One change to a line of a TOML document.
#[derive(Debug, Clone)]
pub enum TomlMutation {
    Delete,
    Duplicate,
    /// The text after the line's `=` becomes this value.
    ReplaceValue(&'static str),
    InsertLine(&'static str),
    /// The document ends at this byte (on a character boundary).
    CutAt(usize),
}

fn toml_mutation() -> impl Strategy<Value = TomlMutation> {
    prop_oneof![
        1 => Just(TomlMutation::Delete),
        1 => Just(TomlMutation::Duplicate),
        4 => prop::sample::select(HOSTILE_TOML_VALUES).prop_map(TomlMutation::ReplaceValue),
        2 => prop::sample::select(HOSTILE_TOML_LINES).prop_map(TomlMutation::InsertLine),
        1 => any::<usize>().prop_map(TomlMutation::CutAt),
    ]
}

fn apply_toml(text: &str, line: usize, mutation: &TomlMutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let at = line % lines.len();
    match mutation {
        TomlMutation::Delete => {
            lines.remove(at);
        }
        TomlMutation::Duplicate => {
            let copy = lines[at].clone();
            lines.insert(at, copy);
        }
        TomlMutation::ReplaceValue(value) => {
            if let Some(equals) = lines[at].find('=') {
                lines[at] = format!("{}= {value}", &lines[at][..equals]);
            }
        }
        TomlMutation::InsertLine(new) => lines.insert(at, (*new).to_owned()),
        TomlMutation::CutAt(cut) => {
            let joined = lines.join("\n");
            let mut end = cut % (joined.len() + 1);
            while !joined.is_char_boundary(end) {
                end -= 1;
            }
            return joined[..end].to_owned();
        }
    }
    lines.join("\n")
}

/// `valid` with one to six line mutations applied, or arbitrary text.
pub fn mutated_toml(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        5 => prop::collection::vec((any::<usize>(), toml_mutation()), 1..6).prop_map(
            move |mutations| {
                mutations
                    .iter()
                    .fold(valid.to_owned(), |text, (line, mutation)| {
                        apply_toml(&text, *line, mutation)
                    })
            }
        ),
        1 => "\\PC{0,200}",
        1 => any::<String>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_reach_nested_nodes() {
        let mut document = json!({"a": {"b": [1, 2]}});
        apply(&mut document, &[0, 0, 1], JsonMutation::Replace(json!("x")));
        assert_eq!(document, json!({"a": {"b": [1, "x"]}}));
        apply(&mut document, &[0], JsonMutation::Remove);
        assert_eq!(document, json!({"a": {}}));
    }

    #[test]
    fn toml_values_are_replaced_after_the_equals_sign() {
        let text = "[console]\ntick = \"1s\"";
        let replaced = apply_toml(text, 1, &TomlMutation::ReplaceValue("nan"));
        assert_eq!(replaced, "[console]\ntick = nan");
    }
}
