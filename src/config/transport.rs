//! How ondeck's connections are protected, decided once from the configuration and used by
//! the pollers, the store and `ondeck check` alike: which hosts are loopback, which sources
//! carry credentials (and so follow no redirect and never go over plain `http://` to another
//! machine), how an HTTPS certificate is trusted, and what TLS a PostgreSQL connection gets.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::{ReleaseFrom, SourceSpec};

/// The key that lets a source send credentials over plain `http://` to another machine. Named
/// so that nobody sets it without reading it; `ondeck check` prints every source that does.
pub const DANGEROUS_PLAIN_HTTP_KEY: &str = "dangerous_plain_http_credentials";

/// How an HTTPS server's certificate is trusted beyond the system's CA store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// A PEM file of CA certificates trusted besides the system's (an internal CA).
    pub ca_file: Option<PathBuf>,
    /// The SHA-256 fingerprint of the server's own certificate: a self-signed certificate is
    /// accepted when it is exactly this one (its host name is not checked).
    pub pin_sha256: Option<[u8; 32]>,
}

impl TlsTrust {
    /// `CA file /etc/ondeck/ca.pem, pinned SHA-256 AB:CD:…`, or `None` for the system store.
    pub fn describe(&self) -> Option<String> {
        let ca = self
            .ca_file
            .as_ref()
            .map(|path| format!("CA file {}", path.display()));
        let pin = self.pin_sha256.map(|pin| {
            let hex = hex::encode_upper(pin);
            format!("pinned SHA-256 {}…", &hex[..16])
        });
        let parts: Vec<String> = [ca, pin].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// `AB:CD:…` (as `openssl x509 -noout -fingerprint -sha256` prints it) or plain hex, either
/// case; `None` unless it is 32 bytes.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex_digits: String = text.chars().filter(|c| *c != ':').collect();
    hex::decode(hex_digits.trim()).ok()?.try_into().ok()
}

/// Whether `host` (a name or an address, IPv6 with or without brackets) is this machine:
/// traffic to it never crosses a network.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL names a user or password (`https://user:pw@host/`): the client sends them.
pub fn has_userinfo(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[..authority_end].contains('@')
}

/// Whether a request to `url` would travel unencrypted to another machine.
pub fn is_plain_http_to_remote(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.scheme() == "http" && !parsed.host_str().is_some_and(is_loopback_host),
        Err(_) => false,
    }
}

impl SourceSpec {
    /// Whether this source's requests carry credentials: headers (an `http` source's are
    /// secrets), an API key in the body (`kasm`), a token (`proxmox`) or a user in the URL.
    /// Such requests follow no redirect and go over plain `http://` only to loopback.
    pub fn sends_credentials(&self) -> bool {
        self.http_urls().iter().any(|url| has_userinfo(url))
            || match self {
                SourceSpec::Http(http) => !http.headers.is_empty(),
                SourceSpec::Proxmox(_) | SourceSpec::Kasm(_) => true,
                _ => false,
            }
    }

    /// The HTTP URLs this source asks.
    pub fn http_urls(&self) -> Vec<&str> {
        match self {
            SourceSpec::Http(http) => vec![&http.url],
            SourceSpec::Prometheus(p) => vec![&p.url],
            SourceSpec::Alertmanager(a) => a.urls.iter().map(String::as_str).collect(),
            SourceSpec::OpenBao(o) => o.urls.iter().map(String::as_str).collect(),
            SourceSpec::Proxmox(p) => vec![&p.url],
            SourceSpec::Kasm(k) => vec![&k.url],
            SourceSpec::Release(r) => match &r.from {
                ReleaseFrom::Url(url) => vec![url],
                ReleaseFrom::File(_) | ReleaseFrom::Argv(_) => vec![],
            },
            SourceSpec::Local(_) | SourceSpec::Postgres(_) => vec![],
        }
    }

    /// The URLs to which this source would send credentials unencrypted to another machine;
    /// the configuration refuses them unless [`DANGEROUS_PLAIN_HTTP_KEY`] is set.
    pub fn plain_http_credentials(&self) -> Vec<&str> {
        if !self.sends_credentials() {
            return Vec::new();
        }
        self.http_urls()
            .into_iter()
            .filter(|url| is_plain_http_to_remote(url))
            .collect()
    }
}

/// libpq's name of an `sslmode`.
pub(crate) fn mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// What a PostgreSQL connection will do, decided from its URL: an `sslmode` written in the
/// URL (or `$PGSSLMODE`) is kept; otherwise a loopback host (or a Unix socket) is plain and
/// every other host gets `verify-full` against the system's CAs plus `ca_file`.
#[derive(Debug, Clone)]
pub struct PgTransport {
    pub mode: PgSslMode,
    /// CA certificates trusted besides the system's: `ca_file`, or the URL's `sslrootcert`.
    pub ca_file: Option<PathBuf>,
    /// The mode was chosen by ondeck, not written by the operator.
    pub chosen: bool,
    pub loopback: bool,
}

/// By hand: sqlx's `PgSslMode` does not implement `PartialEq`, and a reload compares sources.
impl PartialEq for PgTransport {
    fn eq(&self, other: &PgTransport) -> bool {
        std::mem::discriminant(&self.mode) == std::mem::discriminant(&other.mode)
            && self.ca_file == other.ca_file
            && self.chosen == other.chosen
            && self.loopback == other.loopback
    }
}

impl PgTransport {
    /// `url` is the resolved connection URL; `ca_file` the configured one, if any.
    pub fn of(url: &str, ca_file: Option<&Path>) -> PgTransport {
        let parsed = url::Url::parse(url).ok();
        let query = |keys: &[&str]| {
            parsed.as_ref().and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| keys.contains(&k.as_ref()))
                    .map(|(_, v)| v.into_owned())
            })
        };
        let host = query(&["host", "hostaddr"])
            .or_else(|| {
                parsed
                    .as_ref()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .filter(|h| !h.is_empty())
            })
            .or_else(|| std::env::var("PGHOST").ok());
        // No host means localhost; a directory (`/run/postgresql`, percent-encoded in the
        // authority) is a Unix-domain socket on this machine.
        let loopback = host.as_deref().is_none_or(|h| {
            h.starts_with('/')
                || h.get(..3)
                    .is_some_and(|start| start.eq_ignore_ascii_case("%2F"))
                || is_loopback_host(h)
        });
        let written = query(&["sslmode", "ssl-mode"])
            .or_else(|| std::env::var("PGSSLMODE").ok())
            .and_then(|name| name.to_ascii_lowercase().parse::<PgSslMode>().ok());
        let (mode, chosen) = match written {
            Some(mode) => (mode, false),
            None if loopback => (PgSslMode::Disable, true),
            None => (PgSslMode::VerifyFull, true),
        };
        PgTransport {
            mode,
            ca_file: ca_file
                .map(Path::to_owned)
                .or_else(|| query(&["sslrootcert", "ssl-root-cert", "ssl-ca"]).map(PathBuf::from)),
            chosen,
            loopback,
        }
    }
}

/// What `ondeck check` says: `TLS verify-full`, `plain (loopback)`, `TLS require, certificate
/// NOT verified (sslmode in the URL)`.
impl fmt::Display for PgTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            PgSslMode::Disable if self.chosen => f.write_str("plain (loopback)")?,
            PgSslMode::Disable => f.write_str("plain")?,
            PgSslMode::VerifyFull => f.write_str("TLS verify-full")?,
            PgSslMode::VerifyCa => f.write_str("TLS verify-ca, host name NOT checked")?,
            mode => write!(f, "TLS {}, certificate NOT verified", mode_name(mode))?,
        }
        if let Some(ca) = &self.ca_file
            && matches!(self.mode, PgSslMode::VerifyFull | PgSslMode::VerifyCa)
        {
            write!(f, ", CA file {}", ca.display())?;
        }
        if !self.chosen {
            f.write_str(" (sslmode set in the URL or $PGSSLMODE)")?;
        }
        Ok(())
    }
}

/// The connection options for `url` (resolved) with the TLS [`PgTransport::of`] decides:
/// the one place the sources and the store get theirs from. The error is sqlx's, which may
/// quote the URL: callers show their own masked label instead.
pub fn pg_connect_options(
    url: &str,
    ca_file: Option<&Path>,
) -> Result<PgConnectOptions, sqlx::Error> {
    let transport = PgTransport::of(url, ca_file);
    let options = url.parse::<PgConnectOptions>()?.ssl_mode(transport.mode);
    Ok(match &transport.ca_file {
        Some(ca) => options.ssl_root_cert(ca),
        None => options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["db.example.com", "10.0.0.1", "localhost.example.com", "::2"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn plain_http_to_another_machine() {
        assert!(is_plain_http_to_remote("http://api.example.com/healthz"));
        assert!(is_plain_http_to_remote("http://10.0.0.1:8080/"));
        assert!(!is_plain_http_to_remote("http://127.0.0.1:8080/"));
        assert!(!is_plain_http_to_remote("http://localhost/"));
        assert!(!is_plain_http_to_remote("http://[::1]:9090/"));
        assert!(!is_plain_http_to_remote("https://api.example.com/"));
    }

    #[test]
    fn userinfo_only_in_the_authority() {
        assert!(has_userinfo("https://ops:pw@prom.example.com/"));
        assert!(has_userinfo("https://ops@prom.example.com/"));
        assert!(!has_userinfo("https://prom.example.com/user@x"));
        assert!(!has_userinfo("https://prom.example.com?to=a@b"));
    }

    #[test]
    fn fingerprints_as_openssl_prints_them() {
        let colons = (0..32)
            .map(|i| format!("{i:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let pin = parse_fingerprint(&colons).unwrap();
        assert_eq!(pin[31], 31);
        assert_eq!(
            parse_fingerprint(&colons.replace(':', "").to_lowercase()),
            Some(pin)
        );
        assert_eq!(parse_fingerprint("AB:CD"), None);
        assert_eq!(parse_fingerprint("not hex"), None);
    }

    #[test]
    fn postgres_tls_defaults_to_verify_full_off_this_machine() {
        let remote = PgTransport::of("postgres://ops@db.example.com/app", None);
        assert!(matches!(remote.mode, PgSslMode::VerifyFull) && remote.chosen);
        assert_eq!(remote.to_string(), "TLS verify-full");

        let local = PgTransport::of("postgres://ops@127.0.0.1:5432/app", None);
        assert!(matches!(local.mode, PgSslMode::Disable));
        assert_eq!(local.to_string(), "plain (loopback)");
        let socket = PgTransport::of("postgres://ops@%2Fvar%2Frun%2Fpostgresql/app", None);
        assert!(matches!(socket.mode, PgSslMode::Disable));
        let socket = PgTransport::of("postgres:///app?host=/var/run/postgresql", None);
        assert!(matches!(socket.mode, PgSslMode::Disable));

        let written = PgTransport::of("postgres://ops@db.example.com/app?sslmode=require", None);
        assert!(matches!(written.mode, PgSslMode::Require) && !written.chosen);
        assert!(written.to_string().contains("NOT verified"), "{written}");

        let with_ca = PgTransport::of(
            "postgres://ops@db.example.com/app?sslrootcert=/etc/ondeck/ca.pem",
            None,
        );
        assert_eq!(
            with_ca.to_string(),
            "TLS verify-full, CA file /etc/ondeck/ca.pem"
        );
        let configured = PgTransport::of(
            "postgres://ops@db.example.com/app",
            Some(Path::new("/etc/ondeck/ca.pem")),
        );
        assert_eq!(configured.ca_file, with_ca.ca_file);
    }
}
