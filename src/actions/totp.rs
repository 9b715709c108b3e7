//! The `totp` confirmation: an RFC 6238 code (SHA-1, 6 digits, 30 s steps, one step either
//! way for clocks that drift) from the operator's authenticator, checked against their
//! `[[operator]] totp_secret` and taken once ([`Store::take_totp`]). The code is never logged
//! or stored; only the step it matched is.

use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use super::engine::Engine;
use crate::config::Secret;
use crate::secret_text::SecretText;
use crate::store::{StoreError, TotpVerdict};

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;

/// The step of `unix_seconds` (one before or after, for a clock a little off) whose code is
/// `code`, if any.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // No skew of its own: each step is tried here, so that the one that matched is known.
    let totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, secret.to_vec());
    let now = unix_seconds / STEP_SECONDS;
    [now.saturating_sub(1), now, now.saturating_add(1)]
        .into_iter()
        .find(|step| totp.check(code, step.saturating_mul(STEP_SECONDS)))
}

/// Checks `code` for the operator `engine` acts as; `Err` says why it is refused, as the
/// operator and the audit read it.
pub async fn check(
    engine: &Engine,
    secret: Option<&Secret>,
    code: &SecretText,
) -> Result<(), String> {
    let account = &engine.identity.os_user;
    let Some(secret) = secret else {
        return Err(format!(
            "no TOTP secret is configured for the OS account {account}: add an [[operator]] with \
             name = \"{account}\" and totp_secret = \"env:…\""
        ));
    };
    let encoded = Zeroizing::new(
        secret
            .resolve()
            .map_err(|e| format!("the TOTP secret of {account} cannot be read: {e}"))?,
    );
    let bytes = Zeroizing::new(
        totp_rs::Secret::Encoded(encoded.trim().replace(' ', "").to_uppercase())
            .to_bytes()
            .map_err(|_| format!("the TOTP secret of {account} ({secret}) is not base32"))?,
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970: TOTP codes cannot be checked".to_owned())?;
    let matched = matching_step(&bytes, code.expose().trim(), now.as_secs())
        .and_then(|step| i64::try_from(step).ok());
    let now_ms = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    let verdict = engine
        .store
        .take_totp(account, matched, now_ms)
        .await
        .map_err(|e: StoreError| format!("the TOTP code could not be checked: {e}"))?;
    match verdict {
        TotpVerdict::Accepted => Ok(()),
        TotpVerdict::Replayed => {
            Err("that TOTP code was used already: wait for the next one".to_owned())
        }
        TotpVerdict::Wrong => Err("wrong TOTP code".to_owned()),
        TotpVerdict::Blocked(wait) => Err(format!(
            "too many wrong TOTP codes: no code is checked for another {}s",
            wait.as_secs().max(1)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret and the 8-digit codes, of which a 6-digit code is
    /// the last six digits.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_vectors_match_their_step_and_its_neighbours_only() {
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            let step = time / STEP_SECONDS;
            assert_eq!(matching_step(RFC_SECRET, code, time), Some(step), "{time}");
            assert_eq!(
                matching_step(RFC_SECRET, code, time + STEP_SECONDS),
                Some(step),
                "a step late"
            );
            assert_eq!(
                matching_step(RFC_SECRET, code, time - STEP_SECONDS),
                Some(step),
                "a step early"
            );
            assert_eq!(
                matching_step(RFC_SECRET, code, time + 2 * STEP_SECONDS),
                None,
                "two steps late"
            );
        }
        assert_eq!(matching_step(RFC_SECRET, "28708", 59), None);
        assert_eq!(matching_step(RFC_SECRET, "28708x", 59), None);
        assert_eq!(matching_step(RFC_SECRET, "", 59), None);
    }
}
