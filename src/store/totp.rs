//! The TOTP codes taken: the last step each operator used and their wrong codes in a row
//! (`totp_use`). Checked and recorded in one transaction holding the store's write lock, so
//! that two consoles given the same code at once take it once between them.

use std::time::Duration;

use super::{Backend, Store, StoreError, on_pool};

/// Wrong codes in a row that cost nothing: typos happen.
pub const FREE_TOTP_FAILURES: i64 = 4;
/// The wait after the first wrong code past the free ones; it doubles with each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const LONGEST_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// What the store made of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpVerdict {
    /// Right, and newer than any code taken before: taken now.
    Accepted,
    /// Right, but its step (or a later one) was used already.
    Replayed,
    /// Not a code of the operator's secret at this time.
    Wrong,
    /// Too many wrong codes: none is checked for this long.
    Blocked(Duration),
}

/// How long no code is checked after `failures` wrong ones in a row.
fn backoff(failures: i64) -> Duration {
    let past_free = failures - FREE_TOTP_FAILURES;
    if past_free < 1 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(past_free - 1).unwrap_or(u32::MAX).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(LONGEST_BACKOFF)
}

impl Store {
    /// Takes a code of `operator`'s that matched `matched` (its RFC 6238 step; `None` for a
    /// wrong code) at `now_ms`: accepted once per step and only for a step newer than the last
    /// one taken, and never while wrong codes hold the operator back.
    pub async fn take_totp(
        &self,
        operator: &str,
        matched: Option<i64>,
        now_ms: i64,
    ) -> Result<TotpVerdict, StoreError> {
        let begin = self.dialect().begin_write;
        let select = match self.backend {
            Backend::Sqlite(_) => {
                "SELECT last_step, failures, blocked_until FROM totp_use WHERE operator = $1"
            }
            Backend::Postgres(_) => {
                "SELECT last_step, failures, blocked_until FROM totp_use WHERE operator = $1 \
                 FOR UPDATE"
            }
        };
        on_pool!(self, pool => {
            async {
                let mut tx = pool.begin_with(begin).await?;
                sqlx::query(
                    "INSERT INTO totp_use (operator) VALUES ($1) ON CONFLICT (operator) DO NOTHING",
                )
                .bind(operator)
                .execute(&mut *tx)
                .await?;
                let (last_step, failures, blocked_until): (Option<i64>, i64, i64) =
                    sqlx::query_as(select).bind(operator).fetch_one(&mut *tx).await?;
                if blocked_until > now_ms {
                    tx.commit().await?;
                    let wait = u64::try_from(blocked_until - now_ms).unwrap_or(0);
                    return Ok(TotpVerdict::Blocked(Duration::from_millis(wait)));
                }
                let verdict = match matched {
                    Some(step) if last_step.is_none_or(|last| step > last) => {
                        TotpVerdict::Accepted
                    }
                    Some(_) => TotpVerdict::Replayed,
                    None => TotpVerdict::Wrong,
                };
                if verdict == TotpVerdict::Accepted {
                    sqlx::query(
                        "UPDATE totp_use SET last_step = $2, failures = 0, blocked_until = 0 \
                         WHERE operator = $1",
                    )
                    .bind(operator)
                    .bind(matched)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    let failures = failures.saturating_add(1);
                    let wait = i64::try_from(backoff(failures).as_millis()).unwrap_or(i64::MAX);
                    sqlx::query(
                        "UPDATE totp_use SET failures = $2, blocked_until = $3 \
                         WHERE operator = $1",
                    )
                    .bind(operator)
                    .bind(failures)
                    .bind(now_ms.saturating_add(wait))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(verdict)
            }
            .await
        })
        .map_err(|e: sqlx::Error| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_codes_past_the_free_ones_back_off_doubling_up_to_a_limit() {
        let waits: Vec<u64> = (0..=8).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 0, 0, 30, 60, 120, 240]);
        assert_eq!(backoff(40), LONGEST_BACKOFF);
        assert_eq!(backoff(i64::MAX), LONGEST_BACKOFF);
    }
}
