//! Test kit (feature `testing`): drive a [`Handler`] through the real inbox
//! transaction without Kafka, and read back the reply it wrote to the outbox; or
//! [`produce`] a message to a real broker as a relay would.

use sqlx::PgPool;
use uuid::Uuid;

use sagaflow_events::Contract;

use crate::failure::Backoff;
use crate::inbox::{Handler, Outcome, process};
use crate::message::{Incoming, Outgoing};

/// A command as a consumer sees it after Kafka (tenant `tenant-a`, keyed by the saga).
pub fn incoming<T: Contract>(saga_id: Option<Uuid>, body: &T) -> Incoming {
    let key = saga_id.map(|s| s.to_string()).unwrap_or_default();
    let out = Outgoing::new("tenant-a", saga_id, key, body).expect("the body encodes");
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
    /// Decodes a reply that must be of type `T` (panics otherwise: test code).
    pub fn expect<T: Contract>(&self) -> T {
        assert_eq!(self.message_type, T::MESSAGE_TYPE, "unexpected reply");
        sagaflow_events::decode(&self.payload).expect("the reply decodes")
    }
}

/// Why [`send`] did not produce the expected reply.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(String);

/// message type, payload, saga-id header, correlation-id header.
type ReplyRow = (String, Vec<u8>, Option<String>, Option<String>);

/// Handles `message` through the inbox as consumer `name` and returns the one reply
/// it caused, checked to carry the command's saga and correlation ids.
pub async fn send<H: Handler>(
    pool: &PgPool,
    handler: &H,
    name: &str,
    message: &Incoming,
) -> Result<Reply, SendError> {
    let outcome = process(pool, handler, name, message, Backoff::default()).await;
    if outcome != Outcome::Handled {
        return Err(SendError(format!("{outcome:?}")));
    }
    let rows: Vec<ReplyRow> = sqlx::query_as(
        "SELECT message_type, payload, headers->>'saga-id', headers->>'correlation-id'
         FROM sagaflow_outbox WHERE headers->>'causation-id' = $1",
    )
    .bind(message.envelope.message_id.to_string())
    .fetch_all(pool)
    .await
    .map_err(|e| SendError(e.to_string()))?;
    let [(message_type, payload, saga, correlation)]: [ReplyRow; 1] =
        rows.try_into().map_err(|rows: Vec<ReplyRow>| {
            SendError(format!("expected one reply, got {}", rows.len()))
        })?;
    if saga != message.envelope.saga_id.map(|s| s.to_string()) {
        return Err(SendError("the reply lost the saga id".into()));
    }
    if correlation != Some(message.envelope.correlation_id.to_string()) {
        return Err(SendError("the reply lost the correlation id".into()));
    }
    Ok(Reply {
        message_type,
        payload,
    })
}

/// Produces `out` as a service's relay would (its topic, key, payload and envelope
/// headers), for tests that feed a consumer through a real broker.
pub async fn produce(
    producer: &rdkafka::producer::FutureProducer,
    out: &Outgoing,
) -> Result<(), rdkafka::error::KafkaError> {
    out.publish(producer, std::time::Duration::from_secs(10))
        .await
}
