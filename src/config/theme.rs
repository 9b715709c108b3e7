//! Themes: semantic style roles loaded from TOML (`themes/*.toml`, built in; or a user file).
//!
//! A theme file names roles in snake_case with a style table each:
//!
//! ```toml
//! extends = "default"          # the default; "none" starts from unstyled text
//! border_focused = { fg = "#268bd2", bold = true }
//! alert_critical = { fg = "white", bg = "red", bold = true }
//! ```
//!
//! A role named in the file replaces the inherited style of that role; roles it does not name
//! keep the inherited one. Colours are `#rrggbb`, a name (`red`, `light_blue`, `dark_gray`,
//! `reset`) or `indexed(0-255)`.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use toml::de::DeTable;

use super::assets::{self, AssetError, Builtins, Located};
use super::diagnostics::{Problems, Table, suggestion};
use crate::terminal::Colours;

pub type ThemeError = AssetError;

/// Every styled element of the UI. Theme files name these in snake_case (`border_focused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Base,
    Border,
    BorderFocused,
    Title,
    TitleFocused,
    Header,
    Selected,
    Dim,
    StatusBar,
    StatusBarMode,
    TabActive,
    TabInactive,
    StatusUp,
    StatusDegraded,
    StatusDown,
    StatusStale,
    StatusUnknown,
    AlertCritical,
    AlertWarning,
    AlertInfo,
    Silenced,
    OutcomeOk,
    OutcomeFailed,
    Dialog,
    DialogBorder,
    DialogDanger,
    Input,
    Error,
    NoData,
}

impl Role {
    /// In declaration order, so `role as usize` indexes it.
    pub const ALL: [Role; 29] = [
        Role::Base,
        Role::Border,
        Role::BorderFocused,
        Role::Title,
        Role::TitleFocused,
        Role::Header,
        Role::Selected,
        Role::Dim,
        Role::StatusBar,
        Role::StatusBarMode,
        Role::TabActive,
        Role::TabInactive,
        Role::StatusUp,
        Role::StatusDegraded,
        Role::StatusDown,
        Role::StatusStale,
        Role::StatusUnknown,
        Role::AlertCritical,
        Role::AlertWarning,
        Role::AlertInfo,
        Role::Silenced,
        Role::OutcomeOk,
        Role::OutcomeFailed,
        Role::Dialog,
        Role::DialogBorder,
        Role::DialogDanger,
        Role::Input,
        Role::Error,
        Role::NoData,
    ];

    /// The snake_case name used in theme files.
    pub fn name(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Border => "border",
            Role::BorderFocused => "border_focused",
            Role::Title => "title",
            Role::TitleFocused => "title_focused",
            Role::Header => "header",
            Role::Selected => "selected",
            Role::Dim => "dim",
            Role::StatusBar => "status_bar",
            Role::StatusBarMode => "status_bar_mode",
            Role::TabActive => "tab_active",
            Role::TabInactive => "tab_inactive",
            Role::StatusUp => "status_up",
            Role::StatusDegraded => "status_degraded",
            Role::StatusDown => "status_down",
            Role::StatusStale => "status_stale",
            Role::StatusUnknown => "status_unknown",
            Role::AlertCritical => "alert_critical",
            Role::AlertWarning => "alert_warning",
            Role::AlertInfo => "alert_info",
            Role::Silenced => "silenced",
            Role::OutcomeOk => "outcome_ok",
            Role::OutcomeFailed => "outcome_failed",
            Role::Dialog => "dialog",
            Role::DialogBorder => "dialog_border",
            Role::DialogDanger => "dialog_danger",
            Role::Input => "input",
            Role::Error => "error",
            Role::NoData => "no_data",
        }
    }
}

/// The shipped themes, compiled in so the binary works without its repository.
const BUILTINS: Builtins = &[
    ("default", include_str!("../../themes/default.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
    (
        "solarized-dark",
        include_str!("../../themes/solarized-dark.toml"),
    ),
];

/// Chosen when `NO_COLOR` is set or the terminal shows no colour.
pub const MONOCHROME: &str = "monochrome";

/// A chain of `extends` longer than this is a cycle.
const MAX_EXTENDS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: [Style; Role::ALL.len()],
}

impl Default for Theme {
    /// The built-in default theme.
    fn default() -> Self {
        // The compiled-in file only (a user's own `default` could be broken): not user input,
        // and parsed by a unit test on every build.
        assets::locate("theme", "default", BUILTINS, true)
            .and_then(|located| Theme::from_located(located, 0))
            .expect("the built-in default theme is valid")
    }
}

impl Theme {
    /// Called per cell group per frame: an array index, nothing more.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }

    /// The names of the built-in themes.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(name, _)| *name)
    }

    /// A name (looked up in `<config dir>/themes/NAME.toml`, then the built-ins) or a path
    /// (anything with a `/` or ending in `.toml`).
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        let located = assets::locate("theme", name_or_path, BUILTINS, false)?;
        Theme::from_located(located, 0)
    }

    /// [`Theme::load`], except that a terminal without colour — `NO_COLOR` set (non-empty, see
    /// no-color.org), `TERM=dumb` — gets the monochrome theme whatever is configured: a theme
    /// that tells states apart by colour alone would show them all alike there.
    pub fn resolve(configured: &str, colours: Colours) -> Result<Theme, ThemeError> {
        Theme::load(Theme::effective_name(configured, colours))
    }

    fn effective_name(configured: &str, colours: Colours) -> &str {
        if colours == Colours::None {
            MONOCHROME
        } else {
            configured
        }
    }

    /// Parses theme text; `file` names it in errors. Inherits from `default` unless the text
    /// says otherwise.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Theme, ThemeError> {
        Theme::from_located(
            Located {
                name: name.to_owned(),
                file: file.to_owned(),
                text: std::borrow::Cow::Owned(text.to_owned()),
                builtin: false,
            },
            0,
        )
    }

    fn from_located(located: Located, depth: usize) -> Result<Theme, ThemeError> {
        let mut problems = Problems::new(located.file.clone(), &located.text);
        let (document, errors) = DeTable::parse_recoverable(&located.text);
        if !errors.is_empty() {
            problems.syntax(errors);
            return Err(invalid(problems));
        }
        let mut root = Table::root(&document);

        // The built-in default is the root of every chain; everything else inherits from it
        // unless it says `extends = "none"`.
        let is_root = located.builtin && located.name == "default";
        let extends = root.string(&mut problems, "extends", "a theme name, a path or \"none\"");
        let base = match extends {
            Some((name, _)) if name == "none" => Ok(None),
            Some((name, span)) => Some(load_base(&located, &name, depth))
                .transpose()
                .map_err(|error| (error, span)),
            None if is_root => Ok(None),
            None => Some(load_base(&located, "default", depth))
                .transpose()
                .map_err(|error| (error, 0..0)),
        };
        let mut styles = match base {
            Ok(Some(theme)) => theme.styles,
            Ok(None) => [Style::default(); Role::ALL.len()],
            Err((error, span)) => {
                problems.report(
                    span,
                    "extends",
                    format!("the theme it extends cannot be loaded: {error}"),
                );
                [Style::default(); Role::ALL.len()]
            }
        };

        for role in Role::ALL {
            if let Some(mut table) = root.table(
                &mut problems,
                role.name(),
                "a style table such as { fg = \"red\", bold = true }",
            ) {
                styles[role as usize] = read_style(&mut table, &mut problems);
                table.finish(&mut problems, "a style");
            }
        }
        root.finish(
            &mut problems,
            "a theme (roles are snake_case, e.g. `border_focused`)",
        );
        problems.finish().map_err(AssetError::Invalid)?;
        Ok(Theme {
            name: located.name,
            styles,
        })
    }
}

fn invalid(problems: Problems<'_>) -> AssetError {
    AssetError::Invalid(problems.finish().err().unwrap_or_default())
}

fn load_base(child: &Located, name: &str, depth: usize) -> Result<Theme, ThemeError> {
    if depth >= MAX_EXTENDS {
        return Err(AssetError::NotFound {
            what: "theme",
            name: format!(
                "{name} (the `extends` chain is longer than {MAX_EXTENDS}: is it a cycle?)"
            ),
            available: Theme::builtin_names().map(str::to_owned).collect(),
        });
    }
    // A user's `themes/default.toml` that extends "default" means the built-in one.
    let skip_user_dir = name == child.name;
    let located = assets::locate("theme", name, BUILTINS, skip_user_dir)?;
    Theme::from_located(located, depth + 1)
}

const COLOUR_HINT: &str = "use \"#rrggbb\", a name such as \"red\", \"light_blue\" or \"dark_gray\", or \"indexed(0-255)\"";

const COLOUR_NAMES: [&str; 17] = [
    "reset",
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "dark_gray",
    "light_red",
    "light_green",
    "light_yellow",
    "light_blue",
    "light_magenta",
    "light_cyan",
    "white",
];

fn read_style(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Style {
    let mut style = Style::default();
    for (key, set) in [("fg", true), ("bg", false)] {
        if let Some((text, span)) = table.string(problems, key, COLOUR_HINT) {
            match parse_colour(&text) {
                Some(colour) if set => style = style.fg(colour),
                Some(colour) => style = style.bg(colour),
                None => problems.report(
                    span,
                    &table.key_path(key),
                    format!(
                        "`{text}` is not a colour: {COLOUR_HINT}.{}",
                        suggestion(&text.to_lowercase(), COLOUR_NAMES)
                    ),
                ),
            }
        }
    }
    for (key, modifier) in [
        ("bold", Modifier::BOLD),
        ("italic", Modifier::ITALIC),
        ("underline", Modifier::UNDERLINED),
        ("dim", Modifier::DIM),
        ("reversed", Modifier::REVERSED),
    ] {
        if table.bool(problems, key) == Some(true) {
            style = style.add_modifier(modifier);
        }
    }
    style
}

fn parse_colour(text: &str) -> Option<Color> {
    let trimmed = text.trim();
    if let Some(index) = trimmed
        .strip_prefix("indexed(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return index.trim().parse().ok().map(Color::Indexed);
    }
    // ratatui's parser also takes bare numbers as indexed colours; keep the file explicit.
    if trimmed.parse::<u8>().is_ok() {
        return None;
    }
    Color::from_str(trimmed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_at_its_own_index() {
        for (index, role) in Role::ALL.iter().enumerate() {
            assert_eq!(*role as usize, index, "{role:?}");
        }
    }

    #[test]
    fn every_builtin_theme_loads_and_names_every_role() {
        for name in Theme::builtin_names() {
            let theme = Theme::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name).unwrap();
            let document = DeTable::parse(text).unwrap();
            for role in Role::ALL {
                assert!(
                    document.get_ref().contains_key(role.name()),
                    "theme {name} does not style `{}`",
                    role.name()
                );
            }
            assert_eq!(theme.name, name);
        }
    }

    #[test]
    fn monochrome_has_no_colours_but_tells_roles_apart() {
        let theme = Theme::load(MONOCHROME).unwrap();
        for role in Role::ALL {
            let style = theme.style(role);
            assert!(
                matches!(style.fg, None | Some(Color::Reset)),
                "{role:?} has fg {:?}",
                style.fg
            );
            assert!(matches!(style.bg, None | Some(Color::Reset)), "{role:?}");
        }
        assert_ne!(theme.style(Role::Selected), theme.style(Role::Base));
        assert_ne!(
            theme.style(Role::AlertCritical),
            theme.style(Role::AlertInfo)
        );
    }

    #[test]
    fn a_user_theme_overrides_only_what_it_names() {
        let theme = Theme::parse(
            "mine",
            "mine.toml",
            "border_focused = { fg = \"#ff0000\", underline = true }\n",
        )
        .unwrap();
        let default = Theme::default();
        assert_eq!(
            theme.style(Role::BorderFocused),
            Style::default()
                .fg(Color::Rgb(255, 0, 0))
                .add_modifier(Modifier::UNDERLINED)
        );
        assert_eq!(
            theme.style(Role::AlertCritical),
            default.style(Role::AlertCritical)
        );
    }

    #[test]
    fn extends_none_starts_from_plain_text() {
        let theme = Theme::parse("bare", "bare.toml", "extends = \"none\"\n").unwrap();
        assert_eq!(theme.style(Role::AlertCritical), Style::default());
    }

    #[test]
    fn colours_in_every_accepted_spelling() {
        assert_eq!(parse_colour("#0a0B0c"), Some(Color::Rgb(10, 11, 12)));
        assert_eq!(parse_colour("indexed(42)"), Some(Color::Indexed(42)));
        assert_eq!(parse_colour("light_blue"), Some(Color::LightBlue));
        assert_eq!(parse_colour("dark_gray"), Some(Color::DarkGray));
        assert_eq!(parse_colour("indexed(256)"), None);
        assert_eq!(parse_colour("42"), None);
        assert_eq!(parse_colour("#12345"), None);
    }

    #[test]
    fn a_bad_colour_and_an_unknown_role_name_file_line_and_key() {
        let text = "# mine\nborder = { fg = \"rde\" }\nalert_critcal = { bold = true }\n";
        let error = Theme::parse("mine", "mine.toml", text).unwrap_err();
        let found = error.diagnostics();
        assert_eq!(found.len(), 2, "{error}");
        assert_eq!((found[0].line, found[0].key.as_str()), (2, "border.fg"));
        assert!(
            found[0].message.contains("Did you mean `red`?"),
            "{}",
            found[0].message
        );
        assert_eq!((found[1].line, found[1].key.as_str()), (3, "alert_critcal"));
        assert!(
            found[1].message.contains("`alert_critical`"),
            "{}",
            found[1].message
        );
        assert!(error.to_string().starts_with("mine.toml:2:"), "{error}");
    }

    #[test]
    fn a_terminal_without_colour_gets_monochrome() {
        assert_eq!(
            Theme::effective_name("solarized-dark", Colours::None),
            MONOCHROME
        );
        assert_eq!(
            Theme::effective_name("solarized-dark", Colours::Ansi16),
            "solarized-dark"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_available_themes() {
        let error = Theme::load("no-such-theme").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("no-such-theme"), "{message}");
        assert!(message.contains("solarized-dark"), "{message}");
    }

    #[test]
    fn an_extends_cycle_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, format!("extends = \"{}\"\n", b.display())).unwrap();
        std::fs::write(&b, format!("extends = \"{}\"\n", a.display())).unwrap();
        let error = Theme::load(a.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("cycle"), "{error}");
    }
}
