//! Secrets in the configuration: `env:NAME`, `file:PATH`, or (where allowed) a literal.
//!
//! A [`Secret`] is resolved only when a poller or action needs it, so `ondeck check` and the
//! console never hold the value just to display the configuration. `Debug` and `Display` show
//! where the value comes from (`env:PG_URL`), never the value.
//!
//! Which literals are allowed is decided per key ([`SecretKind`]): a token or API key must come
//! from `env:` or `file:` (a literal token in a config file ends up in backups and version
//! control); a connection URL may be literal only when it carries no password, so a lab config
//! like `postgres://ondeck@127.0.0.1/ondeck` stays simple; a header value may be literal.

use std::fmt;
use std::path::PathBuf;

/// What a secret-valued key holds, which decides whether a literal is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A password, token or API key: only `env:` or `file:`.
    Token,
    /// A connection URL: literal only without a password in it.
    Url,
    /// Anything else (an HTTP header value): literal allowed, shown masked.
    Value,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Env(String),
    File(PathBuf),
    Literal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "environment variable `{0}` is not set (the configuration says env:{0}); export it in the environment that starts ondeck"
    )]
    EnvMissing(String),
    #[error("environment variable `{0}` is not valid UTF-8 (the configuration says env:{0})")]
    EnvNotUnicode(String),
    #[error(
        "cannot read secret file {path} (the configuration says file:{path}): {source}; check that it exists and that this user may read it"
    )]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {0} is empty (the configuration says file:{0})")]
    EmptyFile(String),
}

impl Secret {
    /// Reads a secret reference as written in the file. The error explains how to write it.
    pub fn parse(text: &str, kind: SecretKind) -> Result<Secret, String> {
        if let Some(name) = text.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`env:{name}` is not an environment variable name: use letters, digits and `_`, e.g. env:PG_URL."
                ));
            }
            return Ok(Secret::Env(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path, e.g. file:/etc/ondeck/pg-url.".to_owned());
            }
            return Ok(Secret::File(super::expand_tilde(path)));
        }
        match kind {
            SecretKind::Token => Err(
                "a secret must not be written into the file: use env:NAME (an environment variable) or file:PATH (a file readable only by you)."
                    .to_owned(),
            ),
            SecretKind::Url if mask_url(text) != text => Err(format!(
                "this URL has a password in it ({}): move the whole URL to env:NAME or file:PATH.",
                mask_url(text)
            )),
            SecretKind::Url | SecretKind::Value => Ok(Secret::Literal(text.to_owned())),
        }
    }

    /// The value. Files are read each time (a rotated secret is picked up) with the trailing
    /// newline that editors add removed.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            Secret::Env(name) => std::env::var(name).map_err(|error| match error {
                std::env::VarError::NotPresent => SecretError::EnvMissing(name.clone()),
                std::env::VarError::NotUnicode(_) => SecretError::EnvNotUnicode(name.clone()),
            }),
            Secret::File(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    path: shown.clone(),
                    source,
                })?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(SecretError::EmptyFile(shown));
                }
                Ok(value.to_owned())
            }
            Secret::Literal(value) => Ok(value.clone()),
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(name) => write!(f, "env:{name}"),
            Secret::File(path) => write!(f, "file:{}", path.display()),
            // A literal URL has no password (parse refuses one), but masking again costs
            // nothing; any other literal may be a credential in a header.
            Secret::Literal(value) if value.contains("://") => f.write_str(&mask_url(value)),
            Secret::Literal(_) => f.write_str("***"),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

/// A URL with any password replaced by `***`: `postgres://u:pw@h/db` → `postgres://u:***@h/db`,
/// and `?password=…` likewise. Anything that is not a URL comes back unchanged.
///
/// Written by hand because a URL parser would normalise the rest of the string (the `url`
/// crate rewrites `sqlite://~/x` and percent-encodings), and what is shown must be what the
/// operator wrote, minus the password.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let mut masked = String::with_capacity(url.len());
    masked.push_str(&url[..authority_start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    masked.push_str(&userinfo[..colon]);
                    masked.push_str(":***");
                }
                None => masked.push_str(userinfo),
            }
            masked.push_str(&authority[at..]);
        }
        None => masked.push_str(authority),
    }
    masked.push_str(&mask_query_password(&rest[authority_len..]));
    masked
}

fn mask_query_password(path_and_query: &str) -> String {
    let Some(query_start) = path_and_query.find('?') else {
        return path_and_query.to_owned();
    };
    let (path, query) = path_and_query.split_at(query_start + 1);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_urls_and_queries() {
        assert_eq!(
            mask_url("postgres://u:pw@db.example.com:5432/app"),
            "postgres://u:***@db.example.com:5432/app"
        );
        assert_eq!(
            mask_url("postgres://u@127.0.0.1/app?sslmode=require&password=pw"),
            "postgres://u@127.0.0.1/app?sslmode=require&password=***"
        );
        assert_eq!(
            mask_url("https://api.example.com/healthz"),
            "https://api.example.com/healthz"
        );
        assert_eq!(mask_url("sqlite://~/ondeck.db"), "sqlite://~/ondeck.db");
        // An `@` in the password itself: the last `@` ends the userinfo.
        assert_eq!(mask_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(mask_url("not a url"), "not a url");
        // A URL no parser accepts keeps its password hidden all the same.
        assert!(!mask_url("postgres://ops:s3cret@[::1/x").contains("s3cret"));
    }

    #[test]
    fn tokens_must_not_be_literal_and_url_passwords_must_not_either() {
        assert!(Secret::parse("hunter2", SecretKind::Token).is_err());
        assert_eq!(
            Secret::parse("env:KASM_KEY", SecretKind::Token),
            Ok(Secret::Env("KASM_KEY".into()))
        );
        let error = Secret::parse("postgres://u:pw@h/db", SecretKind::Url).unwrap_err();
        assert!(
            !error.contains("pw@"),
            "the error must not echo the password: {error}"
        );
        assert!(Secret::parse("postgres://u@h/db", SecretKind::Url).is_ok());
        assert!(Secret::parse("env:", SecretKind::Url).is_err());
        assert!(Secret::parse("env:PG URL", SecretKind::Url).is_err());
    }

    #[test]
    fn never_shows_the_value() {
        let header = Secret::parse("Bearer abc123", SecretKind::Value).unwrap();
        assert_eq!(format!("{header}"), "***");
        assert!(!format!("{header:?}").contains("abc123"));
        let env = Secret::Env("PG_URL".into());
        assert_eq!(format!("{env:?}"), "Secret(env:PG_URL)");
    }

    #[test]
    fn file_secrets_drop_the_trailing_newline_and_explain_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(Secret::File(path).resolve().unwrap(), "s3cret");

        let missing = Secret::File(dir.path().join("absent"))
            .resolve()
            .unwrap_err();
        assert!(missing.to_string().contains("absent"), "{missing}");

        let empty_path = dir.path().join("empty");
        std::fs::write(&empty_path, "\n").unwrap();
        assert!(matches!(
            Secret::File(empty_path).resolve(),
            Err(SecretError::EmptyFile(_))
        ));
    }

    #[test]
    fn an_unset_variable_is_named_in_the_error() {
        let error = Secret::Env("ONDECK_TEST_SURELY_UNSET_VARIABLE".into())
            .resolve()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ONDECK_TEST_SURELY_UNSET_VARIABLE")
        );
    }
}
