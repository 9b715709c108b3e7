//! `[store]`: where the audit log, job ledger and sessions are kept.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use super::diagnostics::{Problems, Table};
use super::secret::{Secret, SecretKind, mask_url};
use super::values::ca_file;
use super::{expand_tilde, user_data_dir};

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

pub(super) fn default_store(problems: &mut Problems<'_>, span: Range<usize>) -> StoreConfig {
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

pub(super) fn read_store(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> StoreConfig {
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
