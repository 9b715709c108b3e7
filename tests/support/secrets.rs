//! What the secret tests share: an operator's TOTP secret and its codes, and the search of
//! everything ondeck wrote for a secret.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, TOTP};

/// An authenticator's secret, base32 (RFC 4648, no padding), as an app shows it.
pub const SECRET_BASE32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// The code of [`SECRET_BASE32`] for the step `steps_from_now` away.
pub fn code(steps_from_now: i64) -> String {
    let secret = totp_rs::Secret::Encoded(SECRET_BASE32.to_owned())
        .to_bytes()
        .unwrap();
    let totp = TOTP::new(Algorithm::SHA1, 6, 0, 30, secret).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now.checked_add_signed(steps_from_now * 30).unwrap())
}

/// Whether `text` holds `code` as a word of its own: Unix milliseconds and hashes are digits
/// too, so a code is looked for where it would be written as one.
pub fn holds_as_word(text: &str, code: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|word| word == code)
}

/// Every file under `dir`, however deep.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Each file under `dir` that holds one of `secrets`, with the secret it holds.
pub fn files_holding(dir: &Path, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in files_under(dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in secrets {
            if text.contains(secret) {
                found.push(format!("{} holds {secret}", path.display()));
            }
        }
    }
    found
}
