//! Why a poll failed, as the Sources view shows it.

use std::time::Duration;

/// Why one poll of one source failed. The `Display` form is what the Sources view shows, so it
/// is one short line that says what went wrong, not a chain of causes.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The blocking worker that reads the machine died (a panic inside a system call wrapper).
    #[error("reading {what} failed: {reason}")]
    Worker { what: &'static str, reason: String },
    /// The request never got an answer (refused, timed out, DNS, TLS).
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    /// An answer that says something is wrong, with the start of its body.
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    /// An answer that is not what the API documents (bad or truncated JSON, missing fields).
    #[error("unexpected {what}: {reason}")]
    BadResponse { what: String, reason: String },
    /// A database could not be reached or refused the session; `target` is the URL with its
    /// password masked.
    #[error("{target}: {reason}")]
    Database { target: String, reason: String },
    #[error("answer larger than {} MiB, not read", .0 / (1024 * 1024))]
    TooLarge(usize),
    /// Reading a local file or running a local command failed (`what` says which).
    #[error("{what}: {reason}")]
    Read { what: String, reason: String },
    /// The poller could not be set up from its configuration (bad header, unreadable secret).
    #[error("{0}")]
    Setup(String),
}
