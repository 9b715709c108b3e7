//! `[console]`: theme, keymap, operator, read-only.

use super::diagnostics::{Problems, Table};
use super::keymap::Keymap;
use super::theme::Theme;

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub theme: String,
    pub keymap: String,
    /// `$USER` when not configured.
    pub operator: String,
    pub read_only: bool,
}

fn default_operator() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

pub(super) fn default_console() -> ConsoleConfig {
    ConsoleConfig {
        theme: "default".to_owned(),
        keymap: "default".to_owned(),
        operator: default_operator(),
        read_only: false,
    }
}

pub(super) fn read_console(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> ConsoleConfig {
    let defaults = default_console();
    let theme = table.string(
        problems,
        "theme",
        "a theme name or path such as \"default\"",
    );
    if let Some((name, span)) = &theme
        && let Err(error) = Theme::load(name)
    {
        problems.report(span.clone(), &table.key_path("theme"), error.to_string());
    }
    let keymap = table.string(
        problems,
        "keymap",
        "a keymap name or path such as \"default\"",
    );
    if let Some((name, span)) = &keymap
        && let Err(error) = Keymap::load(name)
    {
        problems.report(span.clone(), &table.key_path("keymap"), error.to_string());
    }
    let operator = table.string(problems, "operator", "the operator's name, e.g. \"alice\"");
    if let Some((name, span)) = &operator
        && name.trim().is_empty()
    {
        problems.report(
            span.clone(),
            &table.key_path("operator"),
            "is empty: give a display label (recorded beside the OS account, never instead of it), or leave it out to use $USER.",
        );
    }
    ConsoleConfig {
        theme: theme.map_or(defaults.theme, |(t, _)| t),
        keymap: keymap.map_or(defaults.keymap, |(k, _)| k),
        operator: operator.map_or(defaults.operator, |(o, _)| o),
        read_only: table.bool(problems, "read_only").unwrap_or(false),
    }
}
