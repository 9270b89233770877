//! The timer loop: fires due saga timers from the database (they survive
//! restarts; any replica may fire them).

use std::sync::Arc;
use std::time::Duration;

use sagaflow_saga_store::{Definitions, timeouts};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::warn;

pub async fn run(
    pool: PgPool,
    definitions: Arc<Definitions>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let pause = match timeouts::fire_due(&pool, &definitions, 500).await {
            Ok(n) if n > 0 => Duration::ZERO,
            Ok(_) => poll,
            Err(err) => {
                warn!(error = %err, "firing saga timers");
                poll.max(Duration::from_millis(500))
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
