//! The timer loop of the plan sagas: step deadlines and retry backoffs are rows
//! of the store's `saga_timeouts` table, so they survive restarts. A due timer is
//! claimed (`FOR UPDATE SKIP LOCKED`) and applied through [`crate::execute`] in one
//! transaction, so what it causes is audited like any other input.

use std::sync::Arc;
use std::time::Duration;

use sagaflow_saga_engine::{Input, Phase};
use sagaflow_saga_store::Definitions;
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use crate::error::Error;
use crate::execute;

/// Fires up to `limit` due timers, each in its own transaction; returns how many.
pub async fn fire_due(
    pool: &PgPool,
    definitions: &Definitions,
    limit: usize,
) -> Result<usize, Error> {
    let mut fired = 0;
    while fired < limit {
        let mut tx = pool.begin().await?;
        let row = sqlx::query(
            "DELETE FROM saga_timeouts WHERE (saga_id, step, phase, attempt) = (
                 SELECT saga_id, step, phase, attempt FROM saga_timeouts
                 WHERE fire_at <= now() ORDER BY fire_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING saga_id, step, phase, attempt",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { break };
        let saga_id: Uuid = row.try_get("saga_id")?;
        let step: i32 = row.try_get("step")?;
        let phase = match row.try_get::<String, _>("phase")?.as_str() {
            "forward" => Phase::Forward,
            "compensation" => Phase::Compensation,
            other => {
                return Err(Error::corrupt(saga_id, format!("timer with phase {other}")));
            }
        };
        let attempt: i32 = row.try_get("attempt")?;
        let input = Input::Timeout {
            step: step as usize,
            phase,
            attempt: attempt as u32,
        };
        // A timer the saga no longer expects decides nothing and is simply consumed.
        execute::apply(&mut tx, definitions, saga_id, &input).await?;
        tx.commit().await?;
        fired += 1;
    }
    Ok(fired)
}

/// Fires due timers until `shutdown`, polling every `poll` when none was due.
pub async fn run(
    pool: PgPool,
    definitions: Arc<Definitions>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let pause = match fire_due(&pool, &definitions, 500).await {
            Ok(n) if n > 0 => Duration::ZERO,
            Ok(_) => poll,
            Err(err) => {
                warn!(error = %err, "firing plan timers");
                poll.max(Duration::from_millis(500))
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
