//! The HTTP requests every HTTP-speaking source makes: one client per source, an
//! `X-Request-ID` on every request, a cap on how much of a body is read, errors short enough
//! for the Sources view, and where a request may be redirected: a request that carries
//! credentials (headers, a body, a user in the URL) follows no redirect, since the next server
//! would receive them; any other follows one only within its origin (scheme, host and port),
//! so never from https to http. A refused redirect fails the poll and names where it led.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::SourceError;
use crate::config::transport::has_userinfo;
use crate::config::{TlsTrust, mask_url};

/// No health endpoint or API list ondeck reads is anywhere near this; a larger answer is a
/// misconfigured URL (a log file, a dump) and is cut off rather than read into memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The header that lets an operator find ondeck's request in the server's own logs.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// One answer, whatever its status: some APIs (OpenBao's health) answer states with non-2xx.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    pub latency_ms: u64,
    pub request_id: String,
    /// The server certificate (DER), for https with TLS info requested.
    pub peer_certificate: Option<Vec<u8>>,
}

impl Fetched {
    /// The body as JSON of type `T`; `what` names the document in the error.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, SourceError> {
        serde_json::from_slice(&self.body).map_err(|e| SourceError::BadResponse {
            what: what.to_string(),
            reason: e.to_string(),
        })
    }

    /// Fail unless the status is 2xx, quoting the start of the body (APIs explain themselves
    /// there).
    pub fn require_success(self, url: &str) -> Result<Fetched, SourceError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        Err(SourceError::Status {
            url: mask_url(url),
            status: self.status,
            body: self.body_snippet(),
        })
    }

    /// The start of the body on one line, to quote in an error or alert.
    pub fn body_snippet(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(120)
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Where a source's requests may be redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// The requests carry credentials: no redirect is followed.
    Never,
    /// Only to the same scheme, host and port as the URL asked.
    SameOrigin,
}

impl Redirects {
    /// For a source whose only credentials could be a user in its URLs.
    pub fn for_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Redirects {
        Redirects::for_credentials(urls.into_iter().any(has_userinfo))
    }

    /// [`Redirects::Never`] when `sends_credentials`.
    pub fn for_credentials(sends_credentials: bool) -> Redirects {
        if sends_credentials {
            Redirects::Never
        } else {
            Redirects::SameOrigin
        }
    }
}

/// As many hops as reqwest's own default allows, within one origin.
const MAX_REDIRECTS: usize = 10;

/// A redirect that was not followed; its `Display` ends up in the source's error.
#[derive(Debug, thiserror::Error)]
#[error("{to}: {why}")]
struct RedirectRefused {
    /// Where the server sent the request, password masked.
    to: String,
    why: &'static str,
}

fn redirect_policy(redirects: Redirects) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let why = match (redirects, attempt.previous().first()) {
            (Redirects::Never, _) => {
                Some("the request carries credentials, which are never sent after a redirect")
            }
            (Redirects::SameOrigin, Some(first)) if first.origin() != attempt.url().origin() => {
                Some("a redirect is followed only to the same scheme, host and port")
            }
            (Redirects::SameOrigin, _) if attempt.previous().len() > MAX_REDIRECTS => {
                Some("too many redirects")
            }
            (Redirects::SameOrigin, _) => None,
        };
        match why {
            Some(why) => {
                let to = mask_url(attempt.url().as_str());
                attempt.error(RedirectRefused { to, why })
            }
            None => attempt.follow(),
        }
    })
}

/// A client for one source. `timeout` bounds a whole request; `trust` adds a CA or pins the
/// server's certificate (a lab's self-signed one).
pub fn client(
    timeout: Duration,
    trust: &TlsTrust,
    redirects: Redirects,
) -> Result<reqwest::Client, SourceError> {
    let mut builder = builder(redirects).timeout(timeout).connect_timeout(timeout);
    if let Some(path) = &trust.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            SourceError::Setup(format!("cannot read ca_file {}: {e}", path.display()))
        })?;
        for certificate in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            SourceError::Setup(format!("ca_file {} is not PEM: {e}", path.display()))
        })? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let Some(pin) = trust.pin_sha256 {
        builder = builder.use_preconfigured_tls(pinned_tls(pin)?);
    }
    builder
        .build()
        .map_err(|e| SourceError::Setup(e.to_string()))
}

/// TLS that accepts exactly the certificate whose SHA-256 is `pin`, whoever signed it and
/// whatever host it names: what `verify_tls = false` was used for, without accepting anyone
/// else's certificate.
fn pinned_tls(pin: [u8; 32]) -> Result<rustls::ClientConfig, SourceError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError::Setup(format!("TLS set-up failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCertificate { pin, provider }))
        .with_no_client_auth();
    Ok(config)
}

#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate is not the pinned one (its SHA-256 is {})",
                hex::encode_upper(seen)
            )))
        }
    }

    // The handshake's signatures are still checked: the server must hold the pinned
    // certificate's key, not just present a copy of the certificate.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The request timeout of a source that asks several endpoints in one poll (Alertmanager
/// instances, OpenBao nodes): a quarter shorter than the poll's own timeout, so an endpoint
/// that hangs fails on its own, as that endpoint's error, well before the poll's timeout would
/// cancel the whole poll and with it the answers of the endpoints that did reply.
pub fn endpoint_timeout(poll_timeout: Duration) -> Duration {
    poll_timeout.mul_f64(0.75)
}

/// One client for many sources: it verifies certificates and has no timeout of its own, so
/// every request must carry its source's ([`reqwest::RequestBuilder::timeout`], which also
/// bounds connecting). Sources sharing it share one pool of keep-alive connections.
pub fn shared_client(redirects: Redirects) -> Result<reqwest::Client, SourceError> {
    builder(redirects)
        .build()
        .map_err(|e| SourceError::Setup(e.to_string()))
}

/// What every client ondeck builds has: its name, its redirect policy, and the peer
/// certificate kept for the `http` source's expiry check.
fn builder(redirects: Redirects) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_info(true)
        .redirect(redirect_policy(redirects))
        .user_agent(concat!("ondeck/", env!("CARGO_PKG_VERSION")))
}

/// GET `url` with `headers`, reading at most [`MAX_BODY_BYTES`].
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
) -> Result<Fetched, SourceError> {
    send(client.get(url).headers(headers.clone()), url).await
}

/// Send a prepared request (any method) with an `X-Request-ID`, reading at most
/// [`MAX_BODY_BYTES`] of the answer.
pub async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<Fetched, SourceError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let response = request
        .header(REQUEST_ID_HEADER, &request_id)
        .send()
        .await
        .map_err(|e| transport_error(url, &e))?;
    let status = response.status().as_u16();
    let peer_certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate().map(<[u8]>::to_vec));
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY_BYTES as u64)
    {
        return Err(SourceError::TooLarge(MAX_BODY_BYTES));
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, &e))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(SourceError::TooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        body,
        latency_ms: started.elapsed().as_millis() as u64,
        request_id,
        peer_certificate,
    })
}

/// Headers from name/value pairs, or a setup error naming the bad one (never its value).
pub fn headers<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<HeaderMap, SourceError> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SourceError::Setup(format!("`{name}` is not a valid header name")))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            SourceError::Setup(format!("the value of header `{name}` is not valid"))
        })?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}

/// One line that says what failed: refused, timed out, DNS, TLS — not reqwest's cause chain.
fn transport_error(url: &str, error: &reqwest::Error) -> SourceError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    // The innermost cause is the one an operator recognises ("Connection refused",
    // "invalid peer certificate: UnknownIssuer", "failed to lookup address").
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    let tls = rustls_error(error);
    if let Some(expired) = tls.and_then(expiry_reason) {
        reason = expired;
    }
    let kind = if error.is_redirect() {
        "redirect refused"
    } else if error.is_timeout() {
        "timed out"
    } else if tls.is_some() {
        "TLS handshake failed"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "broken answer"
    } else {
        "request failed"
    };
    SourceError::Http {
        url: mask_url(url),
        reason: format!("{kind}: {reason}"),
    }
}

/// The TLS failure behind a request error (a plain-HTTP port behind an https URL, an expired
/// or untrusted certificate), which reqwest reports only as a connect error.
fn rustls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(tls) = as_or_wrapping_rustls(current) {
            return Some(tls);
        }
        cause = current.source();
    }
    None
}

/// rustls's error travels inside I/O errors (nested, from the connector), whose `source()`
/// skips it, hence the look through `get_ref`.
pub(super) fn as_or_wrapping_rustls<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .and_then(|inner| as_or_wrapping_rustls(inner))
}

/// An expired certificate in an operator's terms: when, and how long ago (rustls says it in
/// UNIX seconds).
fn expiry_reason(error: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(rustls::CertificateError::ExpiredContext {
        time,
        not_after,
    }) = error
    else {
        return None;
    };
    let expired = DateTime::from_timestamp(i64::try_from(not_after.as_secs()).ok()?, 0)?;
    // To the minute: seconds would make the error change at every poll.
    let minutes_ago = time.as_secs().saturating_sub(not_after.as_secs()) / 60;
    Some(format!(
        "the server's certificate expired on {} ({} ago)",
        expired.format("%Y-%m-%d %H:%M UTC"),
        humantime::format_duration(Duration::from_secs(minutes_ago * 60))
    ))
}
