//! Lanes: one queue and one task per assigned partition, so messages of a partition
//! are handled in order while a slow or stuck partition never holds back the others.
//!
//! The consumer loop hands every record to [`Lanes::dispatch`], which never waits:
//! it queues the record on its partition's lane. When a lane holds `limit` records
//! (its handler is slow, stuck, or waiting out a retry), the partition is paused on
//! the consumer; librdkafka then stops fetching it and, on resume, fetches again from
//! the first record it has not handed over, so nothing is lost or repeated. The lane
//! task asks for a resume ([`Lanes::wake`]) once it has taken the queue down to a
//! quarter of `limit`.
//!
//! On a revoke ([`Lanes::revoke`]) a partition's lane is stopped: its in-flight
//! message finishes, the queued rest is dropped for the new owner to handle, and its
//! paused state goes with it (the client context resumes revoked partitions, see
//! [`crate::lag`]). How many transactions run at once is bounded by the worker's
//! permits, not by the number of lanes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::Handler;
use super::record::Record;
use super::worker::Worker;
use crate::lag::{LagContext, PartitionKey};

/// What a lane's task and the consumer loop share.
#[derive(Default)]
struct Shared {
    queued: AtomicUsize,
    paused: AtomicBool,
}

struct Lane {
    tx: mpsc::UnboundedSender<Record>,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// The lanes of one consumer.
pub(super) struct Lanes<H> {
    worker: Arc<Worker<H>>,
    consumer: Arc<StreamConsumer<LagContext>>,
    lanes: HashMap<PartitionKey, Lane>,
    tasks: JoinSet<()>,
    limit: usize,
    max_batch: usize,
    shutdown: CancellationToken,
    wake_tx: mpsc::UnboundedSender<PartitionKey>,
}

impl<H: Handler> Lanes<H> {
    /// Lanes that queue up to `limit` records per partition before pausing it; the
    /// receiver yields the partitions whose lane asks to be resumed.
    pub fn new(
        worker: Arc<Worker<H>>,
        consumer: Arc<StreamConsumer<LagContext>>,
        limit: usize,
        max_batch: usize,
        shutdown: CancellationToken,
    ) -> (Self, mpsc::UnboundedReceiver<PartitionKey>) {
        let (wake_tx, wake_rx) = mpsc::unbounded_channel();
        let lanes = Self {
            worker,
            consumer,
            lanes: HashMap::new(),
            tasks: JoinSet::new(),
            limit: limit.max(1),
            max_batch: max_batch.max(1),
            shutdown,
            wake_tx,
        };
        (lanes, wake_rx)
    }

    /// Queues `record` on its partition's lane without waiting; pauses the partition
    /// when the lane is full.
    pub fn dispatch(&mut self, record: Record) {
        let key = record.partition_key();
        let lane = match self.lanes.get(&key) {
            Some(lane) => lane,
            None => {
                let lane = self.spawn(key.clone());
                self.lanes.entry(key.clone()).or_insert(lane)
            }
        };
        let queued = lane.shared.queued.fetch_add(1, Ordering::SeqCst) + 1;
        if lane.tx.send(record).is_err() {
            // The lane stopped (shutdown): the record is redelivered after restart.
            return;
        }
        if queued >= self.limit && !lane.shared.paused.load(Ordering::SeqCst) {
            // Flag first, then look at the queue again: either the lane task sees the
            // flag when it drains (and asks for a resume) or this sees the drain.
            lane.shared.paused.store(true, Ordering::SeqCst);
            match self.consumer.pause(&list(&key)) {
                Ok(()) => {
                    metrics::counter!("sagaflow_consumer_pauses_total", "consumer" => self.worker.name.clone())
                        .increment(1);
                    debug!(topic = %key.0, partition = key.1, queued, "partition paused: its lane is full");
                    self.wake(&key);
                }
                Err(err) => {
                    lane.shared.paused.store(false, Ordering::SeqCst);
                    warn!(topic = %key.0, partition = key.1, error = %err, "could not pause partition");
                }
            }
        }
    }

    /// Resumes every paused lane that has drained (a safety net for a lost wake).
    pub fn wake_all(&mut self) {
        for key in self.paused() {
            self.wake(&key);
        }
    }

    /// Resumes `key` if its lane is paused and has drained to a quarter of its limit.
    pub fn wake(&mut self, key: &PartitionKey) {
        let Some(lane) = self.lanes.get(key) else {
            return;
        };
        if lane.shared.paused.load(Ordering::SeqCst)
            && lane.shared.queued.load(Ordering::SeqCst) <= self.limit / 4
        {
            match self.consumer.resume(&list(key)) {
                Ok(()) => {
                    lane.shared.paused.store(false, Ordering::SeqCst);
                    debug!(topic = %key.0, partition = key.1, "partition resumed");
                }
                Err(err) => {
                    warn!(topic = %key.0, partition = key.1, error = %err, "could not resume partition");
                }
            }
        }
    }

    /// Stops the lanes of revoked partitions (their in-flight message finishes).
    pub fn revoke(&mut self, keys: &[PartitionKey]) {
        for key in keys {
            if let Some(lane) = self.lanes.remove(key) {
                lane.stop.cancel();
            }
        }
        // Reap lanes that have finished.
        while self.tasks.try_join_next().is_some() {}
    }

    /// Newly assigned partitions start unpaused (a pause never survives a revoke).
    pub fn assign(&mut self, keys: &[PartitionKey]) {
        let mut resume = TopicPartitionList::new();
        for key in keys {
            let paused = self
                .lanes
                .get(key)
                .is_some_and(|lane| lane.shared.paused.load(Ordering::SeqCst));
            if !paused {
                resume.add_partition(&key.0, key.1);
            }
        }
        if resume.count() > 0
            && let Err(err) = self.consumer.resume(&resume)
        {
            debug!(error = %err, "resuming assigned partitions");
        }
    }

    /// The partitions paused because their lane is full.
    pub fn paused(&self) -> BTreeSet<PartitionKey> {
        self.lanes
            .iter()
            .filter(|(_, lane)| lane.shared.paused.load(Ordering::SeqCst))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Lets every lane finish its in-flight message (queued ones wait for the next
    /// start when `shutdown` is cancelled) and waits for them.
    pub async fn close(mut self) {
        self.lanes.clear();
        while self.tasks.join_next().await.is_some() {}
    }

    fn spawn(&mut self, key: PartitionKey) -> Lane {
        let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
        let shared = Arc::new(Shared::default());
        let stop = self.shutdown.child_token();
        let worker = self.worker.clone();
        let max_batch = self.max_batch;
        let low = self.limit / 4;
        let wake = self.wake_tx.clone();
        let lane_shared = shared.clone();
        let lane_stop = stop.clone();
        self.tasks.spawn(async move {
            loop {
                let first = tokio::select! {
                    _ = lane_stop.cancelled() => break,
                    first = rx.recv() => match first {
                        Some(first) => first,
                        None => break,
                    },
                };
                // Whatever else is already waiting goes in the same transaction.
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
                let left =
                    lane_shared.queued.fetch_sub(batch.len(), Ordering::SeqCst) - batch.len();
                if left <= low && lane_shared.paused.load(Ordering::SeqCst) {
                    let _ = wake.send(key.clone());
                }
                if !worker.consume_batch(batch, &lane_stop).await {
                    break;
                }
            }
        });
        Lane { tx, shared, stop }
    }
}

fn list(key: &PartitionKey) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    // Pause and resume ignore the offset.
    let _ = list.add_partition_offset(&key.0, key.1, Offset::Invalid);
    list
}
