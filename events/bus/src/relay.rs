//! The outbox relay: publishes committed outbox rows to Kafka and marks them sent
//! only after the broker acknowledged them (`acks=all`, idempotent producer), and
//! keeps the messaging tables small (housekeeping).
//!
//! Wake-up is `LISTEN sagaflow_outbox` (a trigger notifies on insert; unparking and
//! purging notify too) plus polling as a safety net. One relay publishes at a time
//! per database: the leader holds a session advisory lock on a connection of its
//! own, on which it runs its batches (a relay that loses that connection loses the
//! lock with it, and another takes over). A batch holds no transaction while it
//! waits for the broker: it reads the rows (one statement), publishes them, then
//! marks what happened in one statement (sent rows, charged attempts, parked rows).
//! A crash between the broker's ack and that statement (failpoint
//! `relay.after_ack`) publishes the rows again on restart: delivery is at least
//! once, and consumers' inboxes make the effect exactly once.
//!
//! A published row gets `sent_at` and is kept `OUTBOX_RETENTION_SECS` (for
//! inspection; erasure forgets a user's published rows at once, see
//! [`crate::outbox::forget_sent`]). With `OUTBOX_RETENTION_SECS=0` it is deleted on
//! the ack instead, in the same statement: no update and no later prune per row.
//!
//! # Order and bad rows
//! Order is kept per (topic, partition key), the unit Kafka orders by: within a key,
//! rows are handed to the idempotent producer in `id` order, which keeps a
//! partition's order, and a batch is one broker round trip however many rows a key
//! has. Keys never wait for each other's failures. Within a key, the first row
//! that fails is the one charged; the rows after it that failed too wait for the
//! next batch uncharged, and those the broker took anyway are marked sent (the one
//! case where a key's order can break, and only around a row that failed).
//!
//! A row that fails is classified by [`crate::publish_failure`]: a row the broker
//! can never take is *parked* at once; a refused row counts an attempt and is parked
//! after `OUTBOX_MAX_ATTEMPTS`; an unavailable broker or a full local queue counts
//! nothing. A parked row (`parked_at`, `last_error`) is never sent again on its own;
//! the later rows of its key are *held* (left unsent, not parked) until an operator
//! unparks or purges it ([`crate::outbox::unpark`], [`crate::outbox::purge_parked`]).
//! Every other key keeps flowing. Acked rows are always marked sent.
//!
//! # Housekeeping (every 5 s, in every relay, leader or not)
//! Published outbox rows older than `OUTBOX_RETENTION_SECS` and inbox rows older
//! than `INBOX_RETENTION_SECS` are deleted, at most 10,000 of each per round; the
//! gauges `sagaflow_outbox_backlog` and `sagaflow_outbox_parked` are set per
//! database.
//!
//! # Producer
//! The relay sends with a producer of its own ([`SharedProducer::private`]: relays
//! sharing one queued behind each other's requests in flight); when librdkafka
//! declares it fatally broken, the relay replaces it.
//!
//! # Metrics
//! `sagaflow_outbox_published_total`, `sagaflow_outbox_publish_seconds`,
//! `sagaflow_outbox_publish_failures_total` (failed sends of any kind),
//! `sagaflow_outbox_parked_total{topic}`, `sagaflow_outbox_pruned_total`,
//! `sagaflow_inbox_pruned_total`, and the two gauges above.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sagaflow_events::envelope::headers as names;
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::config::KafkaConfig;
use crate::error::Error;
use crate::failpoint;
use crate::producer::SharedProducer;
use crate::publish_failure::{self, Verdict};
use crate::traceparent::MessageTrace;

/// Arbitrary constant naming the relay's advisory lock (a session lock now; relays
/// of earlier versions took it per transaction, and the two exclude each other).
const RELAY_LOCK: i64 = 0x5a6a_f10e;

/// Rows deleted per table per housekeeping round.
pub const PRUNE_BATCH: i64 = 10_000;

/// How long [`Relay::run`] waits for a notification after a batch that published
/// nothing before it looks anyway (the safety net; rows written in a transaction
/// notify the relay when they commit). After a batch that published rows it looks
/// again within the poll interval (250 ms).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// How often [`Relay::run`] does its housekeeping.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);

/// How long a batch in flight at shutdown may still finish. A broker that is down
/// would hold it for `message.timeout.ms` (30 s); after the grace the batch is
/// dropped before it marks anything: its rows stay unsent and the next relay
/// publishes them again (consumers' inboxes drop any that did arrive).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Publishes a database's outbox.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    /// The process's producer for these settings; replaced for every holder when
    /// librdkafka reports it fatally broken.
    producer: SharedProducer,
    /// The connection that holds (or tries for) the relay's lock and runs its
    /// batches; `None` until the first batch, and after an error.
    leader: Arc<tokio::sync::Mutex<Option<Leader>>>,
    batch_size: i64,
    max_attempts: u32,
    poll_interval: Duration,
    retention: Duration,
    inbox_retention: Duration,
}

/// The relay's own connection, and whether it holds the relay lock on it.
struct Leader {
    conn: PgConnection,
    leading: bool,
}

/// One unsent outbox row as the relay reads it.
struct OutboxRow {
    id: i64,
    topic: String,
    key: String,
    headers: BTreeMap<String, String>,
    payload: Vec<u8>,
    attempts: i32,
}

impl OutboxRow {
    /// The span of this row's send: a Kafka producer span (`<topic> publish`, the
    /// OpenTelemetry messaging attributes) in the trace of the code that wrote
    /// the row.
    fn publish_span(&self) -> tracing::Span {
        let span = tracing::info_span!(
            "publish",
            otel.name = %format_args!("{} publish", self.topic),
            otel.kind = "producer",
            messaging.system = "kafka",
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = %self.topic,
            messaging.kafka.message.key = %self.key,
            messaging.message.id = self.headers.get(names::MESSAGE_ID).map(String::as_str),
            message_type = self.headers.get(names::MESSAGE_TYPE).map(String::as_str),
            outbox_id = self.id,
            otel.status_code = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        MessageTrace::from_headers(|name| self.headers.get(name).map(String::as_str)).adopt(&span);
        span
    }

    /// The Kafka record of this row. Sent inside its [`OutboxRow::publish_span`]
    /// while OpenTelemetry records it, the record carries that span's trace
    /// context, so the consumer's span is the child of the send; otherwise the
    /// headers the row was written with.
    fn record(&self) -> FutureRecord<'_, str, [u8]> {
        let sending = MessageTrace::current();
        let mut headers = OwnedHeaders::new_with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            let value = match &sending {
                Some(trace) if name == names::TRACEPARENT => trace.traceparent.as_deref(),
                Some(trace) if name == names::TRACESTATE => trace.tracestate.as_deref(),
                _ => Some(value.as_str()),
            };
            if let Some(value) = value {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value.as_bytes()),
                });
            }
        }
        if let Some(tracestate) = sending.as_ref().and_then(|t| t.tracestate.as_deref())
            && !self.headers.contains_key(names::TRACESTATE)
        {
            headers = headers.insert(Header {
                key: names::TRACESTATE,
                value: Some(tracestate.as_bytes()),
            });
        }
        FutureRecord::to(&self.topic)
            .key(self.key.as_str())
            .payload(self.payload.as_slice())
            .headers(headers)
    }
}

/// A failed row and what to write back for it.
struct Failed {
    id: i64,
    topic: String,
    key: String,
    attempts: i32,
    reason: String,
    park: bool,
}

/// What one batch did.
#[derive(Default)]
struct BatchOutcome {
    acked: Vec<i64>,
    failed: Vec<Failed>,
    fatal: bool,
}

impl BatchOutcome {
    fn fail(&mut self, row: &OutboxRow, error: &KafkaError, max_attempts: u32) {
        self.fatal |= publish_failure::is_fatal(error);
        let verdict = publish_failure::classify(error);
        let reason = error.to_string();
        let (attempts, park, reason) = match verdict {
            Verdict::Park => (row.attempts + 1, true, reason),
            Verdict::Attempt => {
                let attempts = row.attempts + 1;
                let park = attempts >= max_attempts as i32;
                let reason = if park {
                    format!("{reason} (after {attempts} attempts)")
                } else {
                    reason
                };
                (attempts, park, reason)
            }
            Verdict::Wait | Verdict::QueueFull => (row.attempts, false, reason),
        };
        self.failed.push(Failed {
            id: row.id,
            topic: row.topic.clone(),
            key: row.key.clone(),
            attempts,
            reason,
            park,
        });
    }
}

impl Relay {
    pub fn new(pool: PgPool, kafka: &KafkaConfig) -> Result<Self, Error> {
        Ok(Self {
            pool,
            producer: SharedProducer::private(&kafka.producer())?,
            leader: Arc::new(tokio::sync::Mutex::new(None)),
            batch_size: 500,
            max_attempts: kafka.outbox_max_attempts.max(1),
            poll_interval: Duration::from_millis(250),
            retention: Duration::from_secs(kafka.outbox_retention_secs),
            inbox_retention: Duration::from_secs(kafka.inbox_retention_secs),
        })
    }

    /// Rows per batch (default 500).
    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Failed attempts before a row is parked (default `OUTBOX_MAX_ATTEMPTS`, 5).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// Deletes up to 10,000 rows published more than the retention ago
    /// (`OUTBOX_RETENTION_SECS`); returns how many. Unsent and parked rows stay.
    pub async fn prune(&self) -> Result<u64, Error> {
        let pruned = sqlx::query(
            "DELETE FROM sagaflow_outbox WHERE id IN (
                 SELECT id FROM sagaflow_outbox
                 WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)
                 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(self.retention.as_secs_f64())
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if pruned > 0 {
            metrics::counter!("sagaflow_outbox_pruned_total").increment(pruned);
            debug!(pruned, "published outbox rows pruned");
        }
        Ok(pruned)
    }

    /// Deletes up to 10,000 inbox rows handled more than `INBOX_RETENTION_SECS` ago,
    /// oldest first; returns how many. (A message redelivered after its row is gone
    /// would be handled again: the window must outlast the topics' retention.)
    pub async fn prune_inbox(&self) -> Result<u64, Error> {
        let pruned = sqlx::query(
            "DELETE FROM sagaflow_inbox WHERE (consumer, message_id) IN (
                 SELECT consumer, message_id FROM sagaflow_inbox
                 WHERE handled_at < now() - make_interval(secs => $1)
                 ORDER BY handled_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(self.inbox_retention.as_secs_f64())
        .bind(PRUNE_BATCH)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if pruned > 0 {
            metrics::counter!("sagaflow_inbox_pruned_total").increment(pruned);
            debug!(pruned, "old inbox rows pruned");
        }
        Ok(pruned)
    }

    /// One housekeeping round: prunes the outbox and the inbox, and sets the
    /// `sagaflow_outbox_backlog` and `sagaflow_outbox_parked` gauges labelled with
    /// `database`. Failures are logged; the next round tries again.
    pub async fn housekeeping(&self, database: &str) {
        if let Err(err) = self.prune().await {
            warn!(error = %err, "pruning the published outbox rows failed");
        }
        if let Err(err) = self.prune_inbox().await {
            warn!(error = %err, "pruning old inbox rows failed");
        }
        let Ok(mut conn) = self.pool.acquire().await else {
            return;
        };
        if let Ok(n) = crate::outbox::backlog(&mut conn).await {
            metrics::gauge!("sagaflow_outbox_backlog", "database" => database.to_owned())
                .set(n as f64);
        }
        if let Ok(n) = crate::outbox::parked_count(&mut conn).await {
            metrics::gauge!("sagaflow_outbox_parked", "database" => database.to_owned())
                .set(n as f64);
        }
    }

    /// Publishes one batch of unsent rows and returns how many were acknowledged
    /// (0 when another relay leads). Parked rows and the rows held behind them are
    /// not read; see the module docs for what happens to a row that fails.
    pub async fn publish_batch(&self) -> Result<usize, Error> {
        let mut leader = self.leader.lock().await;
        let result = self.publish_as_leader(&mut leader).await;
        if result.is_err() {
            // The connection may be broken: drop it, and the lock with it (the
            // server releases a session's locks when it ends); the next batch
            // connects again.
            *leader = None;
        }
        result
    }

    /// The relay's connection, when it holds the relay lock (connects and tries
    /// for the lock as needed).
    async fn lead<'a>(
        &self,
        leader: &'a mut Option<Leader>,
    ) -> Result<Option<&'a mut PgConnection>, Error> {
        if leader.is_none() {
            let options = self.pool.connect_options();
            let conn = PgConnection::connect_with(&options).await?;
            *leader = Some(Leader {
                conn,
                leading: false,
            });
        }
        let Some(leader) = leader.as_mut() else {
            return Ok(None);
        };
        if !leader.leading {
            leader.leading = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(RELAY_LOCK)
                .fetch_one(&mut leader.conn)
                .await?;
        }
        Ok(leader.leading.then_some(&mut leader.conn))
    }

    async fn publish_as_leader(&self, leader: &mut Option<Leader>) -> Result<usize, Error> {
        let Some(conn) = self.lead(leader).await? else {
            return Ok(0);
        };
        let rows = sqlx::query(
            "SELECT o.id, o.topic, o.partition_key, o.headers, o.payload, o.attempts
             FROM sagaflow_outbox o
             WHERE o.sent_at IS NULL AND o.parked_at IS NULL
               AND NOT EXISTS (
                   SELECT 1 FROM sagaflow_outbox p
                   WHERE p.parked_at IS NOT NULL AND p.sent_at IS NULL
                     AND p.topic = o.topic AND p.partition_key = o.partition_key
                     AND p.id < o.id)
             ORDER BY o.id LIMIT $1",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let (lanes, unreadable) = lanes(rows)?;
        let producer = self.producer.get();
        let mut outcome = self.send_pipelined(&producer, &lanes).await;
        outcome.failed.extend(unreadable);

        failpoint::hit("relay.after_ack").await;
        self.mark(conn, &outcome).await?;

        let elapsed = started.elapsed().as_secs_f64();
        metrics::histogram!("sagaflow_outbox_publish_seconds").record(elapsed);
        metrics::counter!("sagaflow_outbox_published_total").increment(outcome.acked.len() as u64);
        if !outcome.failed.is_empty() {
            metrics::counter!("sagaflow_outbox_publish_failures_total")
                .increment(outcome.failed.len() as u64);
        }
        for failed in &outcome.failed {
            if failed.park {
                metrics::counter!("sagaflow_outbox_parked_total", "topic" => failed.topic.clone())
                    .increment(1);
                warn!(
                    outbox_id = failed.id,
                    topic = %failed.topic,
                    key = %failed.key,
                    attempts = failed.attempts,
                    reason = %failed.reason,
                    "outbox row parked: it is not sent again, and later rows of its key wait, until an operator unparks or purges it"
                );
            } else {
                warn!(
                    outbox_id = failed.id,
                    topic = %failed.topic,
                    key = %failed.key,
                    attempts = failed.attempts,
                    reason = %failed.reason,
                    "outbox row not published; will retry"
                );
            }
        }
        if outcome.fatal {
            error!("the outbox relay's producer hit a fatal error; creating a new one");
            self.producer.replace(&producer)?;
        }
        debug!(count = outcome.acked.len(), "outbox batch published");
        Ok(outcome.acked.len())
    }

    /// Sends every row of `lanes` (one per key, each in `id` order) at once, then
    /// waits for the acks: the idempotent producer keeps each partition's order,
    /// so a healthy batch costs one broker round trip. Within a key, the first row
    /// that fails is the one charged (an attempt, or parked); the rows after it
    /// that failed too are held for the next batch without being charged, and
    /// those the broker took anyway are marked sent (re-sending would duplicate
    /// them; they are the one case where a key's order can break, and only
    /// around a row that failed). A row refused by the local producer stops its
    /// key for this batch before the rest of the key is sent.
    async fn send_pipelined(
        &self,
        producer: &FutureProducer,
        lanes: &[VecDeque<OutboxRow>],
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut in_flight = Vec::new();
        let mut failed_lanes: HashSet<usize> = HashSet::new();
        'lanes: for (lane, rows) in lanes.iter().enumerate() {
            for (position, row) in rows.iter().enumerate() {
                let span = row.publish_span();
                // Built inside the span, so the record carries the send's context.
                let record = span.in_scope(|| row.record());
                match producer.send_result(record) {
                    Ok(delivery) => in_flight.push((lane, position, delivery, span)),
                    Err((err, _)) if publish_failure::classify(&err) == Verdict::QueueFull => {
                        // Not the row's fault: what is queued goes out, the rest
                        // waits for the next batch (still in order).
                        debug!(error = %err, "producer queue full; the rest waits for the next batch");
                        break 'lanes;
                    }
                    Err((err, _)) => {
                        outcome.fail(row, &err, self.max_attempts);
                        failed_lanes.insert(lane);
                        if outcome.fatal {
                            break 'lanes;
                        }
                        continue 'lanes;
                    }
                }
            }
        }
        for (lane, position, delivery, span) in in_flight {
            let row = &lanes[lane][position];
            let error = match delivery.await {
                Ok(Ok(_)) => {
                    outcome.acked.push(row.id);
                    continue;
                }
                Ok(Err((err, _))) => err,
                Err(_) => KafkaError::Canceled,
            };
            span.record("otel.status_code", "ERROR");
            span.record("error", tracing::field::display(&error));
            if failed_lanes.insert(lane) {
                outcome.fail(row, &error, self.max_attempts);
            } else {
                debug!(outbox_id = row.id, error = %error, "held behind an earlier failed row of its key");
            }
        }
        outcome
    }

    /// Writes what a batch did in one statement (one round trip, one commit):
    /// acked rows marked sent (or deleted, when `OUTBOX_RETENTION_SECS` is 0),
    /// failed rows charged or parked.
    async fn mark(&self, conn: &mut PgConnection, outcome: &BatchOutcome) -> Result<(), Error> {
        if outcome.acked.is_empty() && outcome.failed.is_empty() {
            return Ok(());
        }
        let sent = if self.retention.is_zero() {
            "DELETE FROM sagaflow_outbox WHERE id = ANY($1)"
        } else {
            "UPDATE sagaflow_outbox SET sent_at = now() WHERE id = ANY($1)"
        };
        let ids: Vec<i64> = outcome.failed.iter().map(|f| f.id).collect();
        let attempts: Vec<i32> = outcome.failed.iter().map(|f| f.attempts).collect();
        let reasons: Vec<&str> = outcome.failed.iter().map(|f| f.reason.as_str()).collect();
        let park: Vec<bool> = outcome.failed.iter().map(|f| f.park).collect();
        sqlx::query(&format!(
            "WITH sent AS ({sent}),
             failed AS (
                 UPDATE sagaflow_outbox o
                 SET attempts = u.attempts, last_error = u.reason,
                     parked_at = CASE WHEN u.park THEN now() END
                 FROM UNNEST($2::bigint[], $3::int[], $4::text[], $5::bool[])
                      AS u(id, attempts, reason, park)
                 WHERE o.id = u.id)
             SELECT 1"
        ))
        .bind(&outcome.acked)
        .bind(&ids)
        .bind(&attempts)
        .bind(&reasons)
        .bind(&park)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Runs until `shutdown`: publishes whenever notified, within 250 ms after a
    /// batch that published rows, and every 2 s otherwise (a safety net; a relay
    /// that does not lead checks on the leader as often); does its housekeeping
    /// every 5 s ([`Relay::housekeeping`]).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen("sagaflow_outbox").await?;
        // Labels the gauges: one process may run several services' relays.
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&self.pool)
            .await?;
        let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
            .fetch_one(&self.pool)
            .await?;
        if autovacuum != "on" {
            warn!(
                %database,
                "autovacuum is off on this PostgreSQL server: the outbox and inbox leave a dead row per message and the relay slows down as they pile up; turn it on"
            );
        }
        let mut failures = 0u32;
        let mut last_housekeeping = Instant::now() - HOUSEKEEPING_EVERY * 2;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let batch = self.publish_batch();
            tokio::pin!(batch);
            let result = tokio::select! {
                result = &mut batch => result,
                _ = shutdown.cancelled() => match tokio::time::timeout(SHUTDOWN_GRACE, &mut batch).await {
                    Ok(result) => result,
                    Err(_) => {
                        warn!("shutting down with a batch in flight; its rows stay unsent and are published again later");
                        return Ok(());
                    }
                },
            };
            let wait = match result {
                Ok(n) if n as i64 >= self.batch_size => {
                    failures = 0;
                    continue;
                }
                Ok(0) => {
                    failures = 0;
                    IDLE_POLL
                }
                Ok(_) => {
                    failures = 0;
                    self.poll_interval
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    warn!(error = %err, failures, "outbox relay batch failed");
                    let pause = Duration::from_millis(50u64.saturating_mul(1 << failures.min(6)));
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            if last_housekeeping.elapsed() > HOUSEKEEPING_EVERY {
                last_housekeeping = Instant::now();
                self.housekeeping(&database).await;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                notified = listener.recv() => {
                    if let Err(err) = notified {
                        warn!(error = %err, "outbox listener lost its connection; polling until it is back");
                        tokio::time::sleep(self.poll_interval).await;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Groups rows (in `id` order) by (topic, partition key), keeping `id` order within
/// each group and the order in which keys first appear. A row whose headers cannot
/// be read is parked (returned as failed) and holds back the rest of its key.
fn lanes(
    rows: Vec<sqlx::postgres::PgRow>,
) -> Result<(Vec<VecDeque<OutboxRow>>, Vec<Failed>), Error> {
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut blocked: HashSet<(String, String)> = HashSet::new();
    let mut lanes: Vec<VecDeque<OutboxRow>> = Vec::new();
    let mut unreadable = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let topic: String = row.try_get("topic")?;
        let key: String = row.try_get("partition_key")?;
        let attempts: i32 = row.try_get("attempts")?;
        let lane_key = (topic, key);
        if blocked.contains(&lane_key) {
            continue;
        }
        let headers = match row.try_get::<Json<BTreeMap<String, String>>, _>("headers") {
            Ok(Json(headers)) => headers,
            Err(err) => {
                let (topic, key) = lane_key.clone();
                unreadable.push(Failed {
                    id,
                    topic,
                    key,
                    attempts: attempts + 1,
                    reason: format!("headers are not a JSON object of strings: {err}"),
                    park: true,
                });
                blocked.insert(lane_key);
                continue;
            }
        };
        let lane = *index.entry(lane_key.clone()).or_insert_with(|| {
            lanes.push(VecDeque::new());
            lanes.len() - 1
        });
        let (topic, key) = lane_key;
        lanes[lane].push_back(OutboxRow {
            id,
            topic,
            key,
            headers,
            payload: row.try_get("payload")?,
            attempts,
        });
    }
    Ok((lanes, unreadable))
}
