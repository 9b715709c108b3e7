//! Readers of values several tables share: URLs, secrets, CA files, names, kinds, and the
//! bounds of durations.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use super::diagnostics::{DurationLimits, Problems, Table, backticked, suggestion};
use super::expand_tilde;
use super::secret::{Secret, SecretKind, mask_url};

pub(super) const URL_EXAMPLE: &str = "\"https://host.example.com/…\"";

pub(super) const MINUTE: Duration = Duration::from_secs(60);
pub(super) const HOUR: Duration = Duration::from_secs(3600);
pub(super) const DAY: Duration = Duration::from_secs(86_400);
pub(super) const LONGER_THAN_ZERO: &str = "it must be longer than zero";

/// The accepted range of a duration key; each key's range stands beside its reader.
pub(super) const fn limits(min: Duration, max: Duration, why_min: &'static str) -> DurationLimits {
    DurationLimits { min, max, why_min }
}

/// `ca_file`: a readable PEM file with at least one certificate, trusted besides the system's
/// CAs.
pub(super) fn ca_file(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> Option<PathBuf> {
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
pub(super) fn read_name(
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
    // `seen` keeps where each name is, and its line is counted only for a duplicate: counting
    // lines for every name made reading a thousand sources quadratic.
    if let Some(first) = seen.get(&name).map(|&offset| problems.line_of(offset)) {
        problems.report(
            span,
            &table.key_path("name"),
            format!(
                "a {what} named `{name}` is already defined on line {first}: {what} names must be unique (they identify it on screen and in the audit log); rename one."
            ),
        );
        return None;
    }
    seen.insert(name.clone(), span.start);
    Some(name)
}

/// `kind`, checked against `kinds`; `None` when missing or unknown (the other keys of the
/// table are then not checked: which keys are valid depends on the kind).
pub(super) fn read_kind<K>(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    what: &str,
) -> Option<K>
where
    K: strum::VariantArray + std::str::FromStr + Into<&'static str> + Copy,
{
    let kinds: Vec<&'static str> = K::VARIANTS.iter().map(|&k| k.into()).collect();
    let (kind, span) =
        table.required_string(problems, "kind", &format!("one of {}", kinds.join(", ")))?;
    if let Ok(kind) = kind.parse::<K>() {
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

pub(super) fn http_status(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> u16 {
    table
        .integer(
            problems,
            "expect_status",
            100..=599,
            "an HTTP status code such as 200",
        )
        .map_or(200, |status| status as u16)
}

/// An http(s) URL as written at `key`, by the rule every URL follows: a literal must not hold
/// a password (it would end up in backups and version control); one that needs a password
/// comes from `env:NAME` or `file:PATH`, read now, as the store's URL is, and shown only
/// through [`mask_url`].
pub(super) fn http_url_value(
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

pub(super) fn http_url(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
    key: &'static str,
) -> Option<String> {
    let (text, span) = table.required_string(problems, key, URL_EXAMPLE)?;
    http_url_value(&text, span, &table.key_path(key), problems)
}

/// `url = "…"` or `urls = ["…", "…"]`, not both.
pub(super) fn url_list(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<Vec<String>> {
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

pub(super) fn secret(
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
pub(super) fn database_url(
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
