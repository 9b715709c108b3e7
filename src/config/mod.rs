//! Configuration: the TOML file, themes and keymaps.
//!
//! [`load`] reads and validates a configuration file (or the embedded default). Every problem
//! found is reported at once, each naming the file, line, column and key path, what is wrong
//! and what to do; unknown keys come with a "did you mean". Secrets (`env:NAME`, `file:PATH`)
//! are kept as references ([`Secret`]) and resolved only when used; nothing here prints a
//! secret value.
//!
//! Each table has its file, holding its types and the reader that validates it: `console`,
//! `store`, `source/<kind>` (one per source kind), `action` (all action kinds); `values`
//! reads what several tables share (URLs, secrets, names), `parse` the document as a whole,
//! `summary` prints it back for `ondeck check`.

mod action;
mod assets;
mod console;
pub mod diagnostics;
pub mod duration;
#[cfg(test)]
mod fuzz;
pub mod keymap;
mod operator;
mod parse;
pub mod schema;
pub mod secret;
mod source;
mod store;
mod summary;
pub mod theme;
pub mod transport;
mod values;
mod wall;

use std::path::{Path, PathBuf};

pub use action::{
    ActionConfig, ActionKind, ActionSpec, CommandAction, ConfirmPolicy, DEFAULT_APPROVAL_EXPIRES,
    FileBackupAction, FileRestoreAction, HealthCheck, JobDecisionAction, PgBackupAction,
    PgRestoreAction, RemoteCopy, Retention, RollbackAction, SilenceAction, TerminateSessionAction,
    UnsealAction,
};
pub use assets::AssetError;
pub use console::ConsoleConfig;
pub use diagnostics::Diagnostic;
pub use operator::OperatorConfig;
pub use secret::{Secret, SecretError, SecretKind, mask_url};
pub use source::{
    AlertmanagerSource, HttpSource, KasmSource, LocalSource, MIN_EVERY, OpenBaoNode, OpenBaoSource,
    PgQuery, PostgresSource, PrometheusSource, ProxmoxSource, QueryTarget, ReleaseFrom,
    ReleaseSource, SourceConfig, SourceSpec,
};
pub use store::StoreConfig;
pub use summary::summary;
pub use transport::{PgTransport, TlsTrust};
pub use wall::WallConfig;

/// The whole configuration, after validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the embedded default.
    pub path: Option<PathBuf>,
    pub console: ConsoleConfig,
    pub store: StoreConfig,
    pub wall: WallConfig,
    pub sources: Vec<SourceConfig>,
    pub actions: Vec<ActionConfig>,
    /// `[[operator]]`: the TOTP secrets, by OS account.
    pub operators: Vec<OperatorConfig>,
}

impl Config {
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn action(&self, name: &str) -> Option<&ActionConfig> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The TOTP secret of the operator logged in as the OS account `account`.
    pub fn totp_secret(&self, account: &str) -> Option<&Secret> {
        self.operators
            .iter()
            .find(|o| o.name == account)
            .map(|o| &o.totp_secret)
    }

    /// Every secret reference with where it is configured (`source \`pg\` url`).
    pub fn secrets(&self) -> Vec<(String, &Secret)> {
        let mut found = Vec::new();
        for source in &self.sources {
            let label = |key: &str| format!("source `{}` {key}", source.name);
            match &source.spec {
                SourceSpec::Http(http) => found.extend(
                    http.headers
                        .iter()
                        .map(|(name, value)| (label(&format!("header {name}")), value)),
                ),
                SourceSpec::Postgres(pg) => found.push((label("url"), &pg.url)),
                SourceSpec::Proxmox(pve) => found.push((label("token"), &pve.token)),
                SourceSpec::Kasm(kasm) => {
                    found.push((label("api_key"), &kasm.api_key));
                    found.push((label("api_key_secret"), &kasm.api_key_secret));
                }
                SourceSpec::Local(_)
                | SourceSpec::Prometheus(_)
                | SourceSpec::Alertmanager(_)
                | SourceSpec::OpenBao(_)
                | SourceSpec::Release(_) => {}
            }
        }
        for action in &self.actions {
            let label = format!("action `{}` database", action.name);
            match &action.spec {
                ActionSpec::PgBackup(backup) => found.push((label, &backup.database)),
                ActionSpec::PgRestore(restore) => found.push((label, &restore.database)),
                ActionSpec::TerminateSession(TerminateSessionAction {
                    database: Some(database),
                    ..
                })
                | ActionSpec::Approve(JobDecisionAction {
                    database: Some(database),
                    ..
                })
                | ActionSpec::Deny(JobDecisionAction {
                    database: Some(database),
                    ..
                }) => found.push((label, database)),
                _ => {}
            }
        }
        for operator in &self.operators {
            found.push((
                format!("operator `{}` totp_secret", operator.name),
                &operator.totp_secret,
            ));
        }
        found
    }
}

/// Secrets that cannot be resolved now (an unset variable, an unreadable file), one message
/// each, for `ondeck check` to warn about. The configuration stays valid: a secret is needed
/// only when its source polls or its action runs, and may be provided later.
pub fn unresolvable_secrets(config: &Config) -> Vec<String> {
    config
        .secrets()
        .into_iter()
        .filter_map(|(label, secret)| {
            secret
                .resolve()
                .err()
                .map(|error| format!("{label}: {error}"))
        })
        .collect()
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The OS error is part of the message and deliberately not a `source`: a report printing
    /// the chain would say it twice.
    #[error("cannot read the configuration file {}: {error}. Check the path (--config, $ONDECK_CONFIG) and its permissions.", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}", diagnostics::render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// Every problem with its file, line, column and key; empty when the file was unreadable.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid(found) => found,
        }
    }
}

const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// How the embedded default is named in messages.
const DEFAULT_CONFIG_LABEL: &str = "the embedded default configuration";

/// The embedded default configuration, as printed by `ondeck --print-default-config`.
pub fn default_config_text() -> &'static str {
    DEFAULT_CONFIG
}

/// Reads and validates a configuration file; `None` loads the embedded default.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    match path {
        None => parse::parse(DEFAULT_CONFIG_LABEL, DEFAULT_CONFIG, None),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.to_owned(),
                error,
            })?;
            parse::parse(&path.display().to_string(), &text, Some(path))
        }
    }
    .map_err(ConfigError::Invalid)
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "ondeck")
}

/// `~/.config/ondeck` on Linux (and the platform's equivalent); `None` without a home.
pub fn user_config_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.config_dir().to_owned())
}

/// `~/.local/share/ondeck` on Linux (and the platform's equivalent): the SQLite store and
/// local backups.
pub fn user_data_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().to_owned())
}

/// `<user config dir>/config.toml`, if it exists.
pub fn default_config_path() -> Option<PathBuf> {
    user_config_dir()
        .map(|dir| dir.join("config.toml"))
        .filter(|path| path.is_file())
}

/// `~` or `~/…` at the start of a path becomes the home directory.
pub fn expand_tilde(path: &str) -> PathBuf {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => &rest[1..],
        _ => return PathBuf::from(path),
    };
    match directories::BaseDirs::new() {
        Some(base) if rest.is_empty() => base.home_dir().to_owned(),
        Some(base) => base.home_dir().join(rest),
        None => PathBuf::from(path),
    }
}
