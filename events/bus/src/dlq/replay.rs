//! Replay: the dead letter's original record (key, payload, original headers, so
//! the same `message-id`) is produced again to its original topic, with
//! [`super::REPLAYED_FROM`] naming the dead letter. Every consumer of that topic
//! sees it; each one's inbox skips a message id it already handled, so a replay
//! of something handled, or a second replay, applies nothing twice.
//!
//! After the broker acknowledges a replay, a marker (key: the dead-letter id,
//! payload: JSON) goes to [`super::REPLAYS_TOPIC`]; `list` shows the record as
//! replayed and [`Replayer::replay`] refuses it again unless forced. The marker is
//! for people; correctness rests on the inbox.

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;

use super::error::Error;
use super::id::DeadLetterId;
use super::record::DeadLetter;
use super::scan::{Range, Scanner};
use super::{REPLAYED_FROM, REPLAYS_TOPIC};
use crate::config::KafkaConfig;

/// Where a replay went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub id: DeadLetterId,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message_id: Option<String>,
}

/// Creates [`REPLAYS_TOPIC`] with one partition (an existing one is kept):
/// `sagaflow topics create` makes it with the platform's topics, and
/// [`Replayer::new`] when it is missing.
pub async fn create_replays_topic(kafka: &KafkaConfig) -> Result<(), Error> {
    let mut single = kafka.clone();
    single.partitions = 1;
    crate::admin::ensure_topics(&single, &[REPLAYS_TOPIC.to_owned()]).await?;
    Ok(())
}

/// Produces replays and their markers.
pub struct Replayer {
    producer: FutureProducer,
    timeout: Duration,
}

impl Replayer {
    /// A producer, after making sure [`REPLAYS_TOPIC`] exists (created with one
    /// partition when it does not).
    pub async fn new(kafka: &KafkaConfig, timeout: Duration) -> Result<Self, Error> {
        let probe = kafka.clone();
        let exists =
            super::blocking(move || Scanner::new(&probe, timeout)?.exists(REPLAYS_TOPIC)).await?;
        if !exists {
            create_replays_topic(kafka).await?;
        }
        let producer = kafka
            .producer()
            .set("message.timeout.ms", timeout.as_millis().max(1).to_string())
            .create()?;
        Ok(Self { producer, timeout })
    }

    /// Replays `letter` to its original topic and records it. An already replayed
    /// letter is refused unless `force`.
    pub async fn replay(&self, letter: &DeadLetter, force: bool) -> Result<Replayed, Error> {
        let id = letter.id.to_string();
        let topic = letter
            .original_topic()
            .ok_or_else(|| Error::NotADeadLetter(id.clone()))?;
        if letter.replayed && !force {
            return Err(Error::AlreadyReplayed(vec![id]));
        }
        let mut headers = OwnedHeaders::new();
        for (name, value) in letter.original_headers() {
            headers = headers.insert(Header {
                key: name,
                value: value.as_deref(),
            });
        }
        headers = headers.insert(Header {
            key: REPLAYED_FROM,
            value: Some(id.as_bytes()),
        });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).headers(headers);
        if let Some(key) = letter.key.as_deref() {
            record = record.key(key);
        }
        if let Some(payload) = letter.payload.as_deref() {
            record = record.payload(payload);
        }
        let delivery = self
            .producer
            .send(record, self.timeout)
            .await
            .map_err(|(err, _)| Error::Kafka(err))?;
        let replayed = Replayed {
            id: letter.id.clone(),
            topic,
            partition: delivery.partition,
            offset: delivery.offset,
            message_id: letter.message_id(),
        };
        let marker = json!({
            "id": id,
            "replayed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "topic": replayed.topic,
            "partition": replayed.partition,
            "offset": replayed.offset,
            "message_id": replayed.message_id,
        })
        .to_string();
        self.producer
            .send(
                FutureRecord::to(REPLAYS_TOPIC).key(&id).payload(&marker),
                self.timeout,
            )
            .await
            .map_err(|(err, _)| Error::Unrecorded {
                replayed: id.clone(),
                topic: REPLAYS_TOPIC.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(replayed)
    }
}

/// The ids recorded in [`REPLAYS_TOPIC`] (none when it does not exist yet).
pub(super) fn recorded(scanner: &Scanner) -> Result<HashSet<DeadLetterId>, Error> {
    let partitions = scanner.partitions(&[REPLAYS_TOPIC.to_owned()])?;
    let mut ranges = Vec::new();
    for partition in &partitions {
        let (low, high) = scanner.watermarks(partition)?;
        ranges.push(Range {
            topic: partition.0.clone(),
            partition: partition.1,
            start: low,
            end: high,
        });
    }
    let mut ids = HashSet::new();
    scanner.read(&ranges, |message| {
        if let Some(id) = rdkafka::Message::key(message)
            .and_then(|key| std::str::from_utf8(key).ok())
            .and_then(|key| key.parse().ok())
        {
            ids.insert(id);
        }
    })?;
    Ok(ids)
}
