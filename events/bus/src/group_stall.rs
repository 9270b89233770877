//! Self-healing for partitions of a member's topics that nobody consumes. A broker
//! may keep a SIGKILLed member in the group and go on assigning it partitions (seen
//! on Tansu 0.6 when the replacement joined inside the dead member's session
//! timeout): the partitions sit with data nobody reads, and the live members wait
//! forever. Kafka itself expires the dead
//! member, so this does not fire there unless something else is wrong.
//!
//! [`GroupStall`] decides from the group's committed offsets and the partitions'
//! high watermarks ([`group_offsets`], a blocking broker query), over the
//! partitions the member does **not** hold (its own are judged by
//! [`crate::lag::Stall`] from its fetch positions): some partition has data after
//! its committed offset, and that offset has not moved for `idle`. A partition
//! another member holds but handles slowly looks the same, so each rejoin doubles
//! the wait before the next (up to 16 × `idle`) until nothing is waiting any more.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::lag::PartitionKey;

/// A partition as the group sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupOffset {
    /// The group's committed offset, or `None` if it never committed one.
    pub committed: Option<i64>,
    /// The partition's low and high watermarks.
    pub low: i64,
    pub high: i64,
}

impl GroupOffset {
    /// Messages after where the group stands (from the log start if it never
    /// committed).
    fn waiting(&self) -> i64 {
        self.high - self.committed.unwrap_or(self.low).max(self.low)
    }
}

/// Reads the group's committed offsets and the watermarks of every partition of
/// `topics`. Blocking: call it off the async runtime.
pub fn group_offsets<C: ConsumerContext>(
    consumer: &StreamConsumer<C>,
    topics: &[String],
    timeout: Duration,
) -> Result<BTreeMap<PartitionKey, GroupOffset>, KafkaError> {
    let metadata = consumer.fetch_metadata(None, timeout)?;
    let mut list = TopicPartitionList::new();
    for topic in metadata.topics() {
        if topics.iter().any(|t| t == topic.name()) {
            for partition in topic.partitions() {
                list.add_partition(topic.name(), partition.id());
            }
        }
    }
    let committed = consumer.committed_offsets(list, timeout)?;
    let mut out = BTreeMap::new();
    for element in committed.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
        let committed = match element.offset() {
            Offset::Offset(offset) => Some(offset),
            _ => None,
        };
        out.insert(
            (topic.to_owned(), partition),
            GroupOffset {
                committed,
                low,
                high,
            },
        );
    }
    Ok(out)
}

/// Decides when an unassigned member should rejoin: some partition has messages
/// waiting and its committed offset has not moved for `idle`.
#[derive(Debug)]
pub struct GroupStall {
    idle: Duration,
    /// Rejoins since data last stopped waiting (each doubles the next wait).
    strikes: u32,
    /// Per waiting partition: its committed offset and since when it stands there.
    standing: BTreeMap<PartitionKey, (Option<i64>, Instant)>,
}

impl GroupStall {
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            strikes: 0,
            standing: BTreeMap::new(),
        }
    }

    /// Feeds one reading; true when the member should rejoin (the detector then
    /// starts over).
    pub fn observe(&mut self, now: Instant, offsets: &BTreeMap<PartitionKey, GroupOffset>) -> bool {
        let mut standing = BTreeMap::new();
        for (key, offset) in offsets.iter().filter(|(_, o)| o.waiting() > 0) {
            let since = match self.standing.get(key) {
                Some((committed, since)) if *committed == offset.committed => *since,
                _ => now,
            };
            standing.insert(key.clone(), (offset.committed, since));
        }
        self.standing = standing;
        if self.standing.is_empty() {
            self.strikes = 0;
            return false;
        }
        let wait = self.idle * 2u32.pow(self.strikes.min(4));
        let stalled = self
            .standing
            .values()
            .any(|(_, since)| now.duration_since(*since) >= wait);
        if stalled {
            self.strikes += 1;
            self.reset();
        }
        stalled
    }

    /// Forgets what it saw (the member rejoined); the backoff stays.
    pub fn reset(&mut self) {
        self.standing.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(30);

    fn reading(parts: &[(i32, Option<i64>, i64)]) -> BTreeMap<PartitionKey, GroupOffset> {
        parts
            .iter()
            .map(|&(p, committed, high)| {
                (
                    ("t".to_owned(), p),
                    GroupOffset {
                        committed,
                        low: 0,
                        high,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_partition_with_data_whose_offset_stands_still_for_idle_triggers_once() {
        let start = Instant::now();
        let mut stall = GroupStall::new(IDLE);
        // Partition 1 moves along; partition 0 stands at 5 with 20 waiting.
        assert!(!stall.observe(start, &reading(&[(0, Some(5), 25), (1, Some(10), 12)])));
        assert!(!stall.observe(
            start + Duration::from_secs(20),
            &reading(&[(0, Some(5), 30), (1, Some(12), 14)])
        ));
        assert!(stall.observe(
            start + IDLE,
            &reading(&[(0, Some(5), 31), (1, Some(14), 14)])
        ));
        // It starts over after deciding, and waits twice as long the next time.
        let again = start + IDLE + Duration::from_secs(1);
        assert!(!stall.observe(again, &reading(&[(0, Some(5), 31)])));
        assert!(!stall.observe(again + IDLE, &reading(&[(0, Some(5), 31)])));
        assert!(stall.observe(again + 2 * IDLE, &reading(&[(0, Some(5), 31)])));
        // Once nothing waits, the backoff is forgotten.
        let later = again + 3 * IDLE;
        assert!(!stall.observe(later, &reading(&[(0, Some(31), 31)])));
        assert!(!stall.observe(later, &reading(&[(0, Some(31), 40)])));
        assert!(stall.observe(later + IDLE, &reading(&[(0, Some(31), 40)])));
    }

    #[test]
    fn the_backoff_is_capped_at_sixteen_times_idle() {
        let start = Instant::now();
        let mut stall = GroupStall::new(IDLE);
        let stuck = reading(&[(0, Some(1), 9)]);
        let mut now = start;
        for _ in 0..6 {
            assert!(!stall.observe(now, &stuck));
            now += 16 * IDLE;
            assert!(stall.observe(now, &stuck));
            now += Duration::from_secs(1);
        }
    }

    #[test]
    fn a_group_that_never_committed_counts_from_the_log_start() {
        let start = Instant::now();
        let mut stall = GroupStall::new(IDLE);
        let never = reading(&[(0, None, 3)]);
        assert!(!stall.observe(start, &never));
        assert!(stall.observe(start + IDLE, &never));
        // An empty partition is not waiting, whatever the offset.
        let mut stall = GroupStall::new(IDLE);
        let empty = reading(&[(0, None, 0), (1, Some(7), 7)]);
        assert!(!stall.observe(start, &empty));
        assert!(!stall.observe(start + 2 * IDLE, &empty));
    }

    #[test]
    fn moving_offsets_or_caught_up_partitions_never_trigger() {
        let start = Instant::now();
        let mut stall = GroupStall::new(IDLE);
        for i in 0..100 {
            let now = start + Duration::from_secs(i);
            assert!(!stall.observe(now, &reading(&[(0, Some(i as i64), i as i64 + 50)])));
        }
        // Caught up, then data arrives: the clock starts when it is waiting.
        let mut stall = GroupStall::new(IDLE);
        assert!(!stall.observe(start, &reading(&[(0, Some(9), 9)])));
        let later = start + Duration::from_secs(100);
        assert!(!stall.observe(later, &reading(&[(0, Some(9), 10)])));
        assert!(!stall.observe(
            later + Duration::from_secs(29),
            &reading(&[(0, Some(9), 10)])
        ));
        assert!(stall.observe(later + IDLE, &reading(&[(0, Some(9), 10)])));
    }
}
