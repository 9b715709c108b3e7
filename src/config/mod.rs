//! Configuration: the TOML file, themes and keymaps.
//!
//! The loading and validation described in SPEC.md (file/line/key in every error, "did you
//! mean", `env:`/`file:` secrets) lives here; the types below are what the rest of ondeck uses.

pub mod keymap;
pub mod theme;

use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration, after validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the embedded default.
    pub path: Option<PathBuf>,
    pub console: ConsoleConfig,
    pub store: StoreConfig,
    pub sources: Vec<SourceConfig>,
    pub actions: Vec<ActionConfig>,
}

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub theme: String,
    pub keymap: String,
    /// `$USER` when not configured.
    pub operator: String,
    pub read_only: bool,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://…` (a `~` is expanded) or `postgres://…`.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub every: Duration,
    pub timeout: Duration,
    pub spec: SourceSpec,
}

impl SourceConfig {
    /// The configured `kind`, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self.spec {
            SourceSpec::Local(_) => "local",
        }
    }
}

#[derive(Debug, Clone)]
pub enum SourceSpec {
    Local(LocalSource),
}

/// Thresholds for the local host, from the capacity table: CPU < 70 %, > 6 GB RAM free,
/// > 20 % disk free.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSource {
    pub cpu_max_pct: f64,
    pub mem_free_min_bytes: u64,
    pub disk_free_min_pct: f64,
}

impl Default for LocalSource {
    fn default() -> Self {
        LocalSource {
            cpu_max_pct: 70.0,
            mem_free_min_bytes: 6 * 1024 * 1024 * 1024,
            disk_free_min_pct: 20.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub name: String,
    pub kind: String,
}
