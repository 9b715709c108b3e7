//! Finding a theme or keymap file by name or path: the user's own in the config dir first, then
//! the ones compiled into the binary.

use std::path::{Path, PathBuf};

use super::diagnostics::{Diagnostic, render};

/// A theme or keymap could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("no {what} named `{name}`. Available: {}. A file path works too (e.g. ./my-{what}.toml).", available.join(", "))]
    NotFound {
        what: &'static str,
        name: String,
        available: Vec<String>,
    },
    #[error("cannot read {what} file {}: {source}. Check the path and its permissions.", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl AssetError {
    /// The problems inside the file, each with file, line and key; empty when the file itself
    /// could not be found or read.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            AssetError::Invalid(found) => found,
            AssetError::NotFound { .. } | AssetError::Read { .. } => &[],
        }
    }
}

/// The text of one theme or keymap and how to name it in messages.
pub(crate) struct Located {
    /// The name given, or the file stem of a path.
    pub name: String,
    /// `themes/default.toml (built in)` or the file's path.
    pub file: String,
    pub text: std::borrow::Cow<'static, str>,
    pub builtin: bool,
}

/// Built-in files: (name, text).
pub(crate) type Builtins = &'static [(&'static str, &'static str)];

/// `what` is `theme` or `keymap`; files live in `<config dir>/<what>s/NAME.toml` and in the
/// repository's `<what>s/` directory.
pub(crate) fn locate(
    what: &'static str,
    name_or_path: &str,
    builtins: Builtins,
    skip_user_dir: bool,
) -> Result<Located, AssetError> {
    if is_path(name_or_path) {
        let path = super::expand_tilde(name_or_path);
        return read(what, &path);
    }
    if !skip_user_dir && let Some(path) = user_file(what, name_or_path).filter(|p| p.is_file()) {
        return read(what, &path);
    }
    builtins
        .iter()
        .find(|(builtin, _)| *builtin == name_or_path)
        .map(|(name, text)| Located {
            name: (*name).to_owned(),
            file: format!("{what}s/{name}.toml (built in)"),
            text: std::borrow::Cow::Borrowed(text),
            builtin: true,
        })
        .ok_or_else(|| AssetError::NotFound {
            what,
            name: name_or_path.to_owned(),
            available: available(what, builtins),
        })
}

fn is_path(name_or_path: &str) -> bool {
    name_or_path.contains('/') || name_or_path.ends_with(".toml")
}

fn user_file(what: &str, name: &str) -> Option<PathBuf> {
    super::user_config_dir().map(|dir| dir.join(format!("{what}s")).join(format!("{name}.toml")))
}

fn read(what: &'static str, path: &Path) -> Result<Located, AssetError> {
    let text = std::fs::read_to_string(path).map_err(|source| AssetError::Read {
        what,
        path: path.to_owned(),
        source,
    })?;
    Ok(Located {
        name: path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
        file: path.display().to_string(),
        text: std::borrow::Cow::Owned(text),
        builtin: false,
    })
}

/// Built-in names plus the user's own, sorted, for "available: …".
fn available(what: &str, builtins: Builtins) -> Vec<String> {
    let mut names: Vec<String> = builtins.iter().map(|(n, _)| (*n).to_owned()).collect();
    if let Some(dir) = super::user_config_dir().map(|d| d.join(format!("{what}s")))
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        names.extend(entries.filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        }));
    }
    names.sort();
    names.dedup();
    names
}
