//! A message as a handler sees it ([`Incoming`]) and as it writes one to the outbox
//! ([`Outgoing`]).

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sagaflow_events::{Contract, Envelope, StartsSaga};
use uuid::Uuid;

use crate::failure::Failure;
use crate::traceparent::MessageTrace;

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
        MessageTrace::default().child().write_to(&mut envelope);
        Ok(Self {
            envelope,
            topic: T::TOPIC.to_owned(),
            key: key.into(),
            payload: sagaflow_events::encode(body)?,
        })
    }

    /// The command that starts a saga (`InitiateCheckout`, `InitiateGeneration`,
    /// ...) for `tenant_id`, as the gateway sends it: on `orchestrator.commands`,
    /// keyed by and headed with the saga's id, in a trace of its own (or the
    /// current span's). The user the saga acts for is in the command's body.
    ///
    /// A service with a database writes it to its outbox in the transaction that
    /// decides to start the saga ([`crate::outbox::enqueue`]); one without can
    /// [`Outgoing::publish`] it. Either way a redelivery is the same saga: the
    /// orchestrator starts a saga id once.
    pub fn start<T: StartsSaga>(
        tenant_id: &str,
        command: &T,
    ) -> Result<Self, sagaflow_events::Error> {
        let saga_id = command.saga_id();
        Self::new(tenant_id, Some(saga_id), saga_id.to_string(), command)
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
        MessageTrace::of(cause).child().write_to(&mut envelope);
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

impl Outgoing {
    /// Produces this message now, outside any outbox: its topic, key, payload and
    /// envelope headers, as the relay would, and waits up to `timeout` for the
    /// broker's acknowledgement. For producers without a database; a service with
    /// one writes to its outbox instead, so that the message and its cause commit
    /// together.
    pub async fn publish(
        &self,
        producer: &FutureProducer,
        timeout: Duration,
    ) -> Result<(), KafkaError> {
        let envelope = self.envelope.to_headers();
        let mut headers = OwnedHeaders::new_with_capacity(envelope.len());
        for (key, value) in &envelope {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let record = FutureRecord::to(&self.topic)
            .key(&self.key)
            .payload(&self.payload)
            .headers(headers);
        producer
            .send(record, timeout)
            .await
            .map(|_| ())
            .map_err(|(err, _)| err)
    }
}

#[cfg(test)]
mod tests {
    //! `Outgoing::start` + `Outgoing::publish` through librdkafka's mock cluster
    //! (the real wire protocol), read back as the orchestrator's consumer reads it.

    use std::time::Duration;

    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::FutureProducer;
    use sagaflow_events::messages::{InitiateCheckout, OrderLine};
    use sagaflow_events::{Contract, Envelope, topics};
    use uuid::Uuid;

    use super::Outgoing;

    fn checkout() -> InitiateCheckout {
        InitiateCheckout {
            checkout_id: Uuid::now_v7(),
            user_id: "ada".into(),
            cart_id: Uuid::now_v7(),
            items: vec![OrderLine {
                sku: "MUG-BLUE".into(),
                quantity: 2,
            }],
            currency: "EUR".into(),
            payment_method: "card".into(),
            customer_email: "ada@example.com".into(),
            discount_code: None,
            shipping_country: Some("FR".into()),
        }
    }

    #[tokio::test]
    async fn a_started_checkout_arrives_keyed_and_headed_with_its_saga_id() -> anyhow::Result<()> {
        let cluster = MockCluster::new(1)?;
        cluster.create_topic(topics::ORCHESTRATOR_COMMANDS, 3, 1)?;
        let bootstrap = cluster.bootstrap_servers();
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "0")
            .create()?;
        let command = checkout();
        let saga_id = command.checkout_id;

        let start = Outgoing::start("acme", &command)?;
        assert_eq!(start.topic, InitiateCheckout::TOPIC);
        start.publish(&producer, Duration::from_secs(10)).await?;

        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "start-test")
            .set("auto.offset.reset", "earliest")
            .create()?;
        consumer.subscribe(&[topics::ORCHESTRATOR_COMMANDS])?;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let message = loop {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "nothing consumed in 20 s"
            );
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                break message?.detach();
            }
        };
        assert_eq!(message.key(), Some(saga_id.to_string().as_bytes()));
        let headers = message.headers().expect("the envelope is in headers");
        let envelope = Envelope::from_headers(headers.iter().map(|h| (h.key, h.value)))?;
        assert_eq!(envelope.message_type, InitiateCheckout::MESSAGE_TYPE);
        assert_eq!(envelope.tenant_id, "acme");
        assert_eq!(envelope.saga_id, Some(saga_id));
        assert!(envelope.traceparent.is_some(), "a start opens a trace");
        let payload = message.payload().unwrap_or_default();
        assert_eq!(
            sagaflow_events::decode::<InitiateCheckout>(payload)?,
            command
        );
        Ok(())
    }
}
