//! Driving a handler through the real inbox transaction, and reading its replies
//! back from the outbox.
#![allow(dead_code)]

use sagaflow_bus::{Backoff, Handler, Incoming, Outcome, Outgoing};
use sagaflow_events::Contract;
use sqlx::PgPool;
use uuid::Uuid;

/// A command as the consumer would see it after Kafka.
pub fn incoming<T: Contract>(saga_id: Option<Uuid>, body: &T) -> Incoming {
    let key = saga_id.map(|s| s.to_string()).unwrap_or_default();
    let out = Outgoing::new("tenant-a", saga_id, key, body).expect("encodes");
    Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    }
}

/// A reply read back from the outbox.
#[derive(Debug, Clone)]
pub struct Reply {
    pub message_type: String,
    pub payload: Vec<u8>,
}

impl Reply {
    /// Decodes a reply that must be of type `T`.
    pub fn expect<T: Contract>(&self) -> T {
        assert_eq!(self.message_type, T::MESSAGE_TYPE, "unexpected reply");
        sagaflow_events::decode(&self.payload).expect("decodes")
    }
}

/// message type, payload, saga-id header, correlation-id header.
type ReplyRow = (String, Vec<u8>, Option<String>, Option<String>);

/// Handles `message` through the inbox as consumer `name` and returns the one reply
/// it caused (checked to carry the command's saga, correlation and causation).
pub async fn send<H: Handler>(
    pool: &PgPool,
    handler: &H,
    name: &str,
    message: &Incoming,
) -> anyhow::Result<Reply> {
    let outcome =
        sagaflow_bus::inbox::process(pool, handler, name, message, Backoff::default()).await;
    anyhow::ensure!(outcome == Outcome::Handled, "{outcome:?}");
    let rows: Vec<ReplyRow> = sqlx::query_as(
        "SELECT message_type, payload, headers->>'saga-id', headers->>'correlation-id'
         FROM sagaflow_outbox WHERE headers->>'causation-id' = $1",
    )
    .bind(message.envelope.message_id.to_string())
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(rows.len() == 1, "expected one reply, got {}", rows.len());
    let (message_type, payload, saga, correlation) = rows.into_iter().next().expect("one row");
    anyhow::ensure!(
        saga == message.envelope.saga_id.map(|s| s.to_string()),
        "reply keeps the saga id"
    );
    anyhow::ensure!(
        correlation == Some(message.envelope.correlation_id.to_string()),
        "reply keeps the correlation id"
    );
    Ok(Reply {
        message_type,
        payload,
    })
}
