//! Configuration: the TOML file, themes and keymaps.
//!
//! [`load`] reads and validates a configuration file (or the embedded default). Every problem
//! found is reported at once, each naming the file, line, column and key path, what is wrong
//! and what to do; unknown keys come with a "did you mean". Secrets (`env:NAME`, `file:PATH`)
//! are kept as references ([`Secret`]) and resolved only when used; nothing here prints a
//! secret value.

mod assets;
pub mod diagnostics;
pub mod duration;
pub mod keymap;
mod parse;
pub mod secret;
pub mod theme;
pub mod transport;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use assets::AssetError;
pub use diagnostics::Diagnostic;
pub use secret::{Secret, SecretError, SecretKind, mask_url};
pub use transport::{PgTransport, TlsTrust};

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

impl Config {
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn action(&self, name: &str) -> Option<&ActionConfig> {
        self.actions.iter().find(|a| a.name == name)
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
                _ => {}
            }
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

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub theme: String,
    pub keymap: String,
    /// `$USER` when not configured.
    pub operator: String,
    pub read_only: bool,
}

#[derive(Clone)]
pub struct StoreConfig {
    /// `sqlite://…` (a `~` is expanded) or `postgres://…`. An `env:`/`file:` reference in the
    /// file is resolved at load time, since the store is opened at start anyway; show it only
    /// through [`mask_url`] (`Debug` does).
    pub url: String,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &mask_url(&self.url))
            .finish()
    }
}

/// The shortest `every`: polling faster only loads the systems being watched.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub every: Duration,
    pub timeout: Duration,
    pub spec: SourceSpec,
}

impl SourceConfig {
    /// The configured `kind`, as written in the file (`vault` reads as `openbao`).
    pub fn kind(&self) -> &'static str {
        match self.spec {
            SourceSpec::Local(_) => "local",
            SourceSpec::Http(_) => "http",
            SourceSpec::Prometheus(_) => "prometheus",
            SourceSpec::Alertmanager(_) => "alertmanager",
            SourceSpec::OpenBao(_) => "openbao",
            SourceSpec::Postgres(_) => "postgres",
            SourceSpec::Proxmox(_) => "proxmox",
            SourceSpec::Kasm(_) => "kasm",
            SourceSpec::Release(_) => "release",
        }
    }

    /// Whether this source can raise alerts: a deploy-state source only reports releases, so
    /// its health says nothing about whether the Alerts pane is complete.
    pub fn raises_alerts(&self) -> bool {
        !matches!(self.spec, SourceSpec::Release(_))
    }
}

#[derive(Debug, Clone)]
pub enum SourceSpec {
    Local(LocalSource),
    Http(HttpSource),
    Prometheus(PrometheusSource),
    Alertmanager(AlertmanagerSource),
    OpenBao(OpenBaoSource),
    Postgres(PostgresSource),
    Proxmox(ProxmoxSource),
    Kasm(KasmSource),
    Release(ReleaseSource),
}

/// Thresholds for the local host, from the capacity table: CPU < 70 %, > 6 GiB RAM free,
/// > 20 % disk free. Keys: `cpu_max_pct`, `mem_free_min_gib`, `disk_free_min_pct`.
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

/// A health URL: status, optional JSON field match, latency, TLS expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    pub url: String,
    /// Default 200.
    pub expect_status: u16,
    /// Fields the JSON body must contain with these values (`{ status = "ok" }`).
    pub expect_json: Option<serde_json::Map<String, serde_json::Value>>,
    /// https only: alert when the certificate expires in fewer days. Default 14.
    pub tls_warn_days: u32,
    /// Alert when the answer takes longer (the runbook's WAN→DMZ check alerts over 150 ms).
    pub latency_warn: Option<Duration>,
    /// Extra request headers; values may be secrets (`Authorization = "env:API_TOKEN"`).
    pub headers: BTreeMap<String, Secret>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusSource {
    pub url: String,
}

/// One or more instances (`url` or `urls`), deduplicated by alert fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerSource {
    pub urls: Vec<String>,
}

/// One or more nodes (`url` or `urls`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBaoSource {
    pub urls: Vec<String>,
    /// Whether a standby node (health 429, 472, 473) is up. Off by default: only the active node
    /// answers 200, and a lone node that stopped being active is a problem; an HA cluster whose
    /// standbys are expected turns it on.
    pub standby_ok: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSource {
    /// The connection URL; a password in it must come from `env:` or `file:`.
    pub url: Secret,
    /// Alert when more connections are open (the runbook alerts above 150).
    pub max_connections_warn: Option<u32>,
    /// Alert when more than this share of the server's `max_connections` is open, in percent:
    /// the same rule for servers of different sizes.
    pub connections_warn_pct: Option<f64>,
    /// Alert when a replica lags further behind.
    pub replication_lag_warn: Option<Duration>,
    /// CA certificates trusted besides the system's for `verify-full` (an internal CA).
    pub ca_file: Option<PathBuf>,
    /// `[[source.query]]`: the team's own tables shown as hosts, jobs or audit rows.
    pub queries: Vec<PgQuery>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgQuery {
    pub name: String,
    pub sql: String,
    pub maps_to: QueryTarget,
    /// Row field → result column, for columns not already named like the field
    /// (`last_seen = "last_heartbeat_at"`). Unmapped result columns go to the row's extra
    /// fields.
    pub columns: BTreeMap<String, String>,
    /// Hosts only: a host whose `last_seen` is older than this is down. Without it, a
    /// `last_seen` older than twice the poll interval marks the host stale.
    pub down_after: Option<Duration>,
    /// Rows past this are not read, and the pane and the Sources view say the query was cut.
    pub max_rows: usize,
}

impl PgQuery {
    /// A named query feeds a pane, not a report: a few thousand rows is what a screen can use.
    pub const DEFAULT_MAX_ROWS: usize = 5_000;
    /// Each row is kept in memory and redrawn: past this, a query wants a `WHERE`.
    pub const MOST_ROWS: usize = 100_000;
}

/// What a named query's rows become; `maps_to` names them in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum QueryTarget {
    Hosts,
    Jobs,
    Audit,
}

impl QueryTarget {
    pub const ALL: &'static [QueryTarget] = <QueryTarget as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The row fields a column may be mapped to.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            QueryTarget::Hosts => &[
                "name",
                "kind",
                "status",
                "version",
                "latency_ms",
                "cpu_pct",
                "mem_pct",
                "disk_pct",
                "last_seen",
            ],
            QueryTarget::Jobs => &[
                "id", "action", "target", "operator", "state", "progress", "started", "finished",
            ],
            QueryTarget::Audit => &[
                "time",
                "operator",
                "action",
                "target",
                "outcome",
                "request_id",
                "detail",
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxmoxSource {
    pub url: String,
    /// `USER@REALM!TOKENID=SECRET`, from `env:` or `file:`.
    pub token: Secret,
    /// `ca_file` / `tls_pin_sha256`: how a lab's self-signed certificate is trusted.
    pub trust: TlsTrust,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KasmSource {
    pub url: String,
    pub api_key: Secret,
    pub api_key_secret: Secret,
    /// Alert above this many active sessions. Default 5 (the runbook's limit).
    pub session_limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSource {
    pub from: ReleaseFrom,
    /// Environments to read from the deploy state (`{"prod": {"current_ref": …}}`); empty when
    /// the document describes one environment (`{"current_ref": …, "previous_ref": …}`).
    pub environments: Vec<String>,
    /// Environment variables an `argv` command gets besides [`crate::process::BASE_ENV`]
    /// (`pass_env = ["DEPLOY_TOKEN"]`); it inherits nothing else.
    pub pass_env: Vec<String>,
}

/// Where a deploy state comes from: exactly one of `url`, `file`, `argv`.
#[derive(Debug, Clone, PartialEq)]
pub enum ReleaseFrom {
    Url(String),
    File(PathBuf),
    /// A command's stdout; run directly, never through a shell. A relative program
    /// (`./scripts/state.sh`) is made absolute against the configuration file's directory.
    Argv(Vec<String>),
}

/// How an operator confirms an action; the configuration names them in kebab-case
/// (`type-target`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "kebab-case")]
pub enum ConfirmPolicy {
    Enter,
    TypeTarget,
    Totp,
    TwoPerson,
}

impl ConfirmPolicy {
    pub const ALL: &'static [ConfirmPolicy] = <ConfirmPolicy as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<ConfirmPolicy> {
        name.parse().ok()
    }
}

#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub name: String,
    /// As written in the file: `pg_backup`, `unseal`, …
    pub kind: String,
    /// Shown in the command palette and the confirmation dialog.
    pub description: Option<String>,
    /// Default `enter`, except `type-target` for a real (non-drill) restore and for rollback:
    /// those overwrite live data, so the operator types the target's name.
    pub confirm: ConfirmPolicy,
    pub spec: ActionSpec,
}

impl ActionConfig {
    /// The source the action works on, for the kinds that name one.
    pub fn source(&self) -> Option<&str> {
        match &self.spec {
            ActionSpec::Unseal(a) => Some(&a.source),
            ActionSpec::Rollback(a) => Some(&a.source),
            ActionSpec::Silence(a) => Some(&a.source),
            ActionSpec::TerminateSession(a) => Some(&a.source),
            ActionSpec::Approve(a) | ActionSpec::Deny(a) => Some(&a.source),
            ActionSpec::PgBackup(_)
            | ActionSpec::PgRestore(_)
            | ActionSpec::FileBackup(_)
            | ActionSpec::FileRestore(_)
            | ActionSpec::Command(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpec {
    PgBackup(PgBackupAction),
    PgRestore(PgRestoreAction),
    FileBackup(FileBackupAction),
    FileRestore(FileRestoreAction),
    Unseal(UnsealAction),
    Rollback(RollbackAction),
    Command(CommandAction),
    Silence(SilenceAction),
    TerminateSession(TerminateSessionAction),
    Approve(JobDecisionAction),
    Deny(JobDecisionAction),
}

/// How many backups to keep; both limits apply when both are set, none means keep all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retention {
    pub keep: Option<u32>,
    pub max_age: Option<Duration>,
}

/// After a rollback or restore: `url` must answer `expect_status` within `within`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub url: String,
    pub within: Duration,
    /// Default 200.
    pub expect_status: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgBackupAction {
    pub database: Secret,
    pub dir: PathBuf,
    pub retention: Retention,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgRestoreAction {
    pub database: Secret,
    /// Where `pg_backup` wrote dumps and manifests.
    pub dir: PathBuf,
    /// Restore into a scratch database, check it, drop it; the target is untouched.
    pub drill: bool,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileBackupAction {
    /// Fixed paths to back up; empty means the target is given when run (`--target`).
    pub paths: Vec<PathBuf>,
    /// Default `<user data dir>/backups`.
    pub dir: PathBuf,
    pub retention: Retention,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileRestoreAction {
    /// Where `file_backup` wrote archives and manifests. Default `<user data dir>/backups`.
    pub dir: PathBuf,
    /// Restore into this directory; `None` restores to the path recorded in the manifest.
    pub target: Option<PathBuf>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnsealAction {
    /// An `openbao` source; `--target` picks one of its nodes.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackAction {
    /// A `release` source: the current and previous release.
    pub source: String,
    pub argv: Vec<String>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandAction {
    /// Run directly, never through a shell.
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SilenceAction {
    /// An `alertmanager` source.
    pub source: String,
    /// Default 2h.
    pub duration: Duration,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TerminateSessionAction {
    /// A `postgres` (backend) or `kasm` (session) source.
    pub source: String,
}

/// `approve` / `deny` of a REQUESTED job in a SQL-backed job table.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDecisionAction {
    /// A `postgres` source.
    pub source: String,
    /// The statement that records the decision; `$1` is the job id, `$2` the operator.
    pub sql: String,
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

/// What `ondeck check` prints: the console settings, the store (password masked), the
/// sources by kind and the actions. Secrets appear as their references (`env:PG_URL`).
pub fn summary(config: &Config) -> String {
    use std::fmt::Write as _;

    let mut out = String::new();
    let origin = config.path.as_ref().map_or_else(
        || DEFAULT_CONFIG_LABEL.to_owned(),
        |p| p.display().to_string(),
    );
    let console = &config.console;
    // Writing into a String cannot fail; the results are discarded deliberately.
    let _ = writeln!(out, "configuration: {origin}");
    let _ = writeln!(
        out,
        "console: theme {}, keymap {}, operator {}, {}",
        console.theme,
        console.keymap,
        console.operator,
        if console.read_only {
            "read-only"
        } else {
            "read-write"
        }
    );
    let store = &config.store.url;
    if store.starts_with("sqlite://") {
        let _ = writeln!(out, "store: {}", mask_url(store));
    } else {
        let _ = writeln!(
            out,
            "store: {}; {}{}",
            mask_url(store),
            PgTransport::of(store, None),
            superuser_warning(store)
        );
    }

    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for source in &config.sources {
        *by_kind.entry(source.kind()).or_default() += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        out,
        "sources: {}{}",
        config.sources.len(),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    let name_width = config
        .sources
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for source in &config.sources {
        let _ = writeln!(
            out,
            "  {:name_width$}  {:12}  every {}, timeout {}  {}",
            source.name,
            source.kind(),
            duration::format(source.every),
            duration::format(source.timeout),
            describe_source(&source.spec)
        );
    }
    let _ = writeln!(out, "actions: {}", config.actions.len());
    let name_width = config
        .actions
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for action in &config.actions {
        let _ = writeln!(
            out,
            "  {:name_width$}  {:17}  confirm {:11}  {}",
            action.name,
            action.kind,
            action.confirm.name(),
            describe_action(&action.spec)
        );
    }
    out
}

fn describe_source(spec: &SourceSpec) -> String {
    let described = describe_endpoint(spec);
    let plain: Vec<String> = spec
        .plain_http_credentials()
        .into_iter()
        .map(mask_url)
        .collect();
    if plain.is_empty() {
        described
    } else {
        // Only a configuration that says `dangerous_plain_http_credentials = true` loads with
        // such a URL.
        format!(
            "{described}; DANGER: credentials sent unencrypted to {} ({})",
            plain.join(", "),
            transport::DANGEROUS_PLAIN_HTTP_KEY
        )
    }
}

fn describe_endpoint(spec: &SourceSpec) -> String {
    let masked = |urls: &[String]| {
        urls.iter()
            .map(|u| mask_url(u))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match spec {
        SourceSpec::Local(local) => format!(
            "CPU < {}%, > {:.1} GiB free memory, > {}% free disk",
            local.cpu_max_pct,
            local.mem_free_min_bytes as f64 / (1024.0 * 1024.0 * 1024.0),
            local.disk_free_min_pct
        ),
        SourceSpec::Http(http) => format!("{} expects {}", mask_url(&http.url), http.expect_status),
        SourceSpec::Prometheus(p) => mask_url(&p.url),
        SourceSpec::Alertmanager(a) => masked(&a.urls),
        SourceSpec::OpenBao(o) => masked(&o.urls),
        SourceSpec::Postgres(pg) => {
            let queries: Vec<String> = pg
                .queries
                .iter()
                .map(|q| format!("{} → {}", q.name, q.maps_to.name()))
                .collect();
            // The URL is resolved to say what its connection will do; it is shown only as
            // its reference.
            let connection = match pg.url.resolve() {
                Ok(url) => format!(
                    "{}{}",
                    PgTransport::of(&url, pg.ca_file.as_deref()),
                    superuser_warning(&url)
                ),
                Err(_) => format!("TLS decided when {} can be read", pg.url),
            };
            if queries.is_empty() {
                format!("{}; {connection}", pg.url)
            } else {
                format!("{}; {connection}; queries: {}", pg.url, queries.join(", "))
            }
        }
        SourceSpec::Proxmox(p) => match p.trust.describe() {
            Some(trust) => format!("{} token {}; {trust}", mask_url(&p.url), p.token),
            None => format!("{} token {}", mask_url(&p.url), p.token),
        },
        SourceSpec::Kasm(k) => format!("{} session limit {}", mask_url(&k.url), k.session_limit),
        SourceSpec::Release(r) => match &r.from {
            ReleaseFrom::Url(url) => mask_url(url),
            ReleaseFrom::File(path) => path.display().to_string(),
            ReleaseFrom::Argv(argv) => program_only(argv),
        },
    }
}

/// A command as `check` shows it: the program only, since arguments may carry a token
/// (`--token=…`).
fn program_only(argv: &[String]) -> String {
    match argv.split_first() {
        Some((program, [])) => format!("runs {program}"),
        Some((program, args)) => format!(
            "runs {program} ({} argument{} not shown)",
            args.len(),
            if args.len() == 1 { "" } else { "s" }
        ),
        None => "runs nothing".to_owned(),
    }
}

/// The name PostgreSQL installs its superuser under; `check` can only go by the name (the
/// poll asks the server and raises `PostgresSuperuser`).
const DEFAULT_SUPERUSER: &str = "postgres";

fn superuser_warning(url: &str) -> String {
    let user = url::Url::parse(url)
        .map(|u| u.username().to_owned())
        .unwrap_or_default();
    if user == DEFAULT_SUPERUSER {
        format!(
            "; WARNING: connects as `{DEFAULT_SUPERUSER}`, a superuser: connect as a read-only monitoring role"
        )
    } else {
        String::new()
    }
}

fn describe_action(spec: &ActionSpec) -> String {
    match spec {
        ActionSpec::PgBackup(a) => format!("{} → {}", a.database, a.dir.display()),
        ActionSpec::PgRestore(a) => format!(
            "{} ← {}{}",
            a.database,
            a.dir.display(),
            if a.drill {
                " (drill: scratch database)"
            } else {
                ""
            }
        ),
        ActionSpec::FileBackup(a) if a.paths.is_empty() => {
            format!("--target → {}", a.dir.display())
        }
        ActionSpec::FileBackup(a) => format!(
            "{} → {}",
            a.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            a.dir.display()
        ),
        ActionSpec::FileRestore(a) => format!(
            "{} → {}",
            a.dir.display(),
            a.target.as_ref().map_or_else(
                || "the backed-up path".to_owned(),
                |t| t.display().to_string()
            )
        ),
        ActionSpec::Unseal(a) => format!("source {}", a.source),
        ActionSpec::Rollback(a) => format!("source {}: {}", a.source, program_only(&a.argv)),
        ActionSpec::Command(a) => program_only(&a.argv),
        ActionSpec::Silence(a) => {
            format!("source {} for {}", a.source, duration::format(a.duration))
        }
        ActionSpec::TerminateSession(a) => format!("source {}", a.source),
        ActionSpec::Approve(a) | ActionSpec::Deny(a) => format!("source {}", a.source),
    }
}
