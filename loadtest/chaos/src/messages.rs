//! Message-level faults on the broker: **duplicates** (already-published command
//! and reply records read back from their topics and produced again, unchanged:
//! same key, headers and so the same message id, so only the consumers' inboxes
//! stand between them and a second effect) and **poison** (a garbage body under a
//! valid-looking envelope, sent to a participant's command topic; the consumer must
//! park it in `<topic>.dlq` and keep going). [`dead_lettered`] reads the dead-letter
//! topics back to find the poison by message id.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use sagaflow_events::envelope::headers;
use uuid::Uuid;

use crate::error::Result;

/// Topics whose records are duplicated: participants' commands and their replies.
pub const DUPLICATE_TOPICS: [&str; 8] = [
    "inventory.commands",
    "pricing.commands",
    "payment.commands",
    "order.commands",
    "inventory.events",
    "pricing.events",
    "payment.events",
    "order.events",
];

/// Participant command topics that receive poison, with a message type each
/// consumer knows (so only the body is wrong).
pub const POISON_TARGETS: [(&str, &str); 6] = [
    ("inventory.commands", "ReserveInventory"),
    ("pricing.commands", "PriceOrder"),
    ("payment.commands", "ProcessPayment"),
    ("order.commands", "CreateOrder"),
    ("cart.commands", "ClearCart"),
    ("notifications", "SendNotification"),
];

/// A poison message the run sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Poison {
    pub topic: String,
    pub message_id: Uuid,
}

fn producer(bootstrap: &str) -> Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .set("enable.idempotence", "true")
        .create()?)
}

fn reader(bootstrap: &str) -> Result<BaseConsumer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("chaos-reader-{}", Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .create()?)
}

/// Reads `topic` from the beginning of every partition for at most `budget`,
/// stopping at `limit` records (blocking: run it on a blocking thread).
fn read_topic(
    bootstrap: &str,
    topic: &str,
    limit: usize,
    budget: Duration,
) -> Result<Vec<OwnedMessage>> {
    let consumer = reader(bootstrap)?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    let mut out = Vec::new();
    if partitions == 0 {
        return Ok(out);
    }
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        assignment.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let until = Instant::now() + budget;
    while out.len() < limit && Instant::now() < until {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
            out.push(message.detach());
        }
    }
    Ok(out)
}

fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Produces `count` records again that were already on [`DUPLICATE_TOPICS`];
/// the message ids it re-sent.
pub async fn duplicate(bootstrap: &str, count: usize, rng: &mut StdRng) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let bootstrap_owned = bootstrap.to_owned();
    let seen: Vec<OwnedMessage> = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        for topic in DUPLICATE_TOPICS {
            all.extend(read_topic(
                &bootstrap_owned,
                topic,
                200,
                Duration::from_secs(2),
            )?);
        }
        Ok::<_, crate::error::Error>(all)
    })
    .await
    .map_err(|e| crate::error::Error::Config(format!("reader task: {e}")))??;
    let chosen: Vec<&OwnedMessage> = seen.choose_multiple(rng, count).collect();
    let producer = producer(bootstrap)?;
    let mut sent = Vec::new();
    for message in chosen {
        let mut out_headers = OwnedHeaders::new();
        if let Some(hs) = message.headers() {
            for h in hs.iter() {
                out_headers = out_headers.insert(Header {
                    key: h.key,
                    value: h.value,
                });
            }
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(message.topic()).headers(out_headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(err, _)| err)?;
        sent.push(header(message, headers::MESSAGE_ID).unwrap_or_default());
    }
    Ok(sent)
}

/// Sends one poison message to a random participant command topic.
pub async fn poison(bootstrap: &str, tenant: &str, rng: &mut StdRng) -> Result<Poison> {
    let (topic, message_type) = POISON_TARGETS[rng.random_range(0..POISON_TARGETS.len())];
    let message_id = Uuid::now_v7();
    let saga_id = Uuid::now_v7();
    let version = sagaflow_events::schema_version(message_type)
        .unwrap_or(1)
        .to_string();
    let (id, saga) = (message_id.to_string(), saga_id.to_string());
    let pairs = [
        (headers::MESSAGE_ID, id.as_str()),
        (headers::MESSAGE_TYPE, message_type),
        (headers::SCHEMA_VERSION, version.as_str()),
        (headers::SAGA_ID, saga.as_str()),
        (headers::CORRELATION_ID, saga.as_str()),
        (headers::TENANT_ID, tenant),
    ];
    let mut out_headers = OwnedHeaders::new();
    for (key, value) in pairs {
        out_headers = out_headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    // A Confluent-looking frame (magic byte 0, a schema id) around bytes that are
    // no Avro record of the type.
    let payload: &[u8] = b"\x00\x00\x00\x00\x07\xff\xfe\xfdsagaflow-chaos poison \xc3\x28";
    let record = FutureRecord::to(topic)
        .key(saga.as_str())
        .payload(payload)
        .headers(out_headers);
    producer(bootstrap)?
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(err, _)| err)?;
    Ok(Poison {
        topic: topic.to_owned(),
        message_id,
    })
}

/// The injected poison found in its topic's `<topic>.dlq` (by message id), read
/// for at most `budget` per topic.
pub async fn dead_lettered(
    bootstrap: &str,
    poison: &[Poison],
    budget: Duration,
) -> Result<BTreeSet<Uuid>> {
    let topics: BTreeSet<String> = poison.iter().map(|p| p.topic.clone()).collect();
    let wanted: BTreeSet<Uuid> = poison.iter().map(|p| p.message_id).collect();
    let poison = poison.to_vec();
    let bootstrap = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut found = BTreeSet::new();
        for topic in topics {
            let dlq = sagaflow_events::topics::dead_letter(&topic);
            let consumer = reader(&bootstrap)?;
            let metadata = consumer.fetch_metadata(Some(&dlq), Duration::from_secs(10))?;
            let partitions = metadata
                .topics()
                .first()
                .map(|t| t.partitions().len())
                .unwrap_or(0);
            if partitions == 0 {
                continue;
            }
            let mut assignment = TopicPartitionList::new();
            for p in 0..partitions as i32 {
                assignment.add_partition_offset(&dlq, p, Offset::Beginning)?;
            }
            consumer.assign(&assignment)?;
            let here: BTreeSet<Uuid> = poison
                .iter()
                .filter(|p| p.topic == topic)
                .map(|p| p.message_id)
                .collect();
            let until = Instant::now() + budget;
            while Instant::now() < until && !here.is_subset(&found) {
                if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
                    let message = message.detach();
                    if let Some(id) = header(&message, headers::MESSAGE_ID)
                        .and_then(|id| id.parse::<Uuid>().ok())
                        .filter(|id| wanted.contains(id))
                    {
                        found.insert(id);
                    }
                }
            }
        }
        Ok(found)
    })
    .await
    .map_err(|e| crate::error::Error::Config(format!("reader task: {e}")))?
}
