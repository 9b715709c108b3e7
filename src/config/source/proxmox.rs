//! `kind = "proxmox"`: a Proxmox VE cluster, and how its certificate is trusted.

use toml::de::DeValue;

use crate::config::diagnostics::{Problems, Table};
use crate::config::secret::{Secret, SecretKind};
use crate::config::transport::{TlsTrust, parse_fingerprint};
use crate::config::values::{ca_file, http_url, secret};

#[derive(Debug, Clone, PartialEq)]
pub struct ProxmoxSource {
    pub url: String,
    /// `USER@REALM!TOKENID=SECRET`, from `env:` or `file:`.
    pub token: Secret,
    /// `ca_file` / `tls_pin_sha256`: how a lab's self-signed certificate is trusted.
    pub trust: TlsTrust,
}

pub(super) fn read_proxmox(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<ProxmoxSource> {
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
