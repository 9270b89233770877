//! The gateway's housekeeping: keeps its tables from growing forever. [`run`]
//! (a component of [`crate::run`]) calls [`prune_once`] every
//! `GATEWAY_HOUSEKEEPING_INTERVAL_SECS`, sooner (after [`CATCH_UP_PAUSE`]) while a
//! table still has a full batch to delete. Each round deletes, per table, at most
//! `GATEWAY_PRUNE_BATCH` rows in one short statement (rows another transaction
//! holds are skipped, `SKIP LOCKED`, so replicas pruning at once and the request
//! paths never wait on it):
//!
//! - `idempotency_keys` older than `GATEWAY_IDEMPOTENCY_TTL_SECS` (they count as
//!   new already, see [`crate::idempotency`]);
//! - `saga_progress` entries of sagas the gateway has no checkout or generation
//!   for (`NOT owned`, see [`crate::projection`]), stored more than
//!   `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS` ago; entries marked not owned whose
//!   saga does have its row are marked owned instead;
//! - `erased_sagas` older than [`ERASED_SAGAS_RETENTION`] (late messages of an
//!   erased saga are long gone by then).
//!
//! A failing round is logged and counted
//! (`sagaflow_gateway_housekeeping_errors_total`) and the next one comes at the
//! usual time: nothing else waits on housekeeping. Deleted rows are counted in
//! `sagaflow_gateway_pruned_total{table}`.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::Settings;

/// How long a saga of an erased user is remembered (`erased_sagas`).
pub const ERASED_SAGAS_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// The pause between rounds while a table still had a full batch.
pub const CATCH_UP_PAUSE: Duration = Duration::from_secs(1);

/// What to prune and how much at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `GATEWAY_IDEMPOTENCY_TTL_SECS`.
    pub idempotency_ttl: Duration,
    /// `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS`.
    pub orphan_progress_retention: Duration,
    /// [`ERASED_SAGAS_RETENTION`].
    pub erased_sagas_retention: Duration,
    /// `GATEWAY_PRUNE_BATCH`: most rows per table and round.
    pub batch: u32,
    /// `GATEWAY_HOUSEKEEPING_INTERVAL_SECS`.
    pub interval: Duration,
}

impl Policy {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            idempotency_ttl: settings.idempotency_ttl(),
            orphan_progress_retention: settings.orphan_progress_retention(),
            erased_sagas_retention: ERASED_SAGAS_RETENTION,
            batch: settings.prune_batch,
            interval: settings.housekeeping_interval(),
        }
    }
}

/// Rows deleted by one round, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency_keys: u64,
    pub saga_progress: u64,
    pub erased_sagas: u64,
}

impl Pruned {
    /// Whether some table had a full batch (more may be waiting).
    pub fn full(&self, batch: u32) -> bool {
        let batch = u64::from(batch);
        self.idempotency_keys >= batch || self.saga_progress >= batch || self.erased_sagas >= batch
    }
}

/// Prunes until `shutdown`; never fails (a failed round is retried next time).
pub async fn run(pool: PgPool, policy: Policy, shutdown: CancellationToken) -> anyhow::Result<()> {
    loop {
        let pause = match prune_once(&pool, &policy).await {
            Ok(pruned) if pruned.full(policy.batch) => CATCH_UP_PAUSE,
            Ok(_) => policy.interval,
            Err(err) => {
                warn!(error = %err, "gateway housekeeping round failed; retrying next round");
                metrics::counter!("sagaflow_gateway_housekeeping_errors_total").increment(1);
                policy.interval
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// One round: at most `policy.batch` rows of each table.
pub async fn prune_once(pool: &PgPool, policy: &Policy) -> Result<Pruned, sqlx::Error> {
    let batch = i64::from(policy.batch);
    let idempotency_keys = sqlx::query(
        "DELETE FROM idempotency_keys WHERE (tenant_id, user_id, idempotency_key) IN (
             SELECT tenant_id, user_id, idempotency_key FROM idempotency_keys
             WHERE created_at < now() - ($1::float8 * interval '1 second')
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(policy.idempotency_ttl.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    counted("idempotency_keys", idempotency_keys);

    // Entries stored before their saga's row whose adoption was missed: owned.
    let adopted = sqlx::query(
        "UPDATE saga_progress SET owned = true WHERE (saga_id, seq) IN (
             SELECT saga_id, seq FROM saga_progress p
             WHERE NOT owned AND projected_at < now() - ($1::float8 * interval '1 second')
               AND (EXISTS (SELECT 1 FROM checkouts WHERE checkout_id = p.saga_id)
                    OR EXISTS (SELECT 1 FROM generations WHERE generation_id = p.saga_id))
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(policy.orphan_progress_retention.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    if adopted > 0 {
        debug!(adopted, "progress entries of known sagas marked owned");
    }
    let saga_progress = sqlx::query(
        "DELETE FROM saga_progress WHERE (saga_id, seq) IN (
             SELECT saga_id, seq FROM saga_progress p
             WHERE NOT owned AND projected_at < now() - ($1::float8 * interval '1 second')
               AND NOT EXISTS (SELECT 1 FROM checkouts WHERE checkout_id = p.saga_id)
               AND NOT EXISTS (SELECT 1 FROM generations WHERE generation_id = p.saga_id)
             ORDER BY projected_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(policy.orphan_progress_retention.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    counted("saga_progress", saga_progress);

    let erased_sagas = sqlx::query(
        "DELETE FROM erased_sagas WHERE saga_id IN (
             SELECT saga_id FROM erased_sagas
             WHERE erased_at < now() - ($1::float8 * interval '1 second')
             ORDER BY erased_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(policy.erased_sagas_retention.as_secs_f64())
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    counted("erased_sagas", erased_sagas);

    Ok(Pruned {
        idempotency_keys,
        saga_progress,
        erased_sagas,
    })
}

/// Counts `rows` pruned from `table` (also 0, so the series exists from the
/// first round).
fn counted(table: &'static str, rows: u64) {
    metrics::counter!("sagaflow_gateway_pruned_total", "table" => table).increment(rows);
    if rows > 0 {
        debug!(table, rows, "pruned");
    }
}
