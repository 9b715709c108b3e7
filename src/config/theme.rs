//! Themes: semantic style roles loaded from TOML (`themes/*.toml`, built in; or a user file).

use ratatui::style::Style;

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

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        let _ = role;
        Style::default()
    }
}
