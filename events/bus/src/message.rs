//! A message as a handler sees it ([`Incoming`]) and as it writes one to the outbox
//! ([`Outgoing`]).

use sagaflow_events::{Contract, Envelope};
use uuid::Uuid;

use crate::failure::Failure;
use crate::traceparent::TraceParent;

/// A consumed message: its envelope (from the headers), its Kafka coordinates and
/// its framed Avro payload.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub envelope: Envelope,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
}

impl Incoming {
    /// Decodes the payload as `T`; a mismatch is poison (it will never decode).
    pub fn decode<T: Contract>(&self) -> Result<T, Failure> {
        if self.envelope.message_type != T::MESSAGE_TYPE {
            return Err(Failure::Poison(format!(
                "expected {} but the message-type header says {}",
                T::MESSAGE_TYPE,
                self.envelope.message_type
            )));
        }
        Ok(sagaflow_events::decode::<T>(&self.payload)?)
    }

    pub fn message_type(&self) -> &str {
        &self.envelope.message_type
    }
}

/// A message to publish: written to the outbox in the handler's transaction and
/// sent by the relay after commit.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: Envelope,
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// A new message that starts its own causal chain (e.g. a gateway request).
    pub fn new<T: Contract>(
        tenant_id: &str,
        saga_id: Option<Uuid>,
        key: impl Into<String>,
        body: &T,
    ) -> Result<Self, sagaflow_events::Error> {
        let mut envelope = Envelope::new(T::MESSAGE_TYPE, tenant_id);
        envelope.saga_id = saga_id;
        let trace = TraceParent::current().unwrap_or_else(TraceParent::new_root);
        envelope.traceparent = Some(trace.to_string());
        Ok(Self {
            envelope,
            topic: T::TOPIC.to_owned(),
            key: key.into(),
            payload: sagaflow_events::encode(body)?,
        })
    }

    /// A message caused by `cause` (a reply or a follow-up command): same saga,
    /// tenant and correlation id, `causation-id` = the cause's message id, and a child
    /// span of the cause's trace. Keyed by the saga id when there is one.
    pub fn caused_by<T: Contract>(
        cause: &Envelope,
        body: &T,
    ) -> Result<Self, sagaflow_events::Error> {
        let payload = sagaflow_events::encode(body)?;
        Ok(Self::caused_by_raw(
            cause,
            T::MESSAGE_TYPE,
            T::TOPIC,
            payload,
        ))
    }

    /// Like [`Outgoing::caused_by`] for an already encoded payload.
    pub fn caused_by_raw(
        cause: &Envelope,
        message_type: &str,
        topic: &str,
        payload: Vec<u8>,
    ) -> Self {
        let mut envelope = Envelope::reply_to(message_type, cause);
        envelope.traceparent = Some(child_trace(cause.traceparent.as_deref()).to_string());
        let key = cause
            .saga_id
            .map(|id| id.to_string())
            .unwrap_or_else(|| cause.correlation_id.to_string());
        Self {
            envelope,
            topic: topic.to_owned(),
            key,
            payload,
        }
    }
}

/// The `traceparent` of a message caused by `parent`: the span the code runs in
/// when OpenTelemetry records one (it is a child of `parent`), else a made-up child
/// of `parent`, else a new root when there is none (or it is bad).
pub fn child_trace(parent: Option<&str>) -> TraceParent {
    if let Some(current) = TraceParent::current() {
        return current;
    }
    parent
        .and_then(TraceParent::parse)
        .map(|p| p.child())
        .unwrap_or_else(TraceParent::new_root)
}
