//! Dead letters: a poison message is copied to `<topic>.dlq` with the reason and its
//! original coordinates in headers, so the partition keeps flowing and nothing is lost.

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::error::Error;

/// Header names written on a dead-letter record (besides the original headers).
pub mod headers {
    pub const REASON: &str = "dlq-reason";
    pub const TOPIC: &str = "dlq-original-topic";
    pub const PARTITION: &str = "dlq-original-partition";
    pub const OFFSET: &str = "dlq-original-offset";
    pub const CONSUMER: &str = "dlq-consumer";
}

/// A consumed record as it was on the wire, for dead-lettering.
pub struct RawRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Publishes `record` to its dead-letter topic and waits for the broker's ack.
pub async fn publish(
    producer: &FutureProducer,
    consumer: &str,
    record: &RawRecord<'_>,
    reason: &str,
) -> Result<(), Error> {
    let dlq_topic = sagaflow_events::topics::dead_letter(record.topic);
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 5);
    for (name, value) in &record.headers {
        headers = headers.insert(Header {
            key: name,
            value: value.as_deref(),
        });
    }
    let partition = record.partition.to_string();
    let offset = record.offset.to_string();
    for (name, value) in [
        (headers::REASON, reason),
        (headers::TOPIC, record.topic),
        (headers::PARTITION, partition.as_str()),
        (headers::OFFSET, offset.as_str()),
        (headers::CONSUMER, consumer),
    ] {
        headers = headers.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    let mut out: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&dlq_topic).headers(headers);
    if let Some(key) = record.key {
        out = out.key(key);
    }
    if let Some(payload) = record.payload {
        out = out.payload(payload);
    }
    producer
        .send(out, Timeout::Never)
        .await
        .map_err(|(err, _)| Error::Kafka(err))?;
    metrics::counter!("sagaflow_dead_letters_total", "consumer" => consumer.to_owned(), "topic" => record.topic.to_owned())
        .increment(1);
    Ok(())
}
