//! Purge as acknowledgement. Kafka cannot delete one record (DeleteRecords only
//! truncates a partition's head, and neither the mock cluster nor Tansu 0.6 serves
//! it), so "purged" means "dealt with": the consumer group [`super::ACK_GROUP`]
//! commits, per dead-letter partition, the offset of the first record not dealt
//! with. `list` starts each partition there. The group never has members; the
//! records stay on the broker until its retention removes them.
//!
//! An offset is a prefix mark, so acknowledging one record acknowledges every
//! earlier record of its partition too. [`acknowledge`] therefore refuses when
//! that would hide an earlier record the operator did not name, unless asked to.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::Message;

use super::Timestamp;
use super::error::Error;
use super::filter::Filter;
use super::id::DeadLetterId;
use super::scan::{Partition, Range, Scanner};
use crate::config::KafkaConfig;

/// Offsets `[from, to)` of a partition newly acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub topic: String,
    pub partition: i32,
    pub from: i64,
    pub to: i64,
}

/// Acknowledges every dead letter of `topics` (original or `.dlq` names; empty:
/// all) dead-lettered before `before`.
pub async fn acknowledge_before(
    kafka: &KafkaConfig,
    topics: &[String],
    before: Timestamp,
    timeout: Duration,
) -> Result<Vec<Acknowledged>, Error> {
    let topics = Filter {
        topics: topics.to_vec(),
        ..Filter::default()
    }
    .dlq_topics()?;
    let kafka = kafka.clone();
    super::blocking(move || {
        let scanner = Scanner::new(&kafka, timeout)?;
        let partitions = scanner.partitions(&topics)?;
        let acked = scanner.acknowledged(&partitions)?;
        let mut ranges = Vec::new();
        for partition in &partitions {
            let (low, high) = scanner.watermarks(partition)?;
            let ack = acked.get(partition).copied().unwrap_or(0);
            ranges.push(range(partition, low.max(ack), high));
        }
        // The first record at or after `before`, per partition; else the end.
        let mut marks: BTreeMap<Partition, i64> = ranges
            .iter()
            .map(|r| ((r.topic.clone(), r.partition), r.end))
            .collect();
        let mut stopped = BTreeSet::new();
        scanner.read(&ranges, |message| {
            let key = (message.topic().to_owned(), message.partition());
            let at = message
                .timestamp()
                .to_millis()
                .and_then(Timestamp::from_timestamp_millis);
            if at.is_some_and(|at| at >= before)
                && stopped.insert(key.clone())
                && let Some(mark) = marks.get_mut(&key)
            {
                *mark = message.offset();
            }
        })?;
        commit_forward(&scanner, &acked, &ranges, marks)
    })
    .await
}

/// Acknowledges the named dead letters (and, with `with_earlier`, every earlier
/// record of their partitions, which an offset cannot leave out).
pub async fn acknowledge(
    kafka: &KafkaConfig,
    ids: &[DeadLetterId],
    with_earlier: bool,
    timeout: Duration,
) -> Result<Vec<Acknowledged>, Error> {
    let kafka = kafka.clone();
    let ids = ids.to_vec();
    super::blocking(move || {
        let scanner = Scanner::new(&kafka, timeout)?;
        let mut named: BTreeMap<Partition, BTreeSet<i64>> = BTreeMap::new();
        for id in &ids {
            named
                .entry((id.topic.clone(), id.partition))
                .or_default()
                .insert(id.offset);
        }
        let topics: Vec<String> = named.keys().map(|(t, _)| t.clone()).collect();
        let existing = scanner.partitions(&topics)?;
        let partitions: Vec<Partition> = named.keys().cloned().collect();
        let acked = scanner.acknowledged(&partitions)?;
        let mut ranges = Vec::new();
        let mut marks = BTreeMap::new();
        for (partition, offsets) in &named {
            let last = *offsets.last().expect("at least one offset per entry");
            let (low, high) = if existing.contains(partition) {
                scanner.watermarks(partition)?
            } else {
                (0, 0)
            };
            if last >= high {
                let (topic, p) = partition;
                return Err(Error::NotFound(format!("{topic}/{p}/{last}")));
            }
            let ack = acked.get(partition).copied().unwrap_or(0);
            ranges.push(range(partition, low.max(ack), last));
            marks.insert(partition.clone(), last + 1);
        }
        if !with_earlier {
            let mut earlier = Vec::new();
            scanner.read(&ranges, |message| {
                let key = (message.topic().to_owned(), message.partition());
                let offset = message.offset();
                if !named.get(&key).is_some_and(|set| set.contains(&offset)) {
                    earlier.push(format!("{}/{}/{offset}", key.0, key.1));
                }
            })?;
            if !earlier.is_empty() {
                let first = ids.first().map(ToString::to_string).unwrap_or_default();
                earlier.truncate(20);
                return Err(Error::EarlierUnacknowledged { id: first, earlier });
            }
        }
        commit_forward(&scanner, &acked, &ranges, marks)
    })
    .await
}

fn range((topic, partition): &Partition, start: i64, end: i64) -> Range {
    Range {
        topic: topic.clone(),
        partition: *partition,
        start,
        end,
    }
}

/// Commits the marks that move a partition's acknowledgement forward (never back).
fn commit_forward(
    scanner: &Scanner,
    acked: &std::collections::HashMap<Partition, i64>,
    ranges: &[Range],
    marks: BTreeMap<Partition, i64>,
) -> Result<Vec<Acknowledged>, Error> {
    let mut forward = BTreeMap::new();
    let mut done = Vec::new();
    for (partition, mark) in marks {
        let ack = acked.get(&partition).copied().unwrap_or(0);
        let from = ranges
            .iter()
            .find(|r| (r.topic.as_str(), r.partition) == (partition.0.as_str(), partition.1))
            .map_or(ack, |r| r.start);
        if mark > ack {
            done.push(Acknowledged {
                topic: partition.0.clone(),
                partition: partition.1,
                from,
                to: mark,
            });
            forward.insert(partition, mark);
        }
    }
    if !forward.is_empty() {
        scanner.commit(&forward)?;
    }
    Ok(done)
}
