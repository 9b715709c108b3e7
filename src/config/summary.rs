//! What `ondeck check` prints about a loaded configuration.

use std::collections::BTreeMap;

use super::{
    ActionSpec, Config, DEFAULT_CONFIG_LABEL, PgTransport, ReleaseFrom, SourceSpec, duration,
    mask_url, transport,
};

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
