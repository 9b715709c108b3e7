//! Keymaps: which key runs which [`Command`] in which context, loaded from TOML.

use crossterm::event::KeyEvent;

use crate::msg::Command;

/// Where a binding applies. Input context (a filter or palette being typed) sends unbound keys
/// to the text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyContext {
    Global,
    Dialog,
    Input,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: KeyContext,
    /// As written in the file and shown in help: `q`, `ctrl-c`, `shift-tab`, `pagedown`.
    pub key: String,
    pub command: Command,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
}

impl Keymap {
    pub fn lookup(&self, context: KeyContext, key: &KeyEvent) -> Option<Command> {
        let _ = (context, key);
        None
    }

    /// The keys bound to a command in a context, as written in the keymap, for help and hints.
    pub fn keys_for(&self, context: KeyContext, command: Command) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|b| b.context == context && b.command == command)
            .map(|b| b.key.as_str())
            .collect()
    }
}
