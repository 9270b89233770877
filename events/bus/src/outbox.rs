//! The transactional outbox: a handler writes its state change and its outgoing
//! messages in one Postgres transaction; [`crate::relay::Relay`] publishes them after
//! commit. A transaction that rolls back leaves nothing to publish.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use sqlx::types::Json;
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

/// Messages written but not yet acknowledged by the broker.
pub async fn backlog(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
        .fetch_one(conn)
        .await
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
