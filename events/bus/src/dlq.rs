//! Operating on dead letters (`sagaflow dlq list|show|replay|purge`): the records
//! [`crate::dead_letter`] copies to `<topic>.dlq` when a consumer cannot handle one.
//!
//! - Reading never joins a consumer group and never commits: a [`scan`] assigns
//!   the dead-letter partitions, reads each to the high watermark it saw at the
//!   start, and stops.
//! - A dead letter is named by [`DeadLetterId`] `<dlq-topic>/<partition>/<offset>`.
//! - Replay ([`replay`]) produces the original record again to its original topic
//!   with its own `message-id`, so consumers' inboxes apply it at most once, and
//!   records each replay in [`REPLAYS_TOPIC`] for people (list shows it, a second
//!   replay needs `force`).
//! - Purge ([`ack`]) is acknowledgement: the member-less group [`ACK_GROUP`]
//!   commits, per partition, the first offset not dealt with; listing hides what
//!   is below it.
//!
//! # Layout
//! - [`id`]: [`DeadLetterId`], parsed and printed.
//! - [`record`]: [`DeadLetter`], its headers, its JSON forms.
//! - [`filter`]: [`Filter`], what `list` and `replay --all-matching` select.
//! - `scan`: the group-less reader (blocking librdkafka, run off the async threads).
//! - [`ack`]: [`acknowledge`] / [`acknowledge_before`].
//! - [`replay`]: [`Replayer`], which produces replays and their markers.
//! - [`error`]: [`Error`], one variant per thing an operator can fix.
//! - This file: [`list`] and [`show`], and the names the others share.

pub mod ack;
pub mod error;
pub mod filter;
pub mod id;
pub mod record;
pub mod replay;
mod scan;

use std::time::Duration;

pub use ack::{Acknowledged, acknowledge, acknowledge_before};
pub use error::Error;
pub use filter::Filter;
pub use id::DeadLetterId;
pub use record::DeadLetter;
pub use replay::{Replayed, Replayer};

use crate::config::KafkaConfig;
use scan::{Range, Scanner};

/// The consumer group whose committed offsets mark dead letters as dealt with.
pub const ACK_GROUP: &str = "sagaflow-dlq-ack";
/// One marker record per replay (key: the dead-letter id).
pub const REPLAYS_TOPIC: &str = "sagaflow.dlq.replays";
/// Header on a replayed record naming the dead letter it came from.
pub const REPLAYED_FROM: &str = "dlq-replayed-from";

/// A point in time (UTC).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Parses an RFC 3339 time (`2026-12-03T10:00:00Z`).
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|err| format!("`{text}` is not an RFC 3339 time like 2026-12-03T10:00:00Z: {err}"))
}

/// `seconds` before now.
pub fn seconds_ago(seconds: u64) -> Timestamp {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    chrono::Utc::now() - chrono::TimeDelta::try_seconds(seconds).unwrap_or(chrono::TimeDelta::MAX)
}

/// The dead letters `filter` selects, oldest first. Each Kafka request waits at
/// most `timeout`, and so does the reading.
pub async fn list(
    kafka: &KafkaConfig,
    filter: &Filter,
    timeout: Duration,
) -> Result<Vec<DeadLetter>, Error> {
    let topics = filter.dlq_topics()?;
    let kafka = kafka.clone();
    let filter = filter.clone();
    blocking(move || {
        let scanner = Scanner::new(&kafka, timeout)?;
        let partitions = scanner.partitions(&topics)?;
        let acked = scanner.acknowledged(&partitions)?;
        let replayed = replay::recorded(&scanner)?;
        let mut ranges = Vec::new();
        for partition in &partitions {
            let (low, high) = scanner.watermarks(partition)?;
            let ack = acked.get(partition).copied().unwrap_or(0);
            let start = if filter.include_acknowledged {
                low
            } else {
                low.max(ack)
            };
            ranges.push(Range {
                topic: partition.0.clone(),
                partition: partition.1,
                start,
                end: high,
            });
        }
        let mut letters = Vec::new();
        scanner.read(&ranges, |message| {
            if let Some(mut letter) = DeadLetter::from_message(message) {
                let key = (letter.id.topic.clone(), letter.id.partition);
                letter.acknowledged = letter.id.offset < acked.get(&key).copied().unwrap_or(0);
                letter.replayed = replayed.contains(&letter.id);
                if filter.matches(&letter) {
                    letters.push(letter);
                }
            }
        })?;
        letters.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
        if let Some(limit) = filter.limit {
            letters.truncate(limit);
        }
        Ok(letters)
    })
    .await
}

/// One dead letter.
pub async fn show(
    kafka: &KafkaConfig,
    id: &DeadLetterId,
    timeout: Duration,
) -> Result<DeadLetter, Error> {
    let kafka = kafka.clone();
    let id = id.clone();
    blocking(move || {
        let scanner = Scanner::new(&kafka, timeout)?;
        let partition = (id.topic.clone(), id.partition);
        if !scanner
            .partitions(std::slice::from_ref(&id.topic))?
            .contains(&partition)
        {
            return Err(Error::NotFound(id.to_string()));
        }
        let (low, high) = scanner.watermarks(&partition)?;
        if id.offset < low || id.offset >= high {
            return Err(Error::NotFound(id.to_string()));
        }
        let acked = scanner.acknowledged(std::slice::from_ref(&partition))?;
        let replayed = replay::recorded(&scanner)?;
        let range = Range {
            topic: id.topic.clone(),
            partition: id.partition,
            start: id.offset,
            end: id.offset + 1,
        };
        let mut found = None;
        scanner.read(&[range], |message| {
            if rdkafka::Message::offset(message) == id.offset {
                found = DeadLetter::from_message(message);
            }
        })?;
        let mut letter = found.ok_or_else(|| Error::NotFound(id.to_string()))?;
        letter.acknowledged = id.offset < acked.get(&partition).copied().unwrap_or(0);
        letter.replayed = replayed.contains(&id);
        Ok(letter)
    })
    .await
}

/// Runs blocking librdkafka work off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_or_say_what_is_expected() {
        let at = parse_time("2026-12-03T10:00:00+01:00").expect("valid");
        assert_eq!(at.to_rfc3339(), "2026-12-03T09:00:00+00:00");
        let err = parse_time("yesterday").expect_err("not RFC 3339");
        assert!(err.contains("RFC 3339"), "{err}");
        let ago = seconds_ago(60);
        let delta = chrono::Utc::now() - ago;
        assert!(
            delta.num_seconds() >= 59 && delta.num_seconds() <= 61,
            "{delta}"
        );
    }
}
