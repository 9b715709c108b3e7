//! Configuration: the TOML file, themes and keymaps.

pub mod keymap;
pub mod theme;
