//! Parked timers: timers whose firing failed for good, kept with when and why
//! until an operator has mended the cause (deployed the missing definition
//! version, repaired the saga) and unparks them. See [`super`] for when a timer
//! is parked.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

use super::TimerKey;
use crate::error::Error;

/// A parked timer as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ParkedTimer {
    pub saga_id: Uuid,
    pub step: i32,
    pub phase: String,
    pub attempt: i32,
    pub fire_at: DateTime<Utc>,
    pub parked_at: DateTime<Utc>,
    /// `corrupt`, `unknown_definition`, `encode`, `not_found`, `database`.
    pub reason_kind: String,
    pub reason: String,
    /// The saga's definition, version and tenant (`None` if the saga is gone).
    pub definition: Option<String>,
    pub version: Option<i32>,
    pub tenant_id: Option<String>,
}

/// Parks `timer` because of `err`, in the caller's transaction (which holds the
/// saga's lock, if the saga exists). False if it was gone or parked already.
pub(super) async fn park(
    conn: &mut PgConnection,
    timer: &TimerKey,
    err: &Error,
) -> Result<bool, Error> {
    let reason = err.to_string();
    let parked = sqlx::query(
        "UPDATE saga_timeouts SET parked_at = now(), reason_kind = $5, reason = $6
         WHERE saga_id = $1 AND step = $2 AND phase = $3 AND attempt = $4 AND parked_at IS NULL",
    )
    .bind(timer.saga_id)
    .bind(timer.step)
    .bind(&timer.phase)
    .bind(timer.attempt)
    .bind(err.kind())
    .bind(&reason)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if parked {
        tracing::warn!(
            saga_id = %timer.saga_id,
            step = timer.step,
            phase = %timer.phase,
            attempt = timer.attempt,
            reason_kind = err.kind(),
            %reason,
            "saga timer parked; unpark it once the cause is fixed"
        );
        metrics::counter!("sagaflow_timers_parked_total", "reason_kind" => err.kind()).increment(1);
    }
    Ok(parked)
}

/// Parked timers, oldest parking first, at most `limit` (1..=1000); only those
/// of sagas of `tenant_id` if given.
pub async fn list_parked(
    conn: &mut PgConnection,
    tenant_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ParkedTimer>, Error> {
    let rows = sqlx::query(
        "SELECT t.saga_id, t.step, t.phase, t.attempt, t.fire_at, t.parked_at, t.reason_kind,
                t.reason, s.definition, s.version, s.tenant_id
         FROM saga_timeouts t LEFT JOIN sagas s ON s.saga_id = t.saga_id
         WHERE t.parked_at IS NOT NULL AND ($1::text IS NULL OR s.tenant_id = $1)
         ORDER BY t.parked_at, t.saga_id, t.step, t.attempt
         LIMIT $2",
    )
    .bind(tenant_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ParkedTimer {
                saga_id: row.try_get("saga_id")?,
                step: row.try_get("step")?,
                phase: row.try_get("phase")?,
                attempt: row.try_get("attempt")?,
                fire_at: row.try_get("fire_at")?,
                parked_at: row.try_get("parked_at")?,
                reason_kind: row.try_get("reason_kind")?,
                reason: row.try_get("reason")?,
                definition: row.try_get("definition")?,
                version: row.try_get("version")?,
                tenant_id: row.try_get("tenant_id")?,
            })
        })
        .collect()
}

/// Puts the saga's parked timers back on the due list (they are past due, so the
/// next round fires them); returns how many. Locks the saga row first (the lock
/// order in [`super`]); call it in a transaction.
pub async fn unpark(conn: &mut PgConnection, saga_id: Uuid) -> Result<u64, Error> {
    sqlx::query("SELECT 1 FROM sagas WHERE saga_id = $1 FOR UPDATE")
        .bind(saga_id)
        .fetch_optional(&mut *conn)
        .await?;
    let unparked = sqlx::query(
        "UPDATE saga_timeouts SET parked_at = NULL, reason_kind = NULL, reason = NULL
         WHERE saga_id = $1 AND parked_at IS NOT NULL",
    )
    .bind(saga_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if unparked > 0 {
        tracing::info!(%saga_id, unparked, "saga timers unparked");
    }
    Ok(unparked)
}

/// Sets the gauge `sagaflow_timers_parked` to the number of parked timers, and
/// returns it.
pub async fn report_parked<'e>(executor: impl PgExecutor<'e>) -> Result<i64, Error> {
    let parked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM saga_timeouts WHERE parked_at IS NOT NULL")
            .fetch_one(executor)
            .await?;
    metrics::gauge!("sagaflow_timers_parked").set(parked as f64);
    Ok(parked)
}
