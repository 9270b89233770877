//! Keeps `order_aftersales` from growing with rows that only guard a saga:
//! refused commands and tombstones (a compensation that came first). Those answer
//! redeliveries and late commands of their saga, which come within the inbox's
//! dedup window (7 days) and a saga's life; [`run`] (a part of
//! [`crate::run`]) deletes them once they are older than [`RETENTION`], at most
//! [`BATCH`] a round, every [`INTERVAL`] (sooner while a round was full). The
//! cancellation and refund rows are the order's history (the read API shows
//! them) and stay with the order. Deleted rows are counted in
//! `sagaflow_order_pruned_total`.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Age after which a refused or tombstone row is deleted.
pub const RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// Pause between rounds.
pub const INTERVAL: Duration = Duration::from_secs(3_600);
/// Most rows deleted in one round.
pub const BATCH: i64 = 1_000;

/// Deletes up to `batch` refused or tombstone rows older than `retention`;
/// returns how many went. Rows another transaction holds are skipped.
pub async fn prune_once(
    pool: &PgPool,
    retention: Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM order_aftersales WHERE saga_id IN (
             SELECT saga_id FROM order_aftersales
             WHERE status IN ('refused', 'tombstone')
               AND updated_at < now() - make_interval(secs => $1)
             ORDER BY updated_at LIMIT $2
             FOR UPDATE SKIP LOCKED)",
    )
    .bind(retention.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    metrics::counter!("sagaflow_order_pruned_total").increment(deleted);
    Ok(deleted)
}

/// Prunes every [`INTERVAL`] until `shutdown`; a failed round is logged and the
/// next one comes at the usual time.
pub async fn run(pool: PgPool, shutdown: CancellationToken) {
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = match prune_once(&pool, RETENTION, BATCH).await {
            Ok(deleted) if deleted >= BATCH.unsigned_abs() => Duration::from_secs(1),
            Ok(_) => INTERVAL,
            Err(err) => {
                tracing::warn!(error = %err, "order housekeeping round failed");
                INTERVAL
            }
        };
    }
}
