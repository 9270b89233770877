//! [`Scanner`]: reads dead-letter partitions without joining a consumer group and
//! without committing: it assigns partitions at chosen offsets, reads each to the
//! high watermark it saw when it started, and stops. It also reads and (for
//! [`super::ack`] only) commits the `sagaflow-dlq-ack` group's offsets, which needs
//! no group membership either.
//!
//! librdkafka's consumer is blocking here; the public functions in [`super`] run
//! a scanner on a blocking thread.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::ACK_GROUP;
use super::error::Error;
use crate::config::KafkaConfig;

/// A topic and partition.
pub(super) type Partition = (String, i32);

/// Offsets `[start, end)` of one partition to read.
#[derive(Debug, Clone)]
pub(super) struct Range {
    pub topic: String,
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

pub(super) struct Scanner {
    consumer: BaseConsumer,
    servers: String,
    timeout: Duration,
}

impl Scanner {
    pub fn new(kafka: &KafkaConfig, timeout: Duration) -> Result<Self, Error> {
        let consumer: BaseConsumer = kafka
            .consumer(ACK_GROUP)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false")
            .set("socket.connection.setup.timeout.ms", timeout_ms(timeout))
            .create()?;
        Ok(Self {
            consumer,
            servers: kafka.bootstrap_servers.clone(),
            timeout,
        })
    }

    fn unreachable(&self, err: KafkaError) -> Error {
        Error::Unreachable {
            servers: self.servers.clone(),
            timeout: self.timeout,
            reason: err.to_string(),
        }
    }

    /// The partitions of those of `topics` that exist (a dead-letter topic nobody
    /// created holds no dead letters).
    pub fn partitions(&self, topics: &[String]) -> Result<Vec<Partition>, Error> {
        let metadata = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .map_err(|err| self.unreachable(err))?;
        let mut out = Vec::new();
        for topic in metadata.topics() {
            if topic.error().is_none() && topics.iter().any(|t| t == topic.name()) {
                for partition in topic.partitions() {
                    out.push((topic.name().to_owned(), partition.id()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether `topic` exists.
    pub fn exists(&self, topic: &str) -> Result<bool, Error> {
        Ok(!self.partitions(&[topic.to_owned()])?.is_empty())
    }

    /// `(low, high)` watermarks.
    pub fn watermarks(&self, (topic, partition): &Partition) -> Result<(i64, i64), Error> {
        self.consumer
            .fetch_watermarks(topic, *partition, self.timeout)
            .map_err(|err| self.unreachable(err))
    }

    /// The `sagaflow-dlq-ack` group's committed offset per partition (0 when none).
    pub fn acknowledged(&self, partitions: &[Partition]) -> Result<HashMap<Partition, i64>, Error> {
        if partitions.is_empty() {
            return Ok(HashMap::new());
        }
        let mut list = TopicPartitionList::new();
        for (topic, partition) in partitions {
            list.add_partition(topic, *partition);
        }
        let committed = self
            .consumer
            .committed_offsets(list, self.timeout)
            .map_err(|err| self.unreachable(err))?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(offset) => offset.max(0),
                    _ => 0,
                };
                ((e.topic().to_owned(), e.partition()), offset)
            })
            .collect())
    }

    /// Commits `offsets` for `sagaflow-dlq-ack` (the next unacknowledged offset of
    /// each partition).
    pub fn commit(&self, offsets: &BTreeMap<Partition, i64>) -> Result<(), Error> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        self.consumer.commit(&list, CommitMode::Sync)?;
        Ok(())
    }

    /// Calls `each` for every record of `ranges`, then unassigns. Fails if the
    /// ranges are not read within the timeout.
    pub fn read(
        &self,
        ranges: &[Range],
        mut each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<(), Error> {
        let mut pending: HashMap<Partition, i64> = ranges
            .iter()
            .filter(|r| r.start < r.end)
            .map(|r| ((r.topic.clone(), r.partition), r.end))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let mut assignment = TopicPartitionList::new();
        for range in ranges.iter().filter(|r| r.start < r.end) {
            assignment.add_partition_offset(
                &range.topic,
                range.partition,
                Offset::Offset(range.start),
            )?;
        }
        self.consumer.assign(&assignment)?;
        let deadline = Instant::now() + self.timeout;
        let result = loop {
            if pending.is_empty() {
                break Ok(());
            }
            if Instant::now() > deadline {
                let mut left: Vec<String> =
                    pending.keys().map(|(t, p)| format!("{t}/{p}")).collect();
                left.sort();
                break Err(Error::Timeout {
                    what: left.join(", "),
                    timeout: self.timeout,
                });
            }
            match self.consumer.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => {
                    let key = (message.topic().to_owned(), message.partition());
                    if let Some(end) = pending.get(&key).copied()
                        && message.offset() < end
                    {
                        each(&message);
                        if message.offset() + 1 >= end {
                            pending.remove(&key);
                        }
                    }
                }
                Some(Err(err)) => {
                    tracing::debug!(%err, "dead-letter scan: fetch error (retried by librdkafka)");
                }
                None => self.drop_finished(&mut pending)?,
            }
        };
        self.consumer.unassign()?;
        result
    }

    /// Drops partitions whose position reached the end (offsets past the last
    /// record, such as transaction markers, never arrive as messages).
    fn drop_finished(&self, pending: &mut HashMap<Partition, i64>) -> Result<(), Error> {
        let position = self.consumer.position()?;
        for element in position.elements() {
            let key = (element.topic().to_owned(), element.partition());
            if let (Some(end), Offset::Offset(at)) = (pending.get(&key), element.offset())
                && at >= *end
            {
                pending.remove(&key);
            }
        }
        Ok(())
    }
}

fn timeout_ms(timeout: Duration) -> String {
    timeout.as_millis().clamp(1_000, 300_000).to_string()
}
