//! The inbox consumer: each message is handled in one Postgres transaction that
//! also inserts `(consumer, message_id)` into `sagaflow_inbox` (a duplicate is
//! skipped) and writes the handler's outgoing messages to the outbox. The Kafka
//! offset is stored only after that transaction commits (the `at_least_once`
//! pattern), and committed in the background.
//!
//! Partitions are spread over a fixed number of worker tasks (`partition % workers`),
//! so messages of one partition are handled in order while partitions proceed in
//! parallel. Messages that queue up for a worker are handled in one transaction
//! (one commit for many under load); any failure in such a batch rolls it back and
//! its messages are handled one by one, with the usual retries and dead letters.
//!
//! A side effect outside our database (a payment provider, an LLM) never runs inside
//! that transaction: [`Handler::prepare`] runs first, on its own connections, and
//! records the effect's outcome under a key derived from the message id; `handle`
//! then reads the recorded outcome. A redelivery, a batch replayed one by one, or a
//! crash between the two reuses the outcome instead of calling again.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};

use crate::lag::{LagContext, STATS_INTERVAL_MS};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::FutureProducer;
use sagaflow_events::Envelope;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::config::KafkaConfig;
use crate::dead_letter::{self, RawRecord};
use crate::error::Error;
use crate::failure::{Backoff, Failure};
use crate::message::{Incoming, Outgoing};
use crate::outbox;

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
    max_batch: usize,
}

impl<H: Handler> InboxConsumer<H> {
    /// `name` is both the consumer group id and the inbox's consumer name.
    pub fn new(name: &str, topics: &[&str], pool: PgPool, kafka: KafkaConfig, handler: H) -> Self {
        Self {
            name: name.to_owned(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            pool,
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

    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Consumes until `shutdown`, then finishes the in-flight messages, commits the
    /// stored offsets and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let consumer: Arc<StreamConsumer<LagContext>> = Arc::new(
            self.kafka
                .consumer(&self.name)
                .set("statistics.interval.ms", STATS_INTERVAL_MS.to_string())
                .create_with_context(LagContext::new(&self.name))?,
        );
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let producer: FutureProducer = self.kafka.producer().create()?;
        let worker = Arc::new(Worker {
            name: self.name.clone(),
            pool: self.pool.clone(),
            handler: self.handler.clone(),
            backoff: self.backoff,
            producer,
            consumer: consumer.clone(),
        });
        let mut senders = Vec::with_capacity(self.workers);
        let mut tasks = Vec::with_capacity(self.workers);
        for _ in 0..self.workers {
            let (tx, mut rx) = mpsc::channel::<Record>(64);
            senders.push(tx);
            let worker = worker.clone();
            let shutdown = shutdown.clone();
            let max_batch = self.max_batch;
            tasks.push(tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    if shutdown.is_cancelled() {
                        break;
                    }
                    // Whatever else is already waiting goes in the same transaction.
                    let mut batch = vec![first];
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(record) => batch.push(record),
                            Err(_) => break,
                        }
                    }
                    worker.consume_batch(batch).await;
                }
            }));
        }
        info!(consumer = %self.name, topics = ?self.topics, "consumer started");
        let rejoin_idle = Duration::from_millis(u64::from(self.kafka.rejoin_idle_ms));
        let mut watchdog = tokio::time::interval(Duration::from_secs(1));
        let mut assigned_at = Instant::now();
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                message = consumer.recv() => message,
                _ = watchdog.tick(), if !rejoin_idle.is_zero() => {
                    if consumer.assignment().is_ok_and(|a| a.count() > 0) {
                        assigned_at = Instant::now();
                    } else if assigned_at.elapsed() >= rejoin_idle {
                        warn!(consumer = %self.name, "no partitions assigned for {rejoin_idle:?}; rejoining the group");
                        consumer.unsubscribe();
                        consumer.subscribe(&topics)?;
                        assigned_at = Instant::now();
                    }
                    continue;
                }
            };
            match message {
                Ok(message) => {
                    let record = Record::from(&message);
                    let slot = record.partition.unsigned_abs() as usize % senders.len();
                    if senders[slot].send(record).await.is_err() {
                        break;
                    }
                }
                Err(err) => {
                    warn!(consumer = %self.name, error = %err, "kafka consume error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        drop(senders);
        for task in tasks {
            let _ = task.await;
        }
        if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last background commit is not an error.
            debug!(consumer = %self.name, error = %err, "final offset commit");
        }
        info!(consumer = %self.name, "consumer stopped");
        Ok(())
    }
}

/// An owned copy of a consumed record.
struct Record {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl From<&BorrowedMessage<'_>> for Record {
    fn from(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }
}

impl Record {
    fn raw(&self) -> RawRecord<'_> {
        RawRecord {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            key: self.key.as_deref(),
            payload: self.payload.as_deref(),
            headers: self.headers.clone(),
        }
    }

    /// The envelope and payload, or why this record can never be handled.
    fn incoming(&self) -> Result<Incoming, String> {
        let envelope = Envelope::from_headers(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_deref())),
        )
        .map_err(|err| format!("bad envelope: {err}"))?;
        let payload = self.payload.clone().ok_or("empty payload")?;
        Ok(Incoming {
            envelope,
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            key: self
                .key
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            payload,
        })
    }
}

struct Worker<H> {
    name: String,
    pool: PgPool,
    handler: Arc<H>,
    backoff: Backoff,
    producer: FutureProducer,
    consumer: Arc<StreamConsumer<LagContext>>,
}

impl<H: Handler> Worker<H> {
    /// Handles queued messages in one transaction (one commit instead of many under
    /// load). Any failure, or any record that is not a well-formed message, rolls the
    /// batch back and handles its messages one by one, with the usual retries and
    /// dead letters.
    async fn consume_batch(&self, records: Vec<Record>) {
        if records.len() > 1 {
            let incoming: Option<Vec<Incoming>> =
                records.iter().map(|r| r.incoming().ok()).collect();
            if let Some(incoming) = incoming {
                let started = Instant::now();
                match try_batch(&self.pool, self.handler.as_ref(), &self.name, &incoming).await {
                    Ok(()) => {
                        metrics::histogram!("sagaflow_handler_seconds", "consumer" => self.name.clone())
                            .record(started.elapsed().as_secs_f64() / incoming.len() as f64);
                        metrics::histogram!("sagaflow_inbox_batch_size", "consumer" => self.name.clone())
                            .record(incoming.len() as f64);
                        for record in &records {
                            self.store_offset(record);
                        }
                        return;
                    }
                    Err(reason) => {
                        tracing::debug!(%reason, "batch rolled back; handling one by one")
                    }
                }
            }
        }
        for record in records {
            self.consume(record).await;
        }
    }

    fn store_offset(&self, record: &Record) {
        if let Err(err) = self
            .consumer
            .store_offset(&record.topic, record.partition, record.offset)
        {
            // The partition was revoked meanwhile: its new owner sees the message
            // again and the inbox skips it.
            warn!(error = %err, "could not store offset");
        }
    }

    async fn consume(&self, record: Record) {
        let incoming = record.incoming();
        let span = match &incoming {
            Ok(incoming) => consume_span(&self.name, incoming),
            Err(_) => info_span!(
                "consume",
                otel.name = %format_args!("{} undecodable", self.name),
                otel.kind = "consumer",
                consumer = %self.name,
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
            ),
        };
        async {
            let outcome = match &incoming {
                Ok(incoming) => {
                    process(
                        &self.pool,
                        self.handler.as_ref(),
                        &self.name,
                        incoming,
                        self.backoff,
                    )
                    .await
                }
                Err(reason) => Outcome::Poison(reason.clone()),
            };
            if let Outcome::Poison(reason) = &outcome {
                warn!(%reason, "dead-lettering poison message");
                self.dead_letter(&record, reason).await;
            }
            self.store_offset(&record);
        }
        .instrument(span)
        .await
    }

    /// Keeps trying until the dead letter is acknowledged: the offset must not move
    /// past a message that is neither handled nor dead-lettered.
    async fn dead_letter(&self, record: &Record, reason: &str) {
        let mut attempt = 0;
        loop {
            match dead_letter::publish(&self.producer, &self.name, &record.raw(), reason).await {
                Ok(()) => return,
                Err(err) => {
                    attempt += 1;
                    warn!(error = %err, attempt, "dead-letter publish failed; retrying");
                    tokio::time::sleep(self.backoff.delay(attempt.min(10))).await;
                }
            }
        }
    }
}

/// Handles one message exactly once per consumer name: the single step of the
/// consumer loop, public so tests can drive it without Kafka.
///
/// Transient handler failures are retried per `backoff` and become poison past its
/// bound. Database trouble outside the handler (cannot begin or commit) is retried
/// without bound: an outage must not dead-letter good messages.
pub async fn process<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    incoming: &Incoming,
    backoff: Backoff,
) -> Outcome {
    let mut attempt: u32 = 0;
    let mut infra_failures: u32 = 0;
    loop {
        let started = Instant::now();
        let result = try_once(pool, handler, consumer, incoming).await;
        metrics::histogram!("sagaflow_handler_seconds", "consumer" => consumer.to_owned())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(true) => return Outcome::Handled,
            Ok(false) => {
                metrics::counter!("sagaflow_messages_duplicate_total", "consumer" => consumer.to_owned())
                    .increment(1);
                return Outcome::Duplicate;
            }
            Err(Attempt::Handler(Failure::Poison(reason))) => return Outcome::Poison(reason),
            Err(Attempt::Handler(Failure::Transient(reason))) => {
                attempt += 1;
                metrics::counter!("sagaflow_handler_retries_total", "consumer" => consumer.to_owned())
                    .increment(1);
                if attempt >= backoff.max_attempts {
                    return Outcome::Poison(format!(
                        "still failing after {attempt} attempts: {reason}"
                    ));
                }
                warn!(%reason, attempt, "transient handler failure; retrying");
                tokio::time::sleep(backoff.delay(attempt)).await;
            }
            Err(Attempt::Infrastructure(err)) => {
                infra_failures = infra_failures.saturating_add(1);
                warn!(error = %err, "database unavailable; retrying");
                tokio::time::sleep(backoff.delay(infra_failures.min(8))).await;
            }
        }
    }
}

/// Several messages in one transaction; any failure rolls all of them back.
/// The span of one delivery attempt of `incoming`: a child of the message's
/// `traceparent`, named `<consumer> <message type>` in traces.
fn consume_span(consumer: &str, incoming: &Incoming) -> tracing::Span {
    let span = info_span!(
        "consume",
        otel.name = %format_args!("{} {}", consumer, incoming.envelope.message_type),
        otel.kind = "consumer",
        consumer = %consumer,
        topic = %incoming.topic,
        partition = incoming.partition,
        offset = incoming.offset,
        message_type = %incoming.envelope.message_type,
        saga_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if let Some(saga) = incoming.envelope.saga_id {
        span.record("saga_id", tracing::field::display(saga));
    }
    if let Some(parent) = incoming
        .envelope
        .traceparent
        .as_deref()
        .and_then(crate::traceparent::TraceParent::parse)
    {
        span.record("trace_id", parent.trace_id_hex());
        parent.adopt(&span);
    }
    span
}

async fn try_batch<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    batch: &[Incoming],
) -> Result<(), String> {
    for incoming in batch.iter().filter(|_| H::PREPARES) {
        if !already_handled(pool, consumer, incoming)
            .await
            .map_err(|e| e.to_string())?
        {
            handler
                .prepare(pool, incoming)
                .instrument(consume_span(consumer, incoming))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let mut outgoing = Vec::new();
    for incoming in batch {
        let inserted = insert_inbox(&mut tx, consumer, incoming)
            .await
            .map_err(|e| e.to_string())?;
        if !inserted {
            metrics::counter!("sagaflow_messages_duplicate_total", "consumer" => consumer.to_owned())
                .increment(1);
            continue;
        }
        outgoing.extend(
            handler
                .handle(&mut tx, incoming)
                .instrument(consume_span(consumer, incoming))
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    outbox::enqueue(&mut tx, &outgoing)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

/// Whether `(consumer, message_id)` is in the inbox already (read outside any
/// transaction: only to skip a needless [`Handler::prepare`]).
async fn already_handled(
    pool: &PgPool,
    consumer: &str,
    incoming: &Incoming,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sagaflow_inbox WHERE consumer = $1 AND message_id = $2)",
    )
    .bind(consumer)
    .bind(incoming.envelope.message_id)
    .fetch_one(pool)
    .await
}

/// Records `(consumer, message_id)`; false when it was there already.
async fn insert_inbox(
    conn: &mut PgConnection,
    consumer: &str,
    incoming: &Incoming,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO sagaflow_inbox (consumer, message_id, message_type, topic, kafka_partition, kafka_offset)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(incoming.envelope.message_id)
    .bind(&incoming.envelope.message_type)
    .bind(&incoming.topic)
    .bind(incoming.partition)
    .bind(incoming.offset)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

enum Attempt {
    Handler(Failure),
    Infrastructure(sqlx::Error),
}

/// The handler's [`Handler::prepare`] unless the message was handled before, then
/// one transaction: inbox row, handler, outbox rows, commit. `Ok(false)` when the
/// message was handled before.
async fn try_once<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    incoming: &Incoming,
) -> Result<bool, Attempt> {
    if H::PREPARES {
        if already_handled(pool, consumer, incoming)
            .await
            .map_err(Attempt::Infrastructure)?
        {
            return Ok(false);
        }
        handler
            .prepare(pool, incoming)
            .await
            .map_err(Attempt::Handler)?;
    }
    let mut tx = pool.begin().await.map_err(Attempt::Infrastructure)?;
    if !insert_inbox(&mut tx, consumer, incoming)
        .await
        .map_err(Attempt::Infrastructure)?
    {
        return Ok(false);
    }
    let outgoing = handler
        .handle(&mut tx, incoming)
        .await
        .map_err(Attempt::Handler)?;
    outbox::enqueue(&mut tx, &outgoing)
        .await
        .map_err(Attempt::Infrastructure)?;
    tx.commit().await.map_err(Attempt::Infrastructure)?;
    Ok(true)
}
