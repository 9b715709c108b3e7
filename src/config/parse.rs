//! Validation of a configuration document into [`Config`]. Every reader below reads all of its
//! keys before giving up on a missing or bad one, so that one run reports every problem.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::diagnostics::{Diagnostic, DurationLimits, Problems, Table, backticked, suggestion};
use super::keymap::Keymap;
use super::secret::{Secret, SecretKind, mask_url};
use super::theme::Theme;
use super::transport::{DANGEROUS_PLAIN_HTTP_KEY, parse_fingerprint};
use super::*;
use crate::store::{OPERATOR_SESSIONS_SOURCE, STORE_SOURCE};

const SOURCE_KINDS: [&str; 10] = [
    "local",
    "http",
    "prometheus",
    "alertmanager",
    "openbao",
    "vault",
    "postgres",
    "proxmox",
    "kasm",
    "release",
];

const ACTION_KINDS: [&str; 11] = [
    "pg_backup",
    "pg_restore",
    "file_backup",
    "file_restore",
    "unseal",
    "rollback",
    "command",
    "silence",
    "terminate_session",
    "approve",
    "deny",
];

const DEFAULT_EVERY: Duration = Duration::from_secs(10);
const LOCAL_EVERY: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_SILENCE: Duration = Duration::from_secs(2 * 3600);
const URL_EXAMPLE: &str = "\"https://host.example.com/…\"";

/// The names under which the console shows rows of its own (the store's jobs and audit, the
/// open operator consoles). Each store refresh replaces every row of these sources, so a
/// configured source so named would lose its rows every few seconds.
const RESERVED_SOURCE_NAMES: [&str; 2] = [STORE_SOURCE, OPERATOR_SESSIONS_SOURCE];

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const LONGER_THAN_ZERO: &str = "it must be longer than zero";

const fn limits(min: Duration, max: Duration, why_min: &'static str) -> DurationLimits {
    DurationLimits { min, max, why_min }
}

// The accepted range of every duration key.
const EVERY: DurationLimits = limits(
    MIN_EVERY,
    DAY,
    "ondeck polls a source at most once a second",
);
const SOURCE_TIMEOUT: DurationLimits = limits(
    Duration::from_millis(1),
    Duration::from_secs(600),
    LONGER_THAN_ZERO,
);
const LATENCY_WARN: DurationLimits = limits(Duration::from_millis(1), HOUR, LONGER_THAN_ZERO);
const REPLICATION_LAG_WARN: DurationLimits = limits(
    Duration::from_secs(1),
    DAY.saturating_mul(30),
    "lag is measured in seconds",
);
const DOWN_AFTER: DurationLimits = limits(
    Duration::from_secs(1),
    DAY.saturating_mul(365),
    LONGER_THAN_ZERO,
);
const COMMAND_TIMEOUT: DurationLimits = limits(Duration::from_secs(1), DAY, LONGER_THAN_ZERO);
const SILENCE: DurationLimits = limits(
    MINUTE,
    DAY.saturating_mul(365),
    "Alertmanager silences are set to the minute",
);
const RETENTION_MAX_AGE: DurationLimits = limits(
    HOUR,
    DAY.saturating_mul(3650),
    "backups are kept for an hour at least",
);
const HEALTH_WITHIN: DurationLimits = limits(Duration::from_secs(1), HOUR, LONGER_THAN_ZERO);

/// A source named by an action, checked once every source is known.
struct SourceReference {
    key: String,
    name: String,
    span: Range<usize>,
    kinds: &'static [&'static str],
    action_kind: String,
}

pub(super) fn parse(
    file: &str,
    text: &str,
    path: Option<&Path>,
) -> Result<Config, Vec<Diagnostic>> {
    let mut problems = Problems::new(file, text);
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // After a syntax error the document is a best guess; validating it would report
        // phantom problems.
        problems.syntax(errors);
        return Err(problems.finish().err().unwrap_or_default());
    }
    let mut root = Table::root(&document);

    let console = match root.table(&mut problems, "console", "a [console] table") {
        Some(mut table) => {
            let console = read_console(&mut table, &mut problems);
            table.finish(&mut problems, "[console]");
            console
        }
        None => default_console(),
    };
    let store = match root.table(&mut problems, "store", "a [store] table") {
        Some(mut table) => {
            let store = read_store(&mut table, &mut problems);
            table.finish(&mut problems, "[store]");
            store
        }
        None => default_store(&mut problems, root.span()),
    };

    let mut sources = Vec::new();
    let mut source_names: BTreeMap<String, usize> = BTreeMap::new();
    for mut table in root.array_of_tables(&mut problems, "source") {
        if let Some(source) = read_source(&mut table, &mut problems, &mut source_names) {
            sources.push(source);
        }
    }

    let mut actions = Vec::new();
    let mut action_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut references = Vec::new();
    for mut table in root.array_of_tables(&mut problems, "action") {
        if let Some(action) = read_action(
            &mut table,
            &mut problems,
            &mut action_names,
            &mut references,
        ) {
            actions.push(action);
        }
    }
    root.finish(
        &mut problems,
        "the configuration (top level: [console], [store], [[source]], [[action]])",
    );

    for reference in references {
        check_reference(&reference, &sources, &mut problems);
    }
    if let Some(dir) = path.and_then(Path::parent) {
        anchor_programs(&mut sources, &mut actions, dir);
    }

    problems.finish()?;
    Ok(Config {
        path: path.map(Path::to_owned),
        console,
        store,
        sources,
        actions,
    })
}

fn default_operator() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn default_console() -> ConsoleConfig {
    ConsoleConfig {
        theme: "default".to_owned(),
        keymap: "default".to_owned(),
        operator: default_operator(),
        read_only: false,
    }
}

fn read_console(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> ConsoleConfig {
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
            "is empty: give the name recorded in the audit log, or leave it out to use $USER.",
        );
    }
    ConsoleConfig {
        theme: theme.map_or(defaults.theme, |(t, _)| t),
        keymap: keymap.map_or(defaults.keymap, |(k, _)| k),
        operator: operator.map_or(defaults.operator, |(o, _)| o),
        read_only: table.bool(problems, "read_only").unwrap_or(false),
    }
}

fn default_store(problems: &mut Problems<'_>, span: Range<usize>) -> StoreConfig {
    match user_data_dir() {
        Some(dir) => StoreConfig {
            url: format!("sqlite://{}", dir.join("ondeck.db").display()),
        },
        None => {
            problems.report(
                span,
                "store.url",
                "the user data directory is unknown (is $HOME set?): set `url` under [store], e.g. \"sqlite:///var/lib/ondeck/ondeck.db\".",
            );
            StoreConfig { url: String::new() }
        }
    }
}

fn read_store(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> StoreConfig {
    let expected = "\"sqlite://~/.local/share/ondeck/ondeck.db\" or \"postgres://…\"";
    let Some((text, span)) = table.string(problems, "url", expected) else {
        return default_store(problems, table.span());
    };
    let key = table.key_path("url");
    let resolved = Secret::parse(&text, SecretKind::Url).and_then(|secret| {
        let url = secret.resolve().map_err(|error| format!("{error}."))?;
        // A URL read from env:/file: is named by its reference, never shown.
        let shown = match secret {
            Secret::Literal(_) => format!("`{}`", mask_url(&url)),
            reference => format!("the URL in {reference}"),
        };
        Ok((url, shown))
    });
    let (url, shown) = match resolved {
        Ok(found) => found,
        Err(message) => {
            problems.report(span, &key, message);
            return StoreConfig { url: String::new() };
        }
    };
    let ca_file = ca_file(table, problems);
    if let Some(rest) = url.strip_prefix("sqlite://") {
        if ca_file.is_some() {
            problems.report(
                span,
                &table.key_path("ca_file"),
                "`ca_file` applies to a PostgreSQL store only: remove it.",
            );
        }
        let path = expand_tilde(rest);
        return StoreConfig {
            url: format!("sqlite://{}", path.display()),
        };
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        problems.report(
            span,
            &key,
            format!("{shown} is not a store URL: use {expected}."),
        );
        return StoreConfig { url };
    }
    match ca_file {
        // The store is opened from its URL alone, and libpq's own `sslrootcert` says the same.
        Some(ca_file) => match with_root_cert(&url, &ca_file) {
            Ok(url) => StoreConfig { url },
            Err(message) => {
                problems.report(span, &table.key_path("ca_file"), message);
                StoreConfig { url }
            }
        },
        None => StoreConfig { url },
    }
}

/// `url` with `sslrootcert=<ca_file>` added, unless it names one already.
fn with_root_cert(url: &str, ca_file: &Path) -> Result<String, String> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| format!("the store URL is not valid: {e}."))?;
    if parsed
        .query_pairs()
        .any(|(key, _)| matches!(key.as_ref(), "sslrootcert" | "ssl-root-cert" | "ssl-ca"))
    {
        return Err(
            "the store URL names a CA already (`sslrootcert`): keep `ca_file` or that one."
                .to_owned(),
        );
    }
    parsed
        .query_pairs_mut()
        .append_pair("sslrootcert", &ca_file.display().to_string());
    Ok(parsed.into())
}

/// `ca_file`: a readable PEM file with at least one certificate, trusted besides the system's
/// CAs.
fn ca_file(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<PathBuf> {
    let (text, span) = table.string(
        problems,
        "ca_file",
        "a PEM file of CA certificates such as \"/etc/ondeck/lab-ca.pem\"",
    )?;
    let path = expand_tilde(&text);
    let problem = match std::fs::read_to_string(&path) {
        Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => return Some(path),
        Ok(_) => "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        Err(error) => format!("cannot be read: {error}"),
    };
    problems.report(
        span,
        &table.key_path("ca_file"),
        format!(
            "{} {problem}: give the CA certificate that signed the server's certificate.",
            path.display()
        ),
    );
    None
}

/// `name`, unique among the `what`s and none of `reserved`.
fn read_name(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    seen: &mut BTreeMap<String, usize>,
    what: &str,
    reserved: &[&str],
) -> Option<String> {
    let (name, span) = table.required_string(problems, "name", &format!("\"my-{what}\""))?;
    if reserved.contains(&name.as_str()) {
        problems.report(
            span,
            &table.key_path("name"),
            format!(
                "`{name}` is reserved: ondeck shows its own rows (the store's jobs and audit, the operator consoles) under the {what} names {}. Rename this {what}, e.g. `{name}-db`.",
                backticked(reserved)
            ),
        );
        return None;
    }
    let line = problems.line_of(span.start);
    if let Some(first) = seen.get(&name) {
        problems.report(
            span,
            &table.key_path("name"),
            format!(
                "a {what} named `{name}` is already defined on line {first}: {what} names must be unique (they identify it on screen and in the audit log); rename one."
            ),
        );
        return None;
    }
    seen.insert(name.clone(), line);
    Some(name)
}

/// `kind`, checked against `kinds`; `None` when missing or unknown (the other keys of the
/// table are then not checked: which keys are valid depends on the kind).
fn read_kind(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    kinds: &[&str],
    what: &str,
) -> Option<String> {
    let (kind, span) =
        table.required_string(problems, "kind", &format!("one of {}", kinds.join(", ")))?;
    if kinds.contains(&kind.as_str()) {
        return Some(kind);
    }
    problems.report(
        span,
        &table.key_path("kind"),
        format!(
            "unknown {what} kind `{kind}`.{} Kinds: {}.",
            suggestion(&kind, kinds.iter().copied()),
            kinds.join(", ")
        ),
    );
    None
}

fn read_source(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
) -> Option<SourceConfig> {
    let name = read_name(table, problems, names, "source", &RESERVED_SOURCE_NAMES);
    let kind = read_kind(table, problems, &SOURCE_KINDS, "source")?;
    let default_every = if kind == "local" {
        LOCAL_EVERY
    } else {
        DEFAULT_EVERY
    };
    let every = table
        .duration(problems, "every", EVERY)
        .unwrap_or(default_every);
    let timeout = table
        .duration(problems, "timeout", SOURCE_TIMEOUT)
        .unwrap_or(DEFAULT_TIMEOUT);
    let spec = match kind.as_str() {
        "local" => Some(SourceSpec::Local(read_local(table, problems))),
        "http" => read_http(table, problems).map(SourceSpec::Http),
        "prometheus" => http_url(table, problems, "url")
            .map(|url| SourceSpec::Prometheus(PrometheusSource { url })),
        "alertmanager" => url_list(table, problems)
            .map(|urls| SourceSpec::Alertmanager(AlertmanagerSource { urls })),
        "openbao" | "vault" => {
            let standby_ok = table.bool(problems, "standby_ok").unwrap_or(false);
            url_list(table, problems)
                .map(|urls| SourceSpec::OpenBao(OpenBaoSource { urls, standby_ok }))
        }
        "postgres" => read_postgres(table, problems).map(SourceSpec::Postgres),
        "proxmox" => read_proxmox(table, problems).map(SourceSpec::Proxmox),
        "kasm" => read_kasm(table, problems).map(SourceSpec::Kasm),
        _ => read_release(table, problems).map(SourceSpec::Release),
    };
    let dangerous_plain_http = table
        .bool(problems, DANGEROUS_PLAIN_HTTP_KEY)
        .unwrap_or(false);
    if let Some(spec) = &spec
        && !dangerous_plain_http
    {
        refuse_plain_http_credentials(table, problems, spec);
    }
    table.finish(problems, &format!("a `{kind}` source"));
    Some(SourceConfig {
        name: name?,
        every,
        timeout,
        spec: spec?,
    })
}

/// Credentials (headers, an API key, a token, a user in the URL) go over plain `http://` only
/// to this machine: on a network anyone on the path reads them.
fn refuse_plain_http_credentials(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    spec: &SourceSpec,
) {
    let plain = spec.plain_http_credentials();
    if plain.is_empty() {
        return;
    }
    let key = if table.has("urls") { "urls" } else { "url" };
    let span = table.value(key).map_or_else(|| table.span(), |v| v.span());
    let shown: Vec<String> = plain
        .iter()
        .map(|url| format!("`{}`", mask_url(url)))
        .collect();
    problems.report(
        span,
        &table.key_path(key),
        format!(
            "this source sends credentials, and {} is plain http:// to another machine, where anyone on the way can read them: use https://. Only if the network is trusted, set {DANGEROUS_PLAIN_HTTP_KEY} = true.",
            shown.join(", ")
        ),
    );
}

fn read_local(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> LocalSource {
    let defaults = LocalSource::default();
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    LocalSource {
        cpu_max_pct: table
            .number(
                problems,
                "cpu_max_pct",
                0.0..=100.0,
                "a percentage such as 70",
            )
            .unwrap_or(defaults.cpu_max_pct),
        mem_free_min_bytes: table
            .number(
                problems,
                "mem_free_min_gib",
                0.0..=1_048_576.0,
                "GiB of free memory such as 6",
            )
            .map_or(defaults.mem_free_min_bytes, |gib| (gib * GIB) as u64),
        disk_free_min_pct: table
            .number(
                problems,
                "disk_free_min_pct",
                0.0..=100.0,
                "a percentage such as 20",
            )
            .unwrap_or(defaults.disk_free_min_pct),
    }
}

fn http_status(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> u16 {
    table
        .integer(
            problems,
            "expect_status",
            100..=599,
            "an HTTP status code such as 200",
        )
        .map_or(200, |status| status as u16)
}

fn read_http(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<HttpSource> {
    let url = http_url(table, problems, "url");
    let expect_status = http_status(table, problems);
    let expect_json = table
        .value("expect_json")
        .and_then(|value| match value.get_ref() {
            DeValue::Table(fields) => Some(
                fields
                    .iter()
                    .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                    .collect(),
            ),
            _ => {
                table.wrong_type(
                    problems,
                    "expect_json",
                    value,
                    "a table of fields, e.g. { status = \"ok\" }",
                );
                None
            }
        });
    let tls_warn_days = table
        .integer(
            problems,
            "tls_warn_days",
            0..=3650,
            "a number of days such as 14",
        )
        .map_or(14, |days| days as u32);
    let latency_warn = table.duration(problems, "latency_warn", LATENCY_WARN);
    let mut headers = BTreeMap::new();
    if let Some(header_table) = table.table(
        problems,
        "headers",
        "a table such as { Accept = \"application/json\" }",
    ) {
        for (key, value) in header_table.entries() {
            let key_path = header_table.key_path(key.get_ref());
            match value.get_ref() {
                DeValue::String(text) => match Secret::parse(text, SecretKind::Value) {
                    Ok(secret) => {
                        headers.insert(key.get_ref().to_string(), secret);
                    }
                    Err(message) => problems.report(value.span(), &key_path, message),
                },
                other => problems.report(
                    value.span(),
                    &key_path,
                    format!(
                        "expected a string, found {}.",
                        super::diagnostics::found(other)
                    ),
                ),
            }
        }
    }
    Some(HttpSource {
        url: url?,
        expect_status,
        expect_json,
        tls_warn_days,
        latency_warn,
        headers,
    })
}

/// TOML → JSON for `expect_json`, which is matched against a JSON body.
fn to_json(value: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        DeValue::String(s) => Json::String(s.to_string()),
        DeValue::Integer(_) => super::diagnostics::as_i64(value).map_or(Json::Null, Json::from),
        DeValue::Float(_) => super::diagnostics::as_f64(value)
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(d) => Json::String(d.to_string()),
        DeValue::Array(items) => Json::Array(items.iter().map(|i| to_json(i.get_ref())).collect()),
        DeValue::Table(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}

/// An http(s) URL as written at `key`, by the rule every URL follows: a literal must not hold
/// a password (it would end up in backups and version control); one that needs a password
/// comes from `env:NAME` or `file:PATH`, read now, as the store's URL is, and shown only
/// through [`mask_url`].
fn http_url_value(
    text: &str,
    span: Range<usize>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<String> {
    let secret = match Secret::parse(text, SecretKind::Url) {
        Ok(secret) => secret,
        Err(message) => {
            problems.report(span, key, message);
            return None;
        }
    };
    let (url, shown) = match &secret {
        Secret::Literal(url) => (url.clone(), format!("`{}`", mask_url(url))),
        reference => match reference.resolve() {
            Ok(url) => (url, format!("the URL in {reference}")),
            Err(error) => {
                problems.report(span, key, format!("{error}."));
                return None;
            }
        },
    };
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if !ok {
        problems.report(
            span,
            key,
            format!(
                "{shown} is not an http:// or https:// URL: write it in full, e.g. {URL_EXAMPLE}."
            ),
        );
    }
    ok.then_some(url)
}

fn http_url(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<String> {
    let (text, span) = table.required_string(problems, key, URL_EXAMPLE)?;
    http_url_value(&text, span, &table.key_path(key), problems)
}

/// `url = "…"` or `urls = ["…", "…"]`, not both.
fn url_list(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<Vec<String>> {
    let single = table.has("url");
    let many = table.has("urls");
    if single && many {
        problems.report(
            table.span(),
            &table.key_path("urls"),
            "has both `url` and `urls`: keep one (`urls` lists several instances).",
        );
    }
    if !single && !many {
        table.missing(
            problems,
            "url",
            &format!("{URL_EXAMPLE} (or `urls = [...]` for several)"),
        );
        table.value("urls");
        return None;
    }
    if single {
        table.value("urls");
        return http_url(table, problems, "url").map(|url| vec![url]);
    }
    table.value("url");
    let urls = table.string_list(
        problems,
        "urls",
        &format!("a list of URLs such as [{URL_EXAMPLE}]"),
        true,
    )?;
    let key = table.key_path("urls");
    let span = table
        .value("urls")
        .map_or_else(|| table.span(), |v| v.span());
    let checked: Vec<Option<String>> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| http_url_value(url, span.clone(), &format!("{key}[{i}]"), problems))
        .collect();
    checked.into_iter().collect()
}

fn secret(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
    kind: SecretKind,
) -> Option<Secret> {
    let expected = "env:NAME or file:PATH";
    let (text, span) = table.required_string(problems, key, &format!("\"{expected}\""))?;
    match Secret::parse(&text, kind) {
        Ok(secret) => Some(secret),
        Err(message) => {
            problems.report(span, &table.key_path(key), message);
            None
        }
    }
}

/// A PostgreSQL connection URL secret; a literal must look like one.
fn database_url(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<Secret> {
    let span = table.value(key).map(|v| v.span());
    let secret = secret(table, problems, key, SecretKind::Url)?;
    if let (Secret::Literal(url), Some(span)) = (&secret, span)
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        problems.report(
            span,
            &table.key_path(key),
            format!(
                "`{}` is not a PostgreSQL URL: use postgres://USER@HOST/DATABASE, or env:NAME for one with a password.",
                mask_url(url)
            ),
        );
        return None;
    }
    Some(secret)
}

fn read_postgres(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<PostgresSource> {
    let url = database_url(table, problems, "url");
    let max_connections_warn = table
        .integer(
            problems,
            "max_connections_warn",
            1..=1_000_000,
            "a number of connections such as 150",
        )
        .map(|n| n as u32);
    let connections_warn_pct = table.number(
        problems,
        "connections_warn_pct",
        0.0..=100.0,
        "a percentage of max_connections such as 80",
    );
    let replication_lag_warn =
        table.duration(problems, "replication_lag_warn", REPLICATION_LAG_WARN);
    let ca_file = ca_file(table, problems);
    let mut queries = Vec::new();
    let mut names = BTreeMap::new();
    let mut all_valid = true;
    for mut query in table.array_of_tables(problems, "query") {
        match read_query(&mut query, problems, &mut names) {
            Some(q) => queries.push(q),
            None => all_valid = false,
        }
        query.finish(problems, "a `[[source.query]]`");
    }
    all_valid.then_some(())?;
    Some(PostgresSource {
        url: url?,
        max_connections_warn,
        connections_warn_pct,
        replication_lag_warn,
        ca_file,
        queries,
    })
}

fn read_query(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
) -> Option<PgQuery> {
    let name = read_name(table, problems, names, "query", &[]);
    let sql = table.required_string(problems, "sql", "\"SELECT … FROM …\"");
    let targets: Vec<&str> = QueryTarget::ALL.iter().map(|t| t.name()).collect();
    let maps_to = table
        .required_string(problems, "maps_to", "\"hosts\", \"jobs\" or \"audit\"")
        .and_then(|(text, span)| {
            let target = QueryTarget::ALL.iter().copied().find(|t| t.name() == text);
            if target.is_none() {
                problems.report(
                    span,
                    &table.key_path("maps_to"),
                    format!(
                        "`{text}` is not a pane a query can fill.{} Use {}.",
                        suggestion(&text, targets.iter().copied()),
                        backticked(&targets)
                    ),
                );
            }
            target
        });
    let down_after_span = table.value("down_after").map(|v| v.span());
    let down_after = table.duration(problems, "down_after", DOWN_AFTER);
    if let (Some(span), Some(target)) = (down_after_span, maps_to)
        && target != QueryTarget::Hosts
    {
        problems.report(
            span,
            &table.key_path("down_after"),
            format!(
                "`down_after` applies only to a query that maps to hosts, not to {}. Remove it.",
                target.name()
            ),
        );
    }
    let max_rows = table
        .integer(
            problems,
            "max_rows",
            1..=PgQuery::MOST_ROWS as i64,
            "a row count such as 20000",
        )
        .map_or(PgQuery::DEFAULT_MAX_ROWS, |rows| rows as usize);
    let mut columns = BTreeMap::new();
    match maps_to {
        Some(target) => {
            if let Some(mut mapping) = table.table(
                problems,
                "columns",
                "a table such as { name = \"hostname\" }",
            ) {
                for field in target.fields() {
                    if let Some((column, _)) = mapping.string(problems, field, "a column name") {
                        columns.insert((*field).to_owned(), column);
                    }
                }
                mapping.finish(
                    problems,
                    &format!("the columns of a query that maps to {}", target.name()),
                );
            }
        }
        // Which fields exist depends on `maps_to`; don't guess.
        None => {
            table.value("columns");
        }
    }
    Some(PgQuery {
        name: name?,
        sql: sql?.0,
        maps_to: maps_to?,
        columns,
        down_after,
        max_rows,
    })
}

fn read_proxmox(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<ProxmoxSource> {
    let url = http_url(table, problems, "url");
    let token = secret(table, problems, "token", SecretKind::Token);
    let trust = read_tls_trust(table, problems);
    Some(ProxmoxSource {
        url: url?,
        token: token?,
        trust,
    })
}

/// `ca_file` and/or `tls_pin_sha256`; `verify_tls`, which turned off certificate and host-name
/// checks alike, is refused with what replaces it.
fn read_tls_trust(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> TlsTrust {
    if let Some(value) = table.value("verify_tls") {
        let message = if matches!(value.get_ref(), DeValue::Boolean(true)) {
            "is no longer a setting: certificates are always verified. Remove it."
        } else {
            "is no longer a setting: turning verification off let anyone on the network impersonate the server. Remove it, and trust the server's self-signed certificate with `ca_file` (the CA certificate that signed it, PEM) or `tls_pin_sha256` (its fingerprint: `openssl x509 -noout -fingerprint -sha256 -in server.pem`)."
        };
        problems.report(value.span(), &table.key_path("verify_tls"), message);
    }
    let ca_file = ca_file(table, problems);
    let pin_sha256 = table
        .string(
            problems,
            "tls_pin_sha256",
            "a SHA-256 fingerprint such as \"AB:CD:…\" (64 hex digits)",
        )
        .and_then(|(text, span)| {
            let pin = parse_fingerprint(&text);
            if pin.is_none() {
                problems.report(
                    span,
                    &table.key_path("tls_pin_sha256"),
                    "is not a SHA-256 fingerprint: give the 64 hex digits (colons allowed) that `openssl x509 -noout -fingerprint -sha256 -in server.pem` prints.",
                );
            }
            pin
        });
    TlsTrust {
        ca_file,
        pin_sha256,
    }
}

fn read_kasm(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<KasmSource> {
    let url = http_url(table, problems, "url");
    let api_key = secret(table, problems, "api_key", SecretKind::Token);
    let api_key_secret = secret(table, problems, "api_key_secret", SecretKind::Token);
    let session_limit = table
        .integer(
            problems,
            "session_limit",
            0..=100_000,
            "a number of sessions such as 5",
        )
        .map_or(5, |n| n as u32);
    Some(KasmSource {
        url: url?,
        api_key: api_key?,
        api_key_secret: api_key_secret?,
        session_limit,
    })
}

fn read_release(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<ReleaseSource> {
    let present: Vec<&str> = ["url", "file", "argv"]
        .into_iter()
        .filter(|k| table.has(k))
        .collect();
    let from = match present.as_slice() {
        ["url"] => http_url(table, problems, "url").map(ReleaseFrom::Url),
        ["file"] => table
            .required_string(problems, "file", "\"/srv/app/deploy-state.json\"")
            .map(|(path, _)| ReleaseFrom::File(expand_tilde(&path))),
        ["argv"] => table
            .string_list(
                problems,
                "argv",
                "a command as a list, e.g. [\"./deploy.py\", \"status\"]",
                true,
            )
            .map(ReleaseFrom::Argv),
        _ => {
            let message = if present.is_empty() {
                "needs where the deploy state comes from: `url`, `file` or `argv`."
            } else {
                "names more than one of `url`, `file`, `argv`: keep one."
            };
            problems.report(table.span(), &table.key_path("url"), message);
            None
        }
    };
    for key in ["url", "file", "argv"] {
        table.value(key);
    }
    let environments = table
        .string_list(
            problems,
            "environments",
            "a list of names such as [\"prod\", \"dev\"]",
            false,
        )
        .unwrap_or_default();
    let pass_env = table
        .string_list(
            problems,
            "pass_env",
            "a list of environment variable names such as [\"DEPLOY_TOKEN\"]",
            false,
        )
        .unwrap_or_default();
    if !pass_env.is_empty() && !matches!(from, Some(ReleaseFrom::Argv(_))) {
        problems.report(
            table.span(),
            &table.key_path("pass_env"),
            "applies to `argv` only (the command's environment): remove it.",
        );
    }
    Some(ReleaseSource {
        from: from?,
        environments,
        pass_env,
    })
}

fn read_action(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    names: &mut BTreeMap<String, usize>,
    references: &mut Vec<SourceReference>,
) -> Option<ActionConfig> {
    let name = read_name(table, problems, names, "action", &[]);
    let kind = read_kind(table, problems, &ACTION_KINDS, "action")?;
    let description = table
        .string(problems, "description", "a short sentence")
        .map(|(d, _)| d);
    let confirm = table
        .string(
            problems,
            "confirm",
            "one of enter, type-target, totp, two-person",
        )
        .and_then(|(text, span)| {
            let policy = ConfirmPolicy::from_name(&text);
            if policy.is_none() {
                let names: Vec<&str> = ConfirmPolicy::ALL.iter().map(|p| p.name()).collect();
                problems.report(
                    span,
                    &table.key_path("confirm"),
                    format!(
                        "unknown confirmation `{text}`.{} Use one of {}.",
                        suggestion(&text, names.iter().copied()),
                        backticked(&names)
                    ),
                );
            }
            policy
        });
    let mut source =
        |table: &mut Table<'_, '_>, problems: &mut Problems<'_>, kinds: &'static [&'static str]| {
            let (name, span) =
                table.required_string(problems, "source", "the name of a configured [[source]]")?;
            references.push(SourceReference {
                key: table.key_path("source"),
                name: name.clone(),
                span,
                kinds,
                action_kind: kind.clone(),
            });
            Some(name)
        };
    let spec = match kind.as_str() {
        "pg_backup" => {
            let database = database_url(table, problems, "database");
            let dir = required_dir(table, problems, "dir");
            let retention = read_retention(table, problems);
            (|| {
                Some(ActionSpec::PgBackup(PgBackupAction {
                    database: database?,
                    dir: dir?,
                    retention,
                }))
            })()
        }
        "pg_restore" => {
            let database = database_url(table, problems, "database");
            let dir = required_dir(table, problems, "dir");
            let drill = table.bool(problems, "drill").unwrap_or(false);
            let health = read_health(table, problems);
            (|| {
                Some(ActionSpec::PgRestore(PgRestoreAction {
                    database: database?,
                    dir: dir?,
                    drill,
                    health,
                }))
            })()
        }
        "file_backup" => {
            let paths = table
                .string_list(
                    problems,
                    "paths",
                    "a list of paths such as [\"/etc/app\"]",
                    false,
                )
                .map(|paths| paths.iter().map(|p| expand_tilde(p)).collect())
                .unwrap_or_default();
            let dir = optional_dir(table, problems, "dir").or_else(|| backups_dir(table, problems));
            let retention = read_retention(table, problems);
            dir.map(|dir| {
                ActionSpec::FileBackup(FileBackupAction {
                    paths,
                    dir,
                    retention,
                })
            })
        }
        "file_restore" => {
            let dir = optional_dir(table, problems, "dir").or_else(|| backups_dir(table, problems));
            let target = optional_dir(table, problems, "target");
            let health = read_health(table, problems);
            dir.map(|dir| {
                ActionSpec::FileRestore(FileRestoreAction {
                    dir,
                    target,
                    health,
                })
            })
        }
        "unseal" => source(table, problems, &["openbao"])
            .map(|source| ActionSpec::Unseal(UnsealAction { source })),
        "rollback" => {
            let source = source(table, problems, &["release"]);
            let argv = argv(table, problems);
            let health = read_health(table, problems);
            (|| {
                Some(ActionSpec::Rollback(RollbackAction {
                    source: source?,
                    argv: argv?,
                    health,
                }))
            })()
        }
        "command" => {
            let argv = argv(table, problems);
            let cwd = optional_dir(table, problems, "cwd");
            let timeout = table.duration(problems, "timeout", COMMAND_TIMEOUT);
            let health = read_health(table, problems);
            argv.map(|argv| {
                ActionSpec::Command(CommandAction {
                    argv,
                    cwd,
                    timeout,
                    health,
                })
            })
        }
        "silence" => {
            let source = source(table, problems, &["alertmanager"]);
            let duration = table
                .duration(problems, "duration", SILENCE)
                .unwrap_or(DEFAULT_SILENCE);
            let comment = table
                .string(problems, "comment", "a sentence for the silence")
                .map(|(c, _)| c);
            source.map(|source| {
                ActionSpec::Silence(SilenceAction {
                    source,
                    duration,
                    comment,
                })
            })
        }
        "terminate_session" => source(table, problems, &["postgres", "kasm"])
            .map(|source| ActionSpec::TerminateSession(TerminateSessionAction { source })),
        _ => {
            let source = source(table, problems, &["postgres"]);
            let sql = table.required_string(
                problems,
                "sql",
                "\"UPDATE install_jobs SET status = 'APPROVED', approved_by = $2 WHERE id = $1 AND status = 'REQUESTED'\"",
            );
            (|| {
                let decision = JobDecisionAction {
                    source: source?,
                    sql: sql?.0,
                };
                Some(if kind == "approve" {
                    ActionSpec::Approve(decision)
                } else {
                    ActionSpec::Deny(decision)
                })
            })()
        }
    };
    table.finish(problems, &format!("a `{kind}` action"));
    let default_confirm = match &spec {
        Some(ActionSpec::PgRestore(restore)) if !restore.drill => ConfirmPolicy::TypeTarget,
        Some(ActionSpec::FileRestore(_) | ActionSpec::Rollback(_)) => ConfirmPolicy::TypeTarget,
        _ => ConfirmPolicy::Enter,
    };
    Some(ActionConfig {
        name: name?,
        kind,
        description,
        confirm: confirm.unwrap_or(default_confirm),
        spec: spec?,
    })
}

/// A relative program (`./scripts/deploy.py`, `bin/state`) means the one beside the
/// configuration file, wherever ondeck was started from; a bare name (`python3`) is looked up
/// in `PATH`.
fn anchor_programs(sources: &mut [SourceConfig], actions: &mut [ActionConfig], dir: &Path) {
    let argvs = sources
        .iter_mut()
        .filter_map(|source| match &mut source.spec {
            SourceSpec::Release(ReleaseSource {
                from: ReleaseFrom::Argv(argv),
                ..
            }) => Some(argv),
            _ => None,
        })
        .chain(
            actions
                .iter_mut()
                .filter_map(|action| match &mut action.spec {
                    ActionSpec::Rollback(rollback) => Some(&mut rollback.argv),
                    ActionSpec::Command(command) => Some(&mut command.argv),
                    _ => None,
                }),
        );
    for argv in argvs {
        if let Some(program) = argv.first_mut() {
            *program = crate::process::anchored(program, dir).display().to_string();
        }
    }
}

fn argv(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<Vec<String>> {
    let expected = "a command as a list, e.g. [\"./scripts/deploy.py\", \"rollback\"] (no shell)";
    if !table.has("argv") {
        table.missing(problems, "argv", "[\"./scripts/deploy.py\", \"rollback\"]");
        table.value("argv");
        return None;
    }
    table.string_list(problems, "argv", expected, true)
}

fn required_dir(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<PathBuf> {
    table
        .required_string(problems, key, "\"/var/backups/app\"")
        .map(|(dir, _)| expand_tilde(&dir))
}

fn optional_dir(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<PathBuf> {
    table
        .string(problems, key, "a path such as \"/var/backups/app\"")
        .map(|(dir, _)| expand_tilde(&dir))
}

fn backups_dir(table: &Table<'_, '_>, problems: &mut Problems<'_>) -> Option<PathBuf> {
    let dir = user_data_dir().map(|d| d.join("backups"));
    if dir.is_none() {
        problems.report(
            table.span(),
            &table.key_path("dir"),
            "the user data directory is unknown (is $HOME set?): set `dir` to where backups go.",
        );
    }
    dir
}

fn read_retention(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Retention {
    let Some(mut retention) = table.table(
        problems,
        "retention",
        "a table such as { keep = 30, max_age = \"30d\" }",
    ) else {
        return Retention::default();
    };
    let keep = retention
        .integer(
            problems,
            "keep",
            1..=100_000,
            "a number of backups such as 30",
        )
        .map(|n| n as u32);
    let max_age = retention.duration(problems, "max_age", RETENTION_MAX_AGE);
    retention.finish(problems, "`retention`");
    Retention { keep, max_age }
}

fn read_health(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<HealthCheck> {
    let mut health = table.table(
        problems,
        "health",
        "a table such as { url = \"https://api.example.com/healthz\", within = \"120s\" }",
    )?;
    let url = http_url(&mut health, problems, "url");
    let within = if health.has("within") {
        health.duration(problems, "within", HEALTH_WITHIN)
    } else {
        health.missing(problems, "within", "\"120s\"");
        health.value("within");
        None
    };
    let expect_status = http_status(&mut health, problems);
    health.finish(problems, "`health`");
    Some(HealthCheck {
        url: url?,
        within: within?,
        expect_status,
    })
}

fn check_reference(
    reference: &SourceReference,
    sources: &[SourceConfig],
    problems: &mut Problems<'_>,
) {
    let wanted = reference
        .kinds
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    match sources.iter().find(|s| s.name == reference.name) {
        None => {
            let fitting: Vec<&str> = sources
                .iter()
                .filter(|s| reference.kinds.contains(&s.kind()))
                .map(|s| s.name.as_str())
                .collect();
            let hint =
                match super::diagnostics::did_you_mean(&reference.name, fitting.iter().copied()) {
                    Some(best) => format!(" Did you mean `{best}`?"),
                    None if fitting.is_empty() => {
                        format!(" Add a [[source]] of kind {wanted} first.")
                    }
                    None => format!(" Configured {wanted} sources: {}.", backticked(&fitting)),
                };
            problems.report(
                reference.span.clone(),
                &reference.key,
                format!("no source named `{}` is configured.{hint}", reference.name),
            );
        }
        Some(source) if !reference.kinds.contains(&source.kind()) => problems.report(
            reference.span.clone(),
            &reference.key,
            format!(
                "an action of kind `{}` needs a source of kind {wanted}, but `{}` is of kind `{}`.",
                reference.action_kind,
                source.name,
                source.kind()
            ),
        ),
        Some(_) => {}
    }
}
