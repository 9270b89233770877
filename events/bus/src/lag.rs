//! The inbox consumer's client context, [`LagContext`], and what it observes:
//!
//! - **lag**: librdkafka reports its statistics every [`STATS_INTERVAL_MS`]; each
//!   assigned partition's lag becomes the gauge
//!   `sagaflow_consumer_lag{consumer, topic, partition}` (messages between the
//!   partition's end and the last offset stored as handled), and the latest
//!   per-partition positions are kept for [`Stall`].
//! - **rebalances**: assignments and revocations are queued for the consumer loop
//!   ([`LagContext::take_rebalances`]); a revoked partition is resumed first, so a
//!   pause the loop put on it never outlives the assignment.
//! - [`Stall`]: the decision to rejoin the group when this member holds partitions
//!   with data waiting that it has not received for a while (seen on Tansu 0.6 after a
//!   restart).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;

/// How often librdkafka emits statistics for the lag gauge.
pub const STATS_INTERVAL_MS: u32 = 5_000;

/// A topic partition.
pub type PartitionKey = (String, i32);

/// A rebalance as the consumer loop sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    Assigned(Vec<PartitionKey>),
    Revoked(Vec<PartitionKey>),
}

/// One assigned partition in a statistics report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The next offset librdkafka hands to the application (-1 if none yet).
    pub position: i64,
    /// Messages on the broker after `position` (-1 if not known).
    pub lag: i64,
}

/// The inbox consumer's client context.
#[derive(Debug, Clone)]
pub struct LagContext {
    consumer: String,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    rebalances: Mutex<Vec<RebalanceEvent>>,
    progress: Mutex<BTreeMap<PartitionKey, PartitionProgress>>,
}

impl LagContext {
    pub fn new(consumer: &str) -> Self {
        Self {
            consumer: consumer.to_owned(),
            shared: Arc::default(),
        }
    }

    /// The rebalances since the last call, oldest first. They are recorded while the
    /// consumer polls, so draining them right after `recv` returns sees every
    /// rebalance that happened before the message it returned.
    pub fn take_rebalances(&self) -> Vec<RebalanceEvent> {
        std::mem::take(&mut *lock(&self.shared.rebalances))
    }

    /// The partitions' positions and lag in the latest statistics report (those the
    /// client knows, assigned or not: intersect with the assignment).
    pub fn progress(&self) -> BTreeMap<PartitionKey, PartitionProgress> {
        lock(&self.shared.progress).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn keys(list: &rdkafka::TopicPartitionList) -> Vec<PartitionKey> {
    list.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        let mut progress = BTreeMap::new();
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // -1 is librdkafka's internal "unassigned" partition.
                if *partition < 0 {
                    continue;
                }
                progress.insert(
                    (topic.clone(), *partition),
                    PartitionProgress {
                        position: p.app_offset,
                        lag: p.consumer_lag,
                    },
                );
                // A negative lag means not known yet (no stored offset or no watermark).
                if p.consumer_lag_stored < 0 {
                    continue;
                }
                metrics::gauge!(
                    "sagaflow_consumer_lag",
                    "consumer" => self.consumer.clone(),
                    "topic" => topic.clone(),
                    "partition" => partition.to_string(),
                )
                .set(p.consumer_lag_stored as f64);
            }
        }
        *lock(&self.shared.progress) = progress;
    }
}

impl ConsumerContext for LagContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            // librdkafka keeps an application pause across a revoke and a later
            // re-assignment of the same partition: clear it while we still own it.
            if let Err(err) = consumer.resume(list) {
                tracing::debug!(error = %err, "resuming revoked partitions");
            }
            lock(&self.shared.rebalances).push(RebalanceEvent::Revoked(keys(list)));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            lock(&self.shared.rebalances).push(RebalanceEvent::Assigned(keys(list)));
        }
    }
}

/// Decides when a member whose partitions stopped moving should rejoin its group:
/// some partition it holds (and has not paused itself) has data waiting on the broker
/// (`lag > 0`), and no such partition's position has moved for `idle`.
#[derive(Debug)]
pub struct Stall {
    idle: Duration,
    last: BTreeMap<PartitionKey, i64>,
    since: Option<Instant>,
}

impl Stall {
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            last: BTreeMap::new(),
            since: None,
        }
    }

    /// Feeds one observation; true when the member should rejoin (the detector then
    /// starts over).
    pub fn observe(
        &mut self,
        now: Instant,
        progress: &BTreeMap<PartitionKey, PartitionProgress>,
        paused: &BTreeSet<PartitionKey>,
    ) -> bool {
        let waiting: BTreeMap<PartitionKey, i64> = progress
            .iter()
            .filter(|(key, p)| p.lag > 0 && !paused.contains(*key))
            .map(|(key, p)| (key.clone(), p.position))
            .collect();
        if waiting.is_empty() {
            self.reset();
            return false;
        }
        let moved = waiting
            .iter()
            .any(|(key, position)| self.last.get(key).is_some_and(|last| last != position));
        let since = match self.since {
            Some(since) if !moved => since,
            _ => now,
        };
        self.last = waiting;
        self.since = Some(since);
        if now.duration_since(since) >= self.idle {
            self.reset();
            return true;
        }
        false
    }

    fn reset(&mut self) {
        self.last.clear();
        self.since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(position: i64, lag: i64) -> PartitionProgress {
        PartitionProgress { position, lag }
    }

    fn report(parts: &[(i32, PartitionProgress)]) -> BTreeMap<PartitionKey, PartitionProgress> {
        parts
            .iter()
            .map(|(p, s)| (("t".to_owned(), *p), *s))
            .collect()
    }

    const IDLE: Duration = Duration::from_secs(10);

    #[test]
    fn rejoins_when_waiting_data_does_not_move_for_idle() {
        let start = Instant::now();
        let mut stall = Stall::new(IDLE);
        let none = BTreeSet::new();
        let stuck = report(&[(0, at(5, 3)), (1, at(9, 0))]);
        assert!(!stall.observe(start, &stuck, &none));
        assert!(!stall.observe(start + Duration::from_secs(5), &stuck, &none));
        assert!(stall.observe(start + IDLE, &stuck, &none));
        // It starts over after deciding.
        assert!(!stall.observe(start + IDLE + Duration::from_secs(1), &stuck, &none));
    }

    #[test]
    fn progress_or_no_lag_or_own_pause_keeps_the_member() {
        let start = Instant::now();
        let none = BTreeSet::new();
        let mut stall = Stall::new(IDLE);
        // Moving partitions never trigger.
        for i in 0..30 {
            let now = start + Duration::from_secs(i);
            assert!(!stall.observe(now, &report(&[(0, at(i as i64, 3))]), &none));
        }
        // Caught up: nothing waiting, however long.
        let mut stall = Stall::new(IDLE);
        let idle = report(&[(0, at(7, 0)), (1, at(-1, -1))]);
        for i in 0..30 {
            assert!(!stall.observe(start + Duration::from_secs(i), &idle, &none));
        }
        // Paused by us because its handler is slow: not a broker problem.
        let mut stall = Stall::new(IDLE);
        let paused: BTreeSet<PartitionKey> = [("t".to_owned(), 0)].into();
        let slow = report(&[(0, at(5, 100))]);
        for i in 0..30 {
            assert!(!stall.observe(start + Duration::from_secs(i), &slow, &paused));
        }
    }

    #[test]
    fn a_move_restarts_the_clock() {
        let start = Instant::now();
        let none = BTreeSet::new();
        let mut stall = Stall::new(IDLE);
        assert!(!stall.observe(start, &report(&[(0, at(5, 3))]), &none));
        let later = start + Duration::from_secs(8);
        assert!(!stall.observe(later, &report(&[(0, at(6, 3))]), &none));
        assert!(!stall.observe(start + IDLE, &report(&[(0, at(6, 3))]), &none));
        assert!(stall.observe(later + IDLE, &report(&[(0, at(6, 3))]), &none));
    }
}
