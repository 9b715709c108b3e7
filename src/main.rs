//! The `ondeck` command line: the console, and the non-interactive commands for scripts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr};

use ondeck::app::{self, Console};
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::config::{self, Config};
use ondeck::state::Mode;
use ondeck::store::{ActionState, ChainHead, Store};
use ondeck::terminal::Colours;
use ondeck::{audit_cmd, backups_cmd, run_cmd, snapshot, sources};

// jemalloc, set up for a long life: see `ondeck::allocator`.
ondeck::global_allocator!();

/// A terminal operations console: live hosts, sessions, jobs, alerts and audit log, with
/// confirmed, audited operator actions.
#[derive(Debug, Parser)]
#[command(name = "ondeck", version, after_help = EXIT_CODES)]
struct Cli {
    /// Configuration file (default: $ONDECK_CONFIG, then <config dir>/ondeck/config.toml, then
    /// the embedded default).
    #[arg(long, global = true, env = "ONDECK_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// No action can be started; `ondeck run` only shows its plan.
    #[arg(long, global = true)]
    read_only: bool,
    /// NOC wall mode: read-only, large tiles, high-contrast theme.
    #[arg(long)]
    wall: bool,
    /// Theme name (from themes/ or the user config dir) or path; overrides the configuration.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    theme: Option<String>,
    /// Keymap name (default, vim, emacs, or the user config dir) or path; overrides the
    /// configuration.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    keymap: Option<String>,
    /// Print the embedded default configuration, a starting point for your own.
    #[arg(long)]
    print_default_config: bool,
    /// Print the JSON Schema of the configuration file, for editors and TOML language servers.
    #[arg(long)]
    print_config_schema: bool,
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    #[arg(long, value_name = "SHELL")]
    print_completions: Option<clap_complete::Shell>,
    /// Print the manual page (roff), e.g. `ondeck --print-man > ondeck.1`.
    #[arg(long)]
    print_man: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a configured action without the console: print its plan, confirm it as its policy
    /// says, run it, record it. Exit 0 = it succeeded, 1 = it failed or was refused.
    Run {
        /// The `[[action]]`'s name.
        action: String,
        /// What it acts on: a row of the action's source (a release's environment), or, for an
        /// action without a source, the name recorded in the audit log.
        #[arg(long, value_name = "T")]
        target: String,
        /// Confirm without asking: an `enter` policy, and a `type-target` one since the target
        /// is named here.
        #[arg(long)]
        yes: bool,
        /// Print the plan and record a dry run; do nothing.
        #[arg(long)]
        dry_run: bool,
        /// For a `two-person` action: record the request, wait for another operator to
        /// approve it (or deny it, or for it to expire), and run it once approved.
        #[arg(long)]
        wait: bool,
    },
    /// List a backup or restore action's backups from their manifests, with whether each
    /// verifies. Exit 1 when any is bad or there is none.
    Backups {
        /// The `[[action]]`'s name.
        action: String,
        /// Re-hash every dump or archive and compare its sha256 with its manifest (default: sizes
        /// only).
        #[arg(long)]
        verify: bool,
    },
    /// Validate the configuration, theme and keymap; errors name file, line and key.
    Check,
    /// Poll every source once and print hosts, sessions, jobs, alerts and the audit tail.
    /// Exit code 0 = nothing firing, 1 = warnings or the store unreadable, 2 = critical.
    Snapshot {
        /// One JSON object (schema in docs/snapshot-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Print the audit log.
    Audit {
        /// Only records newer than this, e.g. 30m, 12h, 7d.
        #[arg(long, value_name = "DUR")]
        since: Option<humantime::Duration>,
        /// A JSON array of records.
        #[arg(long)]
        json: bool,
        /// Check the hash chain and name the first broken record.
        #[arg(long)]
        verify: bool,
        /// Alone: print the chain's head, SEQ:HASH, to keep elsewhere. With --verify and a
        /// head kept earlier: also fail if the chain no longer holds it (a tail cut off or
        /// rewritten since).
        #[arg(long, value_name = "SEQ:HASH", num_args = 0..=1)]
        head: Option<Option<ChainHead>>,
    },
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `snapshot`, nothing firing; for `audit --verify`, the chain is intact
  1  an error (bad configuration, unusable terminal, unreachable store for `audit`); for
     `backups`, a backup that does not verify, or none at all; for
     `snapshot`, a warning firing, a host degraded, stale or unknown, a source failing or
     not heard from, or the store unreadable; for `audit --verify`, a broken chain
  2  bad command line; for `snapshot`, a critical alert firing or a host down";

fn main() -> ExitCode {
    // First, before any secret is read: the configuration resolves database URLs and tokens.
    forbid_core_dumps();
    if let Err(error) = color_eyre::install() {
        report(&format!("ondeck: {error}"));
    }
    let cli = Cli::parse();
    init_logging();
    // Each poll in flight holds a socket, and each endpoint polled keeps an idle keep-alive
    // connection between polls: a thousand health checks do not fit in the 1,024 open files
    // many systems allow by default, though the hard limit is usually far higher.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files allowed"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&format!(
                "ondeck: could not start the async runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            // The chain on one line: the `Debug` report is coloured for a terminal, and its
            // escape codes would land in the log file.
            tracing::error!("{error:#}");
            report(&format!("ondeck: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Writes what a `--print-…` flag asked for. A reader that stopped early (`| head`) is no
/// error: `print!` would panic on the broken pipe.
fn print_out(bytes: &[u8]) -> Result<ExitCode> {
    print_text(bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to standard output; a reader that stopped early (`| head`) is no error, and never a
/// panic as `print!` makes it.
fn print_text(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).wrap_err("could not write to standard output")
        }
        _ => Ok(()),
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    if cli.print_default_config {
        return print_out(config::default_config_text().as_bytes());
    }
    if cli.print_config_schema {
        return print_out(format!("{:#}\n", config::schema::json_schema()).as_bytes());
    }
    if let Some(shell) = cli.print_completions {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "ondeck", &mut script);
        return print_out(&script);
    }
    if cli.print_man {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut page)
            .wrap_err("could not render the manual page")?;
        return print_out(&page);
    }
    let config = load_config(&cli)?;
    match cli.command {
        Some(Command::Check) => {
            // The configured theme, whatever this terminal shows: it is what the file says.
            Theme::load(theme_name(&cli, &config))?;
            keymap_for(&cli, &config)?;
            print_text(format!("{}\n", config::summary(&config)).as_bytes())?;
            // Secrets are read when used, so a missing one is a warning here, not an error:
            // the file is valid, the machine it runs on may just not have the variable yet.
            for problem in config::unresolvable_secrets(&config) {
                eprintln!("warning: {problem}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Snapshot { json }) => snapshot_command(&config, json).await,
        Some(Command::Run {
            ref action,
            ref target,
            yes,
            dry_run,
            wait,
        }) => {
            let request = run_cmd::RunRequest {
                action: action.clone(),
                target: target.clone(),
                yes,
                dry_run,
                wait,
                read_only: read_only_reason(&cli, &config),
            };
            Ok(match run_cmd::run(&config, &request).await {
                Ok(ActionState::Succeeded | ActionState::DryRun) => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(refused) => {
                    report(&format!("ondeck: {refused}"));
                    ExitCode::FAILURE
                }
            })
        }
        Some(Command::Backups { ref action, verify }) => {
            Ok(match backups_cmd::backups(&config, action, verify).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(error) => {
                    report(&format!("ondeck: {error}"));
                    ExitCode::FAILURE
                }
            })
        }
        Some(Command::Audit {
            since,
            json,
            verify,
            head,
        }) => audit_command(&config, since, json, verify, head).await,
        None => {
            let theme = Theme::resolve(theme_name(&cli, &config), Colours::of_stdout())?;
            let keymap = keymap_for(&cli, &config)?;
            app::ensure_interactive_terminal()?;
            let mode = Mode {
                read_only: read_only_reason(&cli, &config).is_some(),
                wall: cli.wall,
            };
            app::run(Console {
                config,
                theme,
                keymap,
                mode,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Why no action may be started, if none may.
fn read_only_reason(cli: &Cli, config: &Config) -> Option<&'static str> {
    if cli.wall {
        Some("--wall")
    } else if cli.read_only {
        Some("--read-only")
    } else if config.console.read_only {
        Some("[console] read_only = true")
    } else {
        None
    }
}

fn load_config(cli: &Cli) -> Result<Config> {
    let path = cli.config.clone().or_else(config::default_config_path);
    Ok(config::load(path.as_deref())?)
}

fn theme_name<'a>(cli: &'a Cli, config: &'a Config) -> &'a str {
    match (&cli.theme, cli.wall) {
        (Some(name), _) => name.as_str(),
        (None, true) => "high-contrast",
        (None, false) => config.console.theme.as_str(),
    }
}

fn keymap_for(cli: &Cli, config: &Config) -> Result<Keymap> {
    let name = cli.keymap.as_deref().unwrap_or(&config.console.keymap);
    Ok(Keymap::load(name)?)
}

/// The backup actions' rows, as a poll of their own source; none without backup actions.
async fn backup_report(config: &Config, store: Option<&Store>) -> Option<sources::PollReport> {
    use ondeck::actions::backups::status;
    let watched = status::watched(config);
    if watched.is_empty() {
        return None;
    }
    let started = std::time::Instant::now();
    let observation = status::observe(&watched, store).await;
    Some(sources::PollReport {
        source: status::SOURCE.to_owned(),
        kind: status::SOURCE,
        every: std::time::Duration::from_secs(60),
        at: chrono::Utc::now(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        result: Ok(observation),
        unanswered: None,
    })
}

async fn snapshot_command(config: &Config, json: bool) -> Result<ExitCode> {
    // A snapshot is most useful when something is broken, so an unreachable store is reported
    // on stderr and the sources are still shown; it is read while the sources are polled.
    let read_store = async {
        let store = Store::open(&config.store.url).await?;
        // Jobs a crashed ondeck left RUNNING are reported as what they are: interrupted.
        let identity = ondeck::identity::OperatorIdentity::current(&config.console.operator);
        if let Err(error) = store
            .interrupt_orphaned_jobs(&identity, ondeck::actions::engine::HEARTBEAT_STALE)
            .await
        {
            tracing::warn!(%error, "could not look for interrupted jobs");
        }
        let rows = store.read_rows(1_000, 20).await;
        Ok::<_, ondeck::store::StoreError>((store, rows?))
    };
    let (mut reports, opened) = tokio::join!(sources::poll_once_all(&config.sources), read_store);
    let (opened_store, store) = match opened {
        Ok((store, rows)) => (Some(store), Ok(rows)),
        Err(error) => (None, Err(error)),
    };
    reports.extend(backup_report(config, opened_store.as_ref()).await);
    let store_missing = store.is_err();
    let store = store.unwrap_or_else(|error| {
        eprintln!(
            "ondeck: the store is not readable, jobs, audit, operator sessions and the alerts on \
             jobs are left out: {error}"
        );
        Default::default()
    });
    let snapshot = snapshot::build(reports, store, chrono::Utc::now());
    if json {
        print_text(format!("{}\n", snapshot::to_json(&snapshot)).as_bytes())?;
    } else {
        print_text(snapshot::format_text(&snapshot).as_bytes())?;
    }
    // A report without the jobs and the audit is not "all clear": at least a warning.
    let code = snapshot::exit_code(&snapshot).max(i32::from(store_missing));
    Ok(ExitCode::from(code as u8))
}

async fn audit_command(
    config: &Config,
    since: Option<humantime::Duration>,
    json: bool,
    verify: bool,
    head: Option<Option<ChainHead>>,
) -> Result<ExitCode> {
    let print_head = !verify && head.is_some();
    let kept = match (verify, head) {
        (true, Some(None)) => usage_error("--verify --head needs the head kept earlier: SEQ:HASH"),
        (false, Some(Some(_))) => {
            usage_error("a kept head is checked with --verify --head SEQ:HASH")
        }
        (_, head) => head.flatten(),
    };
    let store = Store::open(&config.store.url).await?;
    if print_head {
        print_text(format!("{}\n", store.audit_head().await?).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    if verify {
        let report = store.verify_audit(kept).await?;
        print_text(audit_cmd::format_verify(&report).as_bytes())?;
        return Ok(if report.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let since = since
        .map(|d| chrono::Duration::from_std(d.into()))
        .transpose()
        .wrap_err("--since is too long")?
        .map(|d| chrono::Utc::now() - d);
    let rows = store.audit_since(since).await?;
    if json {
        print_text(format!("{}\n", audit_cmd::format_json(&rows)?).as_bytes())?;
    } else {
        print_text(audit_cmd::format_table(&rows).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Exits 2 with clap's usage message, for combinations of flags clap cannot express.
fn usage_error(message: &str) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

/// Writes a line to stderr, which may be a terminal that hung up: `eprintln!` would panic
/// there, on the way out of a console that is leaving cleanly.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A core dump of the console would hold every secret it resolved (database URLs, API tokens),
/// readable by whoever can read the dump. No core limit and no dumpable flag: either alone
/// stops the kernel from writing one, and the second also keeps other processes of the same
/// user from attaching to this one to read its memory.
fn forbid_core_dumps() {
    if let Err(error) = rlimit::setrlimit(rlimit::Resource::CORE, 0, 0) {
        report(&format!("ondeck: could not disable core dumps: {error}"));
    }
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        report(&format!(
            "ondeck: could not mark the process not dumpable: {error}"
        ));
    }
}

/// How many days of logs are kept: one file per day, the oldest removed.
const LOG_DAYS: usize = 7;

/// Logs go to a file per day under the user state directory, never to the terminal the UI
/// owns. The directory is the owner's alone: the log names operators and their addresses.
fn init_logging() {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

    let Some(dirs) = directories::ProjectDirs::from("", "", "ondeck") else {
        return;
    };
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    let private = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    // The directory is ondeck's own, so one an older ondeck left open is closed too.
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .and_then(|()| private(&dir, 0o700));
    let appender = made.ok().and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("ondeck")
            .filename_suffix("log")
            .max_log_files(LOG_DAYS)
            .build(&dir)
            .ok()
    });
    // A console that cannot log still works; the operator needs the screen more than the log.
    let Some(appender) = appender else { return };
    // The appender creates its files with the default mode; today's is made private here, and
    // the later ones are inside the private directory.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("ondeck") && name.ends_with(".log") {
            let _ = private(&entry.path(), 0o600);
        }
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(appender)
        .try_init();
}
