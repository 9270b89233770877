//! Driving the handler through the real inbox transaction, and reading its replies
//! back from the outbox.
#![allow(dead_code)]

use sagaflow_bus::{Backoff, Incoming, Outcome, Outgoing};
use sagaflow_events::Contract;
use sagaflow_inventory::{InventoryHandler, NAME};
use sqlx::PgPool;
use uuid::Uuid;

/// A command as the consumer would see it after Kafka.
pub fn incoming<T: Contract>(saga_id: Uuid, body: &T) -> Incoming {
    let out = Outgoing::new("tenant-a", Some(saga_id), saga_id.to_string(), body).expect("encodes");
    Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    }
}

pub async fn db() -> anyhow::Result<sagaflow_test_support::TestDb> {
    let db = sagaflow_test_support::TestDb::create("inv").await?;
    sagaflow_inventory::migrate(&db.pool).await?;
    Ok(db)
}

/// Handles `message` through the inbox and returns the reply it caused:
/// (message type, payload).
pub async fn send(
    pool: &PgPool,
    handler: &InventoryHandler,
    message: &Incoming,
) -> anyhow::Result<(String, Vec<u8>)> {
    let outcome =
        sagaflow_bus::inbox::process(pool, handler, NAME, message, Backoff::default()).await;
    anyhow::ensure!(outcome == Outcome::Handled, "{outcome:?}");
    let (message_type, payload, saga): (String, Vec<u8>, Option<String>) = sqlx::query_as(
        "SELECT message_type, payload, headers->>'saga-id' FROM sagaflow_outbox WHERE headers->>'causation-id' = $1",
    )
    .bind(message.envelope.message_id.to_string())
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        saga == message.envelope.saga_id.map(|s| s.to_string()),
        "reply keeps the saga id"
    );
    Ok((message_type, payload))
}

/// Decodes a reply that must be of type `T`.
pub fn expect<T: Contract>(reply: &(String, Vec<u8>)) -> T {
    assert_eq!(reply.0, T::MESSAGE_TYPE, "unexpected reply");
    sagaflow_events::decode(&reply.1).expect("decodes")
}
