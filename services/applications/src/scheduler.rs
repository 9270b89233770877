//! The reminder scheduler: every `APPLICATIONS_REMINDER_POLL_MS` it fires the
//! reminders that are due ([`store::reminders::fire_due`]: outbox message and status
//! in one transaction, so a crash before the commit fires them on the next start and
//! a crash after it has the relay deliver them), and once an hour prunes those done
//! for longer than `APPLICATIONS_REMINDER_RETENTION_DAYS`. Reminders live in
//! PostgreSQL, so they survive restarts; several replicas share the work (`SKIP
//! LOCKED`). A failed round is logged and retried on the next tick.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store;

/// Most reminders fired in one transaction.
pub const BATCH: i64 = 100;
/// How often done reminders are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs until `shutdown`.
pub async fn run(
    pool: PgPool,
    poll: Duration,
    retention: chrono::Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        loop {
            match store::reminders::fire_due(&pool, Utc::now(), BATCH).await {
                Ok(tally) if tally.sent + tally.parked == BATCH as usize => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "firing due reminders failed; retrying next tick");
                    break;
                }
            }
        }
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            match store::reminders::prune(&pool, Utc::now() - retention).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned done reminders"),
                Err(err) => tracing::warn!(error = %err, "pruning reminders failed"),
            }
        }
    }
}
