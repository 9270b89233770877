//! Erasing a user's personal data from the saga log (issue #11).
//!
//! [`erase`] redacts every saga of a (tenant, user): the `started` input, replies,
//! reasons and the snapshot's input, results and failure lose their free text
//! (every string but ids, times, SKUs and the closed sets the engine needs; see
//! `sagaflow_redact` in `migrations/2_erasure.sql`), keeping the structure, so the
//! log still replays and operators still see what happened. The user id itself
//! stays in the input: it is the key of the saga, not data about the person.
//!
//! It also records the tombstone (`saga_erasures`, the user named by a hash) and
//! the sagas in `erased_sagas`; the database's triggers then redact whatever is
//! written later: a late reply appended to an erased saga, a new snapshot, and a
//! saga of the user that started before the erasure but is created after it. The
//! already-sent outbox messages of those sagas (their payloads are the commands
//! with the personal data) are deleted; unsent ones still go out.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Error;

/// What replaces a redacted string.
pub const REDACTED: &str = "[erased]";

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// The user's sagas, now redacted.
    pub sagas: Vec<Uuid>,
    /// Log entries rewritten.
    pub events: u64,
    /// Sent outbox messages deleted.
    pub outbox: u64,
}

/// Redacts the saga log of `user_id` in `tenant_id`, in the caller's transaction,
/// and records the tombstone (`erased_at` kept at the latest of repeated
/// erasures). Sagas of another tenant, or of another user, are untouched.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erased_at: DateTime<Utc>,
    erasure_id: Option<Uuid>,
) -> Result<Erased, Error> {
    // Serialised with the creation of the user's sagas (migration 3): a saga
    // started concurrently is either seen below or redacted as it is created.
    sqlx::query("SELECT pg_advisory_xact_lock(sagaflow_erasure_lock_key($1, $2))")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO saga_erasures (tenant_id, subject, erased_at, erasure_id)
         VALUES ($1, sagaflow_subject($1, $2), $3, $4)
         ON CONFLICT (tenant_id, subject) DO UPDATE SET
             erased_at = GREATEST(saga_erasures.erased_at, $3),
             erasure_id = COALESCE($4, saga_erasures.erasure_id)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(erased_at)
    .bind(erasure_id)
    .execute(&mut *conn)
    .await?;
    // Lock the user's sagas against the driver while their log is rewritten.
    let sagas: Vec<Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM sagas
         WHERE tenant_id = $1 AND state->'data'->'input'->>'user_id' = $2
         ORDER BY saga_id FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO erased_sagas (saga_id) SELECT unnest($1::UUID[]) ON CONFLICT DO NOTHING",
    )
    .bind(&sagas)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE sagas SET state = sagaflow_redact_state(state) WHERE saga_id = ANY($1)")
        .bind(&sagas)
        .execute(&mut *conn)
        .await?;
    let events = sqlx::query(
        "UPDATE saga_events SET event = sagaflow_redact_event(event) WHERE saga_id = ANY($1)",
    )
    .bind(&sagas)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let outbox = sagaflow_bus::outbox::forget_sent(conn, tenant_id, &sagas).await?;
    metrics::counter!("sagaflow_saga_erasures_total").increment(1);
    Ok(Erased {
        sagas,
        events,
        outbox,
    })
}
