//! The transactional outbox: a handler writes its state change and its outgoing
//! messages in one Postgres transaction; [`crate::relay::Relay`] publishes them after
//! commit. A transaction that rolls back leaves nothing to publish.
//!
//! - [`enqueue`]: write messages in the caller's transaction.
//! - [`backlog`], [`parked_count`]: what the relay's gauges report.
//! - [`forget_sent`], [`forget_sent_with_keys`]: erasure of published payloads.
//! - Operator API for *parked* rows (rows the relay gave up on, see
//!   [`crate::relay`]): [`list_parked`] shows them with the reason, [`unpark`] makes
//!   the relay try them again (after fixing the cause: creating the topic, raising
//!   the broker's limit), [`purge_parked`] deletes them for good. Either one releases
//!   the later rows of the same topic and key, which the relay held back meanwhile.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::message::Outgoing;

/// Writes `messages` to the outbox on `conn`, which should be inside the caller's
/// transaction. One statement for the whole batch.
pub async fn enqueue(conn: &mut PgConnection, messages: &[Outgoing]) -> Result<(), sqlx::Error> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = Vec::with_capacity(messages.len());
    let mut topics = Vec::with_capacity(messages.len());
    let mut keys = Vec::with_capacity(messages.len());
    let mut types = Vec::with_capacity(messages.len());
    let mut headers = Vec::with_capacity(messages.len());
    let mut payloads = Vec::with_capacity(messages.len());
    for message in messages {
        ids.push(message.envelope.message_id);
        topics.push(message.topic.clone());
        keys.push(message.key.clone());
        types.push(message.envelope.message_type.clone());
        let map: BTreeMap<String, String> = message
            .envelope
            .to_headers()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        headers.push(Json(map));
        payloads.push(message.payload.clone());
    }
    sqlx::query(
        "INSERT INTO sagaflow_outbox (message_id, topic, partition_key, message_type, headers, payload)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])",
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&keys)
    .bind(&types)
    .bind(&headers)
    .bind(&payloads)
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages written but not yet acknowledged by the broker, parked ones excepted
/// (rows held behind a parked row count: they are waiting).
pub async fn backlog(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL AND parked_at IS NULL",
    )
    .fetch_one(conn)
    .await
}

/// Rows currently parked.
pub async fn parked_count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL",
    )
    .fetch_one(conn)
    .await
}

/// A row the relay parked, as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParkedRow {
    pub id: i64,
    pub topic: String,
    pub partition_key: String,
    /// The message's id (always present in rows written by [`enqueue`]).
    pub message_id: Option<Uuid>,
    /// Failed attempts counted before it was parked.
    pub attempts: i32,
    /// Why it was parked (the producer's or broker's error).
    pub last_error: Option<String>,
    pub parked_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// The oldest `limit` parked rows (by id, the order they would have gone out).
pub async fn list_parked(pool: &PgPool, limit: i64) -> Result<Vec<ParkedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, topic, partition_key, message_id, attempts, last_error, parked_at, created_at
         FROM sagaflow_outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL
         ORDER BY id LIMIT $1",
    )
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
}

/// Makes parked rows `ids` eligible again, with their attempts reset to 0 (their
/// `last_error` stays as history), and wakes the relay. Ids that are not parked are
/// ignored. Returns the rows unparked.
pub async fn unpark(pool: &PgPool, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let unparked = sqlx::query(
        "UPDATE sagaflow_outbox SET parked_at = NULL, attempts = 0
         WHERE id = ANY($1) AND parked_at IS NOT NULL AND sent_at IS NULL",
    )
    .bind(ids)
    .execute(pool)
    .await?
    .rows_affected();
    if unparked > 0 {
        wake_relay(pool).await?;
    }
    Ok(unparked)
}

/// Deletes parked rows `ids` (never a row that is not parked) and wakes the relay,
/// which then publishes the rows held behind them. Returns the rows deleted.
pub async fn purge_parked(pool: &PgPool, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let purged = sqlx::query(
        "DELETE FROM sagaflow_outbox WHERE id = ANY($1) AND parked_at IS NOT NULL AND sent_at IS NULL",
    )
    .bind(ids)
    .execute(pool)
    .await?
    .rows_affected();
    if purged > 0 {
        wake_relay(pool).await?;
    }
    Ok(purged)
}

/// Notifies the channel the relay listens on (it also polls).
async fn wake_relay(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify('sagaflow_outbox', '')")
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes the already-published outbox rows of `saga_ids` in `tenant_id`: an
/// erasure calls it so sent payloads (addresses, CV text, documents) do not outlive
/// the user's data. Rows not yet published stay, so nothing in flight is lost.
/// Returns the rows deleted.
pub async fn forget_sent(
    conn: &mut PgConnection,
    tenant_id: &str,
    saga_ids: &[Uuid],
) -> Result<u64, sqlx::Error> {
    if saga_ids.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = saga_ids.iter().map(Uuid::to_string).collect();
    Ok(sqlx::query(
        "DELETE FROM sagaflow_outbox
         WHERE sent_at IS NOT NULL AND headers->>'tenant-id' = $1 AND headers->>'saga-id' = ANY($2)",
    )
    .bind(tenant_id)
    .bind(&ids)
    .execute(conn)
    .await?
    .rows_affected())
}

/// [`forget_sent`] for rows keyed by one of `keys` (messages outside sagas, such
/// as an aggregate's events keyed by its id).
pub async fn forget_sent_with_keys(
    conn: &mut PgConnection,
    tenant_id: &str,
    keys: &[String],
) -> Result<u64, sqlx::Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(
        "DELETE FROM sagaflow_outbox
         WHERE sent_at IS NOT NULL AND headers->>'tenant-id' = $1 AND partition_key = ANY($2)",
    )
    .bind(tenant_id)
    .bind(keys)
    .execute(conn)
    .await?
    .rows_affected())
}
