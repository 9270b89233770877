//! The inbox consumer: each message is handled in one Postgres transaction that
//! also inserts `(consumer, message_id)` into `sagaflow_inbox` (a duplicate is
//! skipped) and writes the handler's outgoing messages to the outbox. The Kafka
//! offset is stored only after that transaction commits (the `at_least_once`
//! pattern), and committed in the background.
//!
//! Every assigned partition has its own lane (a queue and a task, see [`lanes`]), so
//! messages of one partition are handled in order while partitions proceed in
//! parallel, and a partition whose handler is stuck or retrying only pauses itself:
//! the consumer loop never waits on a lane. At most `workers` transactions are open
//! at once. Messages that queue up on a lane are handled in one transaction (one
//! commit, and one inbox statement, for many under load); any failure in such a
//! batch rolls it back and its messages are handled one by one, with the usual
//! retries and dead letters. Dead letters go out through the process's shared
//! producer ([`crate::producer`]).
//!
//! Failures follow the classes of [`crate::failure`], for the handler's errors, the
//! inbox's own writes and the look-up of a schema id that is not built in
//! ([`crate::schema_ids`], when `SCHEMA_REGISTRY_URL` is set) alike: an unavailable database is waited out without a
//! bound (never dead-lettered), transient failures are retried a bounded number of
//! times, poison (including data PostgreSQL refuses to store, such as a NUL byte in a
//! header) is dead-lettered at once and the partition flows on.
//!
//! A side effect outside our database (a payment provider, an LLM) never runs inside
//! that transaction: [`Handler::prepare`] runs first, on its own connections, and
//! records the effect's outcome under a key derived from the message id; `handle`
//! then reads the recorded outcome. A redelivery, a batch replayed one by one, or a
//! crash between the two reuses the outcome instead of calling again.
//!
//! A member never waits on its group for ever: when partitions it holds have data
//! waiting and stop moving ([`crate::lag::Stall`]), or partitions it does not hold
//! keep data that nobody consumes ([`crate::group_stall`]), it leaves and rejoins
//! the group, which hands out the partitions again (a broker that keeps a killed
//! member in the group needs this; on Kafka it does not fire).
//!
//! # Layout
//! - this file: [`Handler`], [`InboxConsumer`] and its consumer loop and watchdog,
//!   [`process`].
//! - [`lanes`]: one queue and task per partition; pause and resume; revokes.
//! - `worker`: the transaction, the retry loop by failure class, dead letters,
//!   offsets.
//! - `record`: an owned copy of a consumed record.

mod lanes;
mod record;
mod worker;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::KafkaConfig;
use crate::error::Error;
use crate::failure::{Backoff, Failure};
use crate::group_stall::{GroupOffset, GroupStall, group_offsets};
use crate::lag::{LagContext, PartitionKey, RebalanceEvent, STATS_INTERVAL_MS, Stall};
use crate::message::{Incoming, Outgoing};
use crate::producer::SharedProducer;
use crate::schema_ids::SchemaIds;
use lanes::Lanes;
use record::Record;
use worker::{Policy, Worker};

/// Handles one message inside the consumer's transaction. Return the messages to
/// publish (replies, follow-up commands); they are written to the outbox in the same
/// transaction. A business failure is a reply, not an error (see [`crate::failure`]).
pub trait Handler: Send + Sync + 'static {
    /// Whether [`Handler::prepare`] does anything: when false (the default) the
    /// inbox skips it and the look-up that guards it.
    const PREPARES: bool = false;

    /// Runs before the message's transaction opens when [`Handler::PREPARES`] (and
    /// again if the message is retried or redelivered, so it must be idempotent): the place for a call to a
    /// system outside our database, keyed by the message id, whose outcome it
    /// records for `handle` to read. Not called for a message the inbox has already
    /// handled. The default does nothing.
    fn prepare<'a>(
        &'a self,
        pool: &'a PgPool,
        message: &'a Incoming,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        let _ = (pool, message);
        std::future::ready(Ok(()))
    }

    /// Whether the handler wants `message` at all, judged from its envelope (type,
    /// tenant, saga) before any database work. A message it does not want is
    /// skipped: no transaction, no inbox row, its offset moves on
    /// ([`Outcome::Skipped`], `sagaflow_inbox_skipped_total`). For consumers of a
    /// shared topic that need few of its messages. The default wants everything.
    fn wants(&self, message: &Incoming) -> bool {
        let _ = message;
        true
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        message: &'a Incoming,
    ) -> impl Future<Output = Result<Vec<Outgoing>, Failure>> + Send + 'a;
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Handled,
    Duplicate,
    /// The handler does not want it ([`Handler::wants`]); nothing was written.
    Skipped,
    Poison(String),
}

/// A consumer group member that feeds a [`Handler`].
pub struct InboxConsumer<H> {
    name: String,
    topics: Vec<String>,
    pool: PgPool,
    kafka: KafkaConfig,
    handler: Arc<H>,
    workers: usize,
    backoff: Backoff,
    unavailable: Backoff,
    max_batch: usize,
    lane_limit: usize,
}

impl<H: Handler> InboxConsumer<H> {
    /// `name` is both the consumer group id and the inbox's consumer name.
    /// The lane limit and the unavailable-database schedule come from `kafka`
    /// (`INBOX_LANE_LIMIT`, `INBOX_UNAVAILABLE_BACKOFF_MS`); the builders below
    /// override them.
    pub fn new(name: &str, topics: &[&str], pool: PgPool, kafka: KafkaConfig, handler: H) -> Self {
        Self {
            name: name.to_owned(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            pool,
            unavailable: kafka.inbox_unavailable_backoff(),
            lane_limit: (kafka.inbox_lane_limit as usize).max(1),
            kafka,
            handler: Arc::new(handler),
            workers: 4,
            backoff: Backoff::default(),
            max_batch: 32,
        }
    }

    /// Most messages handled in one transaction when they queue up (default 32;
    /// 1 turns batching off).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// Most transactions open at once, over all partitions (default 4). A handler
    /// that never returns holds one of them; the other partitions share the rest.
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// The bounded schedule for transient failures.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The schedule for waiting out an unavailable database (default
    /// [`KafkaConfig::inbox_unavailable_backoff`]: `INBOX_UNAVAILABLE_BACKOFF_MS`,
    /// 100 ms, doubling to 5 s); its `max_attempts` is ignored, an outage is
    /// waited out without a bound.
    pub fn with_unavailable_backoff(mut self, backoff: Backoff) -> Self {
        self.unavailable = backoff;
        self
    }

    /// Records queued per partition before the partition is paused on the consumer
    /// (default `INBOX_LANE_LIMIT`, 256).
    pub fn with_lane_limit(mut self, limit: usize) -> Self {
        self.lane_limit = limit.max(1);
        self
    }

    /// The database the handler writes to (and its outbox lives in).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The Kafka settings the consumer was built with.
    pub fn kafka(&self) -> &KafkaConfig {
        &self.kafka
    }

    /// Consumes until `shutdown`, then finishes the in-flight messages, commits the
    /// stored offsets and returns. A retry wait never holds up the shutdown.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let consumer: Arc<StreamConsumer<LagContext>> = Arc::new(
            self.kafka
                .consumer(&self.name)
                .set("statistics.interval.ms", STATS_INTERVAL_MS.to_string())
                .create_with_context(LagContext::new(&self.name))?,
        );
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let producer = SharedProducer::new(&self.kafka.producer())?;
        let schema_ids = SchemaIds::new(self.kafka.schema_registry_url.as_deref())?;
        let worker = Arc::new(Worker {
            name: self.name.clone(),
            pool: self.pool.clone(),
            handler: self.handler.clone(),
            backoff: self.backoff,
            unavailable: self.unavailable,
            producer,
            consumer: consumer.clone(),
            permits: Semaphore::new(self.workers),
            schema_ids,
        });
        let (mut lanes, mut wakes) = Lanes::new(
            worker,
            consumer.clone(),
            self.lane_limit,
            self.max_batch,
            shutdown.clone(),
        );
        info!(consumer = %self.name, topics = ?self.topics, "consumer started");
        // KAFKA_REJOIN_IDLE_MS: rejoin after that long without partitions, and judge
        // a stall over it; 0 (the default) rejoins an unassigned member only when its
        // group leaves data unconsumed, and judges stalls over STALL_IDLE.
        let rejoin_idle = Duration::from_millis(u64::from(self.kafka.rejoin_idle_ms));
        let stall_idle = if rejoin_idle.is_zero() {
            STALL_IDLE
        } else {
            rejoin_idle
        };
        // Positions come from statistics every STATS_INTERVAL_MS: judge a stall over
        // at least two reports.
        let mut stall =
            Stall::new(stall_idle.max(Duration::from_millis(2 * u64::from(STATS_INTERVAL_MS))));
        let mut group_stall = GroupStall::new(stall_idle);
        let mut group_query: Option<GroupQuery> = None;
        let mut group_asked = Instant::now();
        let mut watchdog = tokio::time::interval(Duration::from_secs(1));
        let mut assigned_at = Instant::now();
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(key) = wakes.recv() => {
                    lanes.wake(&key);
                    continue;
                }
                message = consumer.recv() => message,
                _ = watchdog.tick() => {
                    apply_rebalances(&consumer, &mut lanes);
                    lanes.wake_all();
                    let assignment: BTreeSet<PartitionKey> = consumer
                        .assignment()
                        .map(|a| a.elements().iter().map(|e| (e.topic().to_owned(), e.partition())).collect())
                        .unwrap_or_default();
                    let mut rejoin = if !assignment.is_empty() {
                        assigned_at = Instant::now();
                        let mut progress = consumer.context().progress();
                        progress.retain(|key, _| assignment.contains(key));
                        let stalled = stall.observe(Instant::now(), &progress, &lanes.paused());
                        if stalled {
                            warn!(consumer = %self.name, "assigned partitions have data waiting but have not moved; rejoining the group");
                        }
                        stalled
                    } else if !rejoin_idle.is_zero() && assigned_at.elapsed() >= rejoin_idle {
                        warn!(consumer = %self.name, "no partitions assigned for {rejoin_idle:?}; rejoining the group");
                        true
                    } else {
                        false
                    };
                    // The partitions this member does not hold: ask the broker where
                    // the group stands, off the runtime, every GROUP_QUERY_EVERY.
                    match group_query.as_mut().map(|q| q.try_take()) {
                        Some(Some(answer)) => {
                            group_query = None;
                            match answer {
                                Ok(mut offsets) => {
                                    offsets.retain(|key, _| !assignment.contains(key));
                                    if !rejoin && group_stall.observe(Instant::now(), &offsets) {
                                        warn!(consumer = %self.name, held = assignment.len(), "partitions nobody consumes have data waiting; rejoining the group");
                                        rejoin = true;
                                    }
                                }
                                Err(err) => {
                                    debug!(consumer = %self.name, error = %err, "reading the group's offsets");
                                }
                            }
                        }
                        Some(None) => {}
                        None => {
                            if group_asked.elapsed() >= GROUP_QUERY_EVERY {
                                group_asked = Instant::now();
                                group_query = Some(GroupQuery::start(consumer.clone(), self.topics.clone()));
                            }
                        }
                    }
                    if rejoin {
                        consumer.unsubscribe();
                        consumer.subscribe(&topics)?;
                        assigned_at = Instant::now();
                        group_stall.reset();
                    }
                    continue;
                }
            };
            // Rebalances are recorded while `recv` polls: apply them before the
            // message that came after them.
            apply_rebalances(&consumer, &mut lanes);
            match message {
                Ok(message) => lanes.dispatch(Record::from(&message)),
                Err(err) => {
                    warn!(consumer = %self.name, error = %err, "kafka consume error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        lanes.close().await;
        if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last background commit is not an error.
            debug!(consumer = %self.name, error = %err, "final offset commit");
        }
        info!(consumer = %self.name, "consumer stopped");
        Ok(())
    }
}

/// How long assigned partitions with data may stand still, and how long a
/// partition nobody consumes may hold data, before the member rejoins (when
/// `KAFKA_REJOIN_IDLE_MS` is 0).
pub const STALL_IDLE: Duration = Duration::from_secs(30);

/// How often a member asks where its group stands.
const GROUP_QUERY_EVERY: Duration = Duration::from_secs(10);

type GroupAnswer =
    Result<std::collections::BTreeMap<PartitionKey, GroupOffset>, rdkafka::error::KafkaError>;

/// One [`group_offsets`] query running on the blocking pool.
struct GroupQuery(tokio::task::JoinHandle<GroupAnswer>);

impl GroupQuery {
    fn start(consumer: Arc<StreamConsumer<LagContext>>, topics: Vec<String>) -> Self {
        Self(tokio::task::spawn_blocking(move || {
            group_offsets(&consumer, &topics, Duration::from_secs(5))
        }))
    }

    /// The answer once the query has finished (a query that panicked reads as
    /// cancelled).
    fn try_take(&mut self) -> Option<GroupAnswer> {
        use futures::FutureExt;
        let joined = (&mut self.0).now_or_never()?;
        Some(joined.unwrap_or(Err(rdkafka::error::KafkaError::Canceled)))
    }
}

fn apply_rebalances<H: Handler>(consumer: &StreamConsumer<LagContext>, lanes: &mut Lanes<H>) {
    for event in consumer.context().take_rebalances() {
        match event {
            RebalanceEvent::Revoked(keys) => lanes.revoke(&keys),
            RebalanceEvent::Assigned(keys) => lanes.assign(&keys),
        }
    }
}

/// Handles one message exactly once per consumer name: the single step of the
/// consumer loop, public so tests can drive it without Kafka.
///
/// Transient failures are retried per `backoff` and become poison past its bound;
/// poison (including data the database refuses, a constraint the handler did not
/// catch) is returned at once; an unavailable database is waited out per
/// [`Backoff::UNAVAILABLE`] without a bound. Schema ids that are not built in are
/// not looked up (no schema registry).
pub async fn process<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    incoming: &Incoming,
    backoff: Backoff,
) -> Outcome {
    let never = CancellationToken::new();
    let no_registry = SchemaIds::default();
    let policy = Policy {
        backoff,
        unavailable: Backoff::UNAVAILABLE,
        stop: &never,
        permits: None,
        schema_ids: &no_registry,
    };
    match worker::settle(pool, handler, consumer, incoming, policy).await {
        Some(outcome) => outcome,
        None => unreachable!("the stop token of process is never cancelled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    impl Handler for Nothing {
        async fn handle(
            &self,
            _tx: &mut PgConnection,
            _message: &Incoming,
        ) -> Result<Vec<Outgoing>, Failure> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn the_lane_limit_and_the_outage_schedule_come_from_the_settings() {
        let pool = PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").expect("lazy pool");
        let kafka = KafkaConfig {
            inbox_lane_limit: 17,
            inbox_unavailable_backoff_ms: 40,
            ..KafkaConfig::new("a:1")
        };
        let consumer = InboxConsumer::new("c", &["t"], pool, kafka, Nothing);
        assert_eq!(consumer.lane_limit, 17);
        assert_eq!(consumer.unavailable.initial, Duration::from_millis(40));
        let consumer = consumer
            .with_lane_limit(5)
            .with_unavailable_backoff(Backoff::UNAVAILABLE);
        assert_eq!(consumer.lane_limit, 5, "the builder overrides the setting");
        assert_eq!(consumer.unavailable.initial, Backoff::UNAVAILABLE.initial);
    }
}
