//! The check after a rollback or a restore (SPEC, safety rule 9): the configured URL must
//! answer the expected status within the time allowed, or the job fails.

use std::time::Duration;

use tokio::time::Instant;

use super::engine::HEALTH_FAILED;
use crate::config::HealthCheck;
use crate::config::secret::mask_url;
use crate::sources::fetch::{REQUEST_ID_HEADER, Redirects, shared_client};

/// The time between two tries, and the most one try may take.
const RETRY_EVERY: Duration = Duration::from_secs(1);
const TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a health check did not pass; the message starts with [`HEALTH_FAILED`].
#[derive(Debug, thiserror::Error)]
#[error("{HEALTH_FAILED}: {0}")]
pub struct HealthFailed(String);

/// Tries `check` until it passes or its `within` is over, sending the action's request id with
/// each try so the server's logs show them. `progress` hears of each failed try.
pub async fn wait_healthy(
    check: &HealthCheck,
    request_id: &str,
    progress: impl Fn(String),
) -> Result<(), HealthFailed> {
    let url = mask_url(&check.url);
    let client = shared_client(Redirects::for_urls([check.url.as_str()]))
        .map_err(|e| HealthFailed(e.to_string()))?;
    let deadline = Instant::now() + check.within;
    loop {
        let attempt = client
            .get(&check.url)
            .header(REQUEST_ID_HEADER, request_id)
            .timeout(TRY_TIMEOUT.min(deadline.saturating_duration_since(Instant::now())))
            .send()
            .await;
        let last = match attempt {
            Ok(response) if response.status().as_u16() == check.expect_status => {
                progress(format!("health: {url} answered {}", check.expect_status));
                return Ok(());
            }
            Ok(response) => format!(
                "{url} answered {}, expected {}",
                response.status().as_u16(),
                check.expect_status
            ),
            Err(error) => format!("{url}: {}", error.without_url()),
        };
        progress(format!("health: {last}"));
        if Instant::now() + RETRY_EVERY >= deadline {
            return Err(HealthFailed(format!(
                "{last}, after {} of tries",
                humantime::format_duration(check.within)
            )));
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}
