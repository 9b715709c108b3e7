//! Keymaps: which key runs which [`Command`] in which context, loaded from TOML.
//!
//! ```toml
//! extends = "default"        # optional: start from another keymap, override key by key
//!
//! [global]
//! "q" = "quit"
//! "ctrl-c" = "quit"
//! "shift-tab" = "focus_prev"
//!
//! [dialog]
//! "y" = "submit"
//!
//! [input]
//! "esc" = "cancel"
//! ```
//!
//! Keys are a character (`q`, `?`, `G`), a named key (`enter`, `esc`, `tab`, `backtab` or
//! `shift-tab`, `up`, `down`, `left`, `right`, `pageup`, `pagedown`, `home`, `end`, `space`,
//! `backspace`, `delete`, `insert`, `f1`…`f12`), optionally after `ctrl-`, `alt-` and `shift-`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use toml::de::{DeTable, DeValue};

use super::assets::{self, AssetError, Builtins, Located};
use super::diagnostics::{Problems, Table, backticked, did_you_mean, suggestion};
use crate::msg::Command;

pub type KeymapError = AssetError;

/// Where a binding applies. Input context (a filter or palette being typed) sends unbound keys
/// to the text field.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum KeyContext {
    Global,
    Dialog,
    Input,
}

impl KeyContext {
    pub const ALL: &'static [KeyContext] = <KeyContext as strum::VariantArray>::VARIANTS;

    /// The section name in keymap files.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What the console cannot work without in this context; every keymap must bind these.
    pub fn required_commands(self) -> &'static [Command] {
        match self {
            KeyContext::Global => &[
                Command::Quit,
                Command::Help,
                Command::Palette,
                Command::FocusNext,
                Command::FocusPrev,
                Command::MoveUp,
                Command::MoveDown,
                Command::PageUp,
                Command::PageDown,
                Command::Top,
                Command::Bottom,
                Command::OpenDetail,
                Command::Close,
                Command::Filter,
                Command::SortNext,
                Command::SortReverse,
                Command::Zoom,
                Command::ShowSources,
            ],
            KeyContext::Dialog | KeyContext::Input => &[Command::Submit, Command::Cancel],
        }
    }
}

/// A parsed key: what a terminal reports, normalised so that `G` and `shift-g` are one chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    /// Only CONTROL, ALT and (for non-character keys) SHIFT.
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    /// Reads `ctrl-c`, `G`, `shift-tab`, `alt-<`, `f5`. The error says what is accepted.
    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        // A lone `-` is a key, so only strip prefixes that leave something behind.
        loop {
            let lower = rest.to_ascii_lowercase();
            let (modifier, len) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            modifiers |= modifier;
            rest = &rest[len..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => named_key(rest).ok_or_else(|| {
                format!(
                    "`{text}` is not a key.{} Keys are one character (`q`, `?`, `G`) or a name ({KEY_NAMES_HELP}), optionally after `ctrl-`, `alt-`, `shift-`.",
                    suggestion(&rest.to_ascii_lowercase(), KEY_NAMES.iter().map(|(n, _)| *n)),
                )
            })?,
        };
        KeyChord::normalise(text, code, modifiers)
    }

    fn normalise(
        text: &str,
        code: KeyCode,
        mut modifiers: KeyModifiers,
    ) -> Result<KeyChord, String> {
        let code = match code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => {
                if !c.is_alphabetic() {
                    return Err(format!(
                        "`{text}`: write the character shift gives instead (e.g. `?` rather than `shift-/`), since it differs between keyboard layouts."
                    ));
                }
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
            }
            // Terminals report ctrl-letters in either case; one spelling per chord.
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Ok(KeyChord { code, modifiers })
    }

    /// Does a key press from the terminal match? Terminals differ in whether they report SHIFT
    /// along with a shifted character (`G`, `?`) or with BackTab, so SHIFT is ignored there.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT;
        let mut pressed = event.modifiers & relevant;
        let code = match event.code {
            KeyCode::Tab if pressed.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            pressed.remove(KeyModifiers::SHIFT);
        }
        if pressed != self.modifiers {
            return false;
        }
        match (code, self.code) {
            (KeyCode::Char(got), KeyCode::Char(want))
                if pressed.contains(KeyModifiers::CONTROL) =>
            {
                got.eq_ignore_ascii_case(&want)
            }
            (got, want) => got == want,
        }
    }
}

const KEY_NAMES_HELP: &str = "enter, esc, tab, shift-tab, up, down, left, right, pageup, pagedown, home, end, space, backspace, delete, insert, f1…f12";

const KEY_NAMES: [(&str, KeyCode); 30] = [
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("f1", KeyCode::F(1)),
    ("f2", KeyCode::F(2)),
    ("f3", KeyCode::F(3)),
    ("f4", KeyCode::F(4)),
    ("f5", KeyCode::F(5)),
    ("f6", KeyCode::F(6)),
    ("f7", KeyCode::F(7)),
    ("f8", KeyCode::F(8)),
    ("f9", KeyCode::F(9)),
    ("f10", KeyCode::F(10)),
    ("f11", KeyCode::F(11)),
    ("f12", KeyCode::F(12)),
    ("escape", KeyCode::Esc),
    ("return", KeyCode::Enter),
];

fn named_key(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    KEY_NAMES
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, code)| *code)
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: KeyContext,
    /// As written in the file and shown in help: `q`, `ctrl-c`, `shift-tab`, `pagedown`.
    pub key: String,
    pub chord: KeyChord,
    pub command: Command,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
}

/// The shipped keymaps, compiled in so the binary works without its repository.
const BUILTINS: Builtins = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

/// A chain of `extends` longer than this is a cycle.
const MAX_EXTENDS: usize = 8;

impl Default for Keymap {
    /// The built-in default keymap.
    fn default() -> Self {
        // The compiled-in file only (a user's own `default` could be broken): not user input,
        // and parsed by a unit test on every build.
        assets::locate("keymap", "default", BUILTINS, true)
            .and_then(|located| Keymap::from_located(located, 0))
            .expect("the built-in default keymap is valid")
    }
}

impl Keymap {
    pub fn lookup(&self, context: KeyContext, key: &KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| b.context == context && b.chord.matches(key))
            .map(|b| b.command)
    }

    /// The keys bound to a command in a context, as written in the keymap, for help and hints.
    pub fn keys_for(&self, context: KeyContext, command: Command) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|b| b.context == context && b.command == command)
            .map(|b| b.key.as_str())
            .collect()
    }

    /// The names of the built-in keymaps.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(name, _)| *name)
    }

    /// A name (looked up in `<config dir>/keymaps/NAME.toml`, then the built-ins) or a path
    /// (anything with a `/` or ending in `.toml`).
    pub fn load(name_or_path: &str) -> Result<Keymap, KeymapError> {
        let located = assets::locate("keymap", name_or_path, BUILTINS, false)?;
        Keymap::from_located(located, 0)
    }

    /// Parses keymap text; `file` names it in errors.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Keymap, KeymapError> {
        Keymap::from_located(
            Located {
                name: name.to_owned(),
                file: file.to_owned(),
                text: std::borrow::Cow::Owned(text.to_owned()),
                builtin: false,
            },
            0,
        )
    }

    fn from_located(located: Located, depth: usize) -> Result<Keymap, KeymapError> {
        let mut problems = Problems::new(located.file.clone(), &located.text);
        let (document, errors) = DeTable::parse_recoverable(&located.text);
        if !errors.is_empty() {
            problems.syntax(errors);
            return Err(AssetError::Invalid(
                problems.finish().err().unwrap_or_default(),
            ));
        }
        let mut root = Table::root(&document);

        let mut inherited = Vec::new();
        if let Some((name, span)) = root.string(&mut problems, "extends", "a keymap name or path") {
            match load_base(&located, &name, depth) {
                Ok(base) => inherited = base.bindings,
                Err(error) => problems.report(
                    span,
                    "extends",
                    format!("the keymap it extends cannot be loaded: {error}"),
                ),
            }
        }
        let mut own = Vec::new();
        for &context in KeyContext::ALL {
            let Some(section) = root.table(
                &mut problems,
                context.name(),
                "a table of \"key\" = \"command\"",
            ) else {
                continue;
            };
            read_section(context, &section, &mut problems, &mut own);
        }
        // A key bound in this file replaces the same key inherited through `extends`; the
        // inherited command keeps its other keys.
        inherited.retain(|b: &Binding| {
            !own.iter()
                .any(|o| o.context == b.context && o.chord == b.chord)
        });
        let mut bindings = inherited;
        bindings.extend(own);
        root.finish(
            &mut problems,
            "a keymap (sections are [global], [dialog], [input])",
        );

        let keymap = Keymap {
            name: located.name,
            bindings,
        };
        if problems.is_empty() {
            for &context in KeyContext::ALL {
                let missing: Vec<&str> = context
                    .required_commands()
                    .iter()
                    .filter(|c| keymap.keys_for(context, **c).is_empty())
                    .map(|c| c.name())
                    .collect();
                if !missing.is_empty() {
                    problems.report(
                        root.span(),
                        context.name(),
                        format!(
                            "no key is bound to {} in [{}], so the console could not be used: bind them, or add `extends = \"default\"` at the top to inherit the default keys.",
                            backticked(&missing),
                            context.name()
                        ),
                    );
                }
            }
        }
        problems.finish().map_err(AssetError::Invalid)?;
        Ok(keymap)
    }
}

/// Reads one `[context]` section into `bindings`, in file order (help lists keys in the order
/// the keymap gives them). Two spellings of one key (`G`, `shift-g`) are an error naming both
/// lines.
fn read_section(
    context: KeyContext,
    section: &Table<'_, '_>,
    problems: &mut Problems<'_>,
    bindings: &mut Vec<Binding>,
) {
    let mut entries: Vec<_> = section.entries().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    // (chord, line, spelling) of every key so far in this section.
    let mut seen: Vec<(KeyChord, usize, String)> = Vec::new();
    for (key, value) in entries {
        let key_text: &str = key.get_ref();
        let key_path = format!("{}.\"{key_text}\"", context.name());
        let chord = match KeyChord::parse(key_text) {
            Ok(chord) => Some(chord),
            Err(message) => {
                problems.report(key.span(), &key_path, message);
                None
            }
        };
        let command = match value.get_ref() {
            DeValue::String(name) => match Command::from_name(name) {
                Some(command) => Some(command),
                None => {
                    let names = Command::ALL.iter().map(|c| c.name());
                    let hint = match did_you_mean(name, names.clone()) {
                        Some(best) => format!("Did you mean `{best}`?"),
                        None => format!("Commands: {}.", names.collect::<Vec<_>>().join(", ")),
                    };
                    problems.report(
                        value.span(),
                        &key_path,
                        format!("unknown command `{name}`. {hint}"),
                    );
                    None
                }
            },
            other => {
                problems.report(
                    value.span(),
                    &key_path,
                    format!(
                        "expected a command name such as \"quit\", found {}.",
                        super::diagnostics::found(other)
                    ),
                );
                None
            }
        };
        let (Some(chord), Some(command)) = (chord, command) else {
            continue;
        };
        let line = problems.line_of(key.span().start);
        if let Some((_, first_line, first_key)) = seen.iter().find(|(c, _, _)| *c == chord) {
            problems.report(
                key.span(),
                &key_path,
                format!(
                    "`{key_text}` is already bound in [{}] on line {first_line} (as `{first_key}`): a key can run only one command; remove one of the two.",
                    context.name()
                ),
            );
            continue;
        }
        seen.push((chord, line, key_text.to_owned()));
        if context == KeyContext::Input
            && chord.modifiers.is_empty()
            && matches!(chord.code, KeyCode::Char(c) if c != ' ')
        {
            problems.report(
                key.span(),
                &key_path,
                format!(
                    "binding the plain character `{key_text}` in [input] would make it impossible to type it into a filter or the palette: use a key such as `esc`, `enter` or `ctrl-…`."
                ),
            );
            continue;
        }
        bindings.push(Binding {
            context,
            key: key_text.to_owned(),
            chord,
            command,
        });
    }
}

fn load_base(child: &Located, name: &str, depth: usize) -> Result<Keymap, KeymapError> {
    if depth >= MAX_EXTENDS {
        return Err(AssetError::NotFound {
            what: "keymap",
            name: format!(
                "{name} (the `extends` chain is longer than {MAX_EXTENDS}: is it a cycle?)"
            ),
            available: Keymap::builtin_names().map(str::to_owned).collect(),
        });
    }
    // A user's `keymaps/default.toml` that extends "default" means the built-in one.
    let skip_user_dir = name == child.name;
    let located = assets::locate("keymap", name, BUILTINS, skip_user_dir)?;
    Keymap::from_located(located, depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_builtin_keymap_binds_everything_the_console_needs() {
        for name in Keymap::builtin_names() {
            let keymap = Keymap::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            for &context in KeyContext::ALL {
                for command in context.required_commands() {
                    assert!(
                        !keymap.keys_for(context, *command).is_empty(),
                        "keymap {name} binds nothing to {} in [{}]",
                        command.name(),
                        context.name()
                    );
                }
            }
        }
    }

    #[test]
    fn parses_characters_names_and_modifiers() {
        let chord = |s| KeyChord::parse(s).unwrap();
        assert_eq!(chord("q").code, KeyCode::Char('q'));
        assert_eq!(chord("ctrl-c").modifiers, KeyModifiers::CONTROL);
        assert_eq!(chord("ctrl-C"), chord("ctrl-c"));
        assert_eq!(chord("shift-tab"), chord("backtab"));
        assert_eq!(chord("shift-g"), chord("G"));
        assert_eq!(chord("f12").code, KeyCode::F(12));
        assert_eq!(chord("-").code, KeyCode::Char('-'));
        assert_eq!(
            chord("alt-<"),
            KeyChord {
                code: KeyCode::Char('<'),
                modifiers: KeyModifiers::ALT
            }
        );
        assert_eq!(chord("space").code, KeyCode::Char(' '));
        assert!(KeyChord::parse("shift-/").is_err());
        let error = KeyChord::parse("pgdown").unwrap_err();
        assert!(error.contains("`pagedown`"), "{error}");
    }

    #[test]
    fn shifted_characters_match_whether_or_not_the_terminal_reports_shift() {
        let keymap = Keymap::default();
        for modifiers in [KeyModifiers::NONE, KeyModifiers::SHIFT] {
            assert_eq!(
                keymap.lookup(KeyContext::Global, &press(KeyCode::Char('S'), modifiers)),
                Some(Command::SortReverse)
            );
            assert_eq!(
                keymap.lookup(KeyContext::Global, &press(KeyCode::Char('?'), modifiers)),
                Some(Command::Help)
            );
        }
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Char('s'), KeyModifiers::NONE)
            ),
            Some(Command::SortNext)
        );
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::BackTab, KeyModifiers::SHIFT)
            ),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Tab, KeyModifiers::SHIFT)
            ),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Command::Quit)
        );
        // `c` alone is not ctrl-c; ctrl-q is not bound in the default keymap.
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Char('c'), KeyModifiers::NONE)
            ),
            None
        );
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Char('q'), KeyModifiers::CONTROL)
            ),
            None
        );
    }

    #[test]
    fn contexts_are_separate_and_releases_are_ignored() {
        let keymap = Keymap::default();
        let y = press(KeyCode::Char('y'), KeyModifiers::NONE);
        assert_eq!(keymap.lookup(KeyContext::Dialog, &y), Some(Command::Submit));
        assert_eq!(keymap.lookup(KeyContext::Input, &y), None);
        let mut release = press(KeyCode::Enter, KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(keymap.lookup(KeyContext::Dialog, &release), None);
    }

    #[test]
    fn emacs_meta_keys_match() {
        let keymap = Keymap::load("emacs").unwrap();
        assert_eq!(
            keymap.lookup(
                KeyContext::Global,
                &press(KeyCode::Char('>'), KeyModifiers::ALT | KeyModifiers::SHIFT)
            ),
            Some(Command::Bottom)
        );
        assert_eq!(
            keymap.keys_for(KeyContext::Global, Command::Top),
            vec!["alt-<", "home"]
        );
    }

    #[test]
    fn extends_replaces_only_the_keys_it_binds() {
        let keymap = Keymap::parse(
            "mine",
            "mine.toml",
            "extends = \"default\"\n[global]\n\"q\" = \"help\"\n\"x\" = \"quit\"\n",
        )
        .unwrap();
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(keymap.lookup(KeyContext::Global, &q), Some(Command::Help));
        assert_eq!(
            keymap.keys_for(KeyContext::Global, Command::Quit),
            vec!["ctrl-c", "x"]
        );
        assert_eq!(
            keymap.keys_for(KeyContext::Dialog, Command::Submit),
            vec!["enter", "y"]
        );
    }

    #[test]
    fn problems_name_the_file_line_and_key() {
        let text = "extends = \"default\"\n[global]\n\"q\" = \"quiet\"\n\"G\" = \"bottom\"\n\"shift-g\" = \"top\"\n\"pgdn\" = \"page_down\"\n[input]\n\"j\" = \"move_down\"\n[dialgo]\n";
        let error = Keymap::parse("bad", "bad.toml", text).unwrap_err();
        let found: Vec<(usize, &str)> = error
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.key.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, "global.\"q\""),
                (5, "global.\"shift-g\""),
                (6, "global.\"pgdn\""),
                (8, "input.\"j\""),
                (9, "dialgo"),
            ],
            "{error}"
        );
        let messages = error.diagnostics();
        assert!(
            messages[0].message.contains("Did you mean `quit`?"),
            "{}",
            messages[0].message
        );
        assert!(
            messages[1].message.contains("line 4"),
            "{}",
            messages[1].message
        );
        assert!(
            messages[4].message.contains("`dialog`"),
            "{}",
            messages[4].message
        );
    }

    #[test]
    fn a_keymap_without_quit_is_refused() {
        let error = Keymap::parse("tiny", "tiny.toml", "[global]\n\"x\" = \"help\"\n").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`quit`"), "{message}");
        assert!(
            message.contains("extends = \\\"default\\\"")
                || message.contains("extends = \"default\""),
            "{message}"
        );
    }
}
