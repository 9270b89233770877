//! Handling records: one transaction per message (or per batch of queued messages),
//! the retry loop that applies the failure classes of [`crate::failure`], dead
//! letters, and storing offsets after commit.
//!
//! [`settle`] is the retry loop: poison is returned at once; transient failures are
//! retried per the bounded [`Backoff`]; unavailability is waited out per the
//! unavailable schedule without a bound. Each attempt first makes the payload's
//! schema id known ([`SchemaIds::resolve`]: a look-up in the schema registry when
//! the id is not built in), its failures classed the same way. Every wait (a backoff, a concurrency
//! permit, a dead-letter publish) gives way to the lane's stop token, so a shutdown
//! or a revoked partition never waits on an outage.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use super::record::Record;
use super::{Handler, Outcome};
use crate::dead_letter;
use crate::error::Error;
use crate::failure::{self, Backoff, Class, Failure};
use crate::lag::LagContext;
use crate::message::Incoming;
use crate::outbox;
use crate::producer::SharedProducer;
use crate::publish_failure;
use crate::schema_ids::SchemaIds;
use crate::traceparent::{MessageTrace, TraceParent};

/// How [`settle`] retries.
#[derive(Clone, Copy)]
pub(super) struct Policy<'a> {
    /// Bounded retries of transient failures.
    pub backoff: Backoff,
    /// Unbounded retries while the database is unavailable.
    pub unavailable: Backoff,
    /// Stops every wait.
    pub stop: &'a CancellationToken,
    /// Transactions open at once, when bounded.
    pub permits: Option<&'a Semaphore>,
    /// Where schema ids that are not built in are looked up.
    pub schema_ids: &'a SchemaIds,
}

/// What the lanes share: the handler, the database, the producer for dead letters
/// (the process's shared one).
pub(super) struct Worker<H> {
    pub name: String,
    pub pool: PgPool,
    pub handler: Arc<H>,
    pub backoff: Backoff,
    pub unavailable: Backoff,
    pub producer: SharedProducer,
    pub consumer: Arc<StreamConsumer<LagContext>>,
    pub permits: Semaphore,
    pub schema_ids: SchemaIds,
}

impl<H: Handler> Worker<H> {
    fn policy<'a>(&'a self, stop: &'a CancellationToken) -> Policy<'a> {
        Policy {
            backoff: self.backoff,
            unavailable: self.unavailable,
            stop,
            permits: Some(&self.permits),
            schema_ids: &self.schema_ids,
        }
    }

    /// Handles queued messages of one partition in one transaction (one commit
    /// instead of many under load). Any failure, or any record that is not a
    /// well-formed message, rolls the batch back and handles its messages one by one,
    /// with the usual retries and dead letters; so does a record whose schema id is
    /// not known yet (its look-up happens one by one). False when `stop` fired
    /// before every record was settled (the rest are left for redelivery).
    pub async fn consume_batch(&self, records: Vec<Record>, stop: &CancellationToken) -> bool {
        let known_ids = || {
            records.iter().all(|r| {
                r.payload
                    .as_deref()
                    .is_none_or(|p| SchemaIds::unknown_id(p).is_none())
            })
        };
        if records.len() > 1 && known_ids() {
            let incoming: Option<Vec<Incoming>> =
                records.iter().map(|r| r.incoming().ok()).collect();
            // Messages the handler does not want take no part in the transaction;
            // every offset is stored, in order, once the batch commits. (Should the
            // batch fail, the one-by-one path below skips them again, in order.)
            let wanted: Option<Vec<Incoming>> =
                incoming.map(|all| all.into_iter().filter(|m| self.handler.wants(m)).collect());
            if wanted.as_ref().is_some_and(Vec::is_empty) {
                metrics::counter!("sagaflow_inbox_skipped_total", "consumer" => self.name.clone())
                    .increment(records.len() as u64);
                for record in &records {
                    self.store_offset(record);
                }
                return true;
            }
            if let Some(incoming) = wanted.filter(|wanted| wanted.len() > 1) {
                let started = Instant::now();
                let Some(_permit) = acquire(Some(&self.permits), stop).await else {
                    return false;
                };
                match try_batch(&self.pool, self.handler.as_ref(), &self.name, &incoming).await {
                    Ok(()) => {
                        metrics::histogram!("sagaflow_handler_seconds", "consumer" => self.name.clone())
                            .record(started.elapsed().as_secs_f64() / incoming.len() as f64);
                        metrics::histogram!("sagaflow_inbox_batch_size", "consumer" => self.name.clone())
                            .record(incoming.len() as f64);
                        metrics::counter!("sagaflow_inbox_skipped_total", "consumer" => self.name.clone())
                            .increment((records.len() - incoming.len()) as u64);
                        for record in &records {
                            self.store_offset(record);
                        }
                        return true;
                    }
                    Err(failure) => {
                        tracing::debug!(%failure, "batch rolled back; handling one by one");
                    }
                }
            }
        }
        for record in records {
            if !self.consume(record, stop).await {
                return false;
            }
        }
        true
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

    async fn consume(&self, record: Record, stop: &CancellationToken) -> bool {
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
                    let outcome = settle(
                        &self.pool,
                        self.handler.as_ref(),
                        &self.name,
                        incoming,
                        self.policy(stop),
                    )
                    .await;
                    let Some(outcome) = outcome else {
                        return false;
                    };
                    outcome
                }
                Err(reason) => Outcome::Poison(reason.clone()),
            };
            if let Outcome::Poison(reason) = &outcome {
                warn!(%reason, "dead-lettering poison message");
                if !self.dead_letter(&record, reason, stop).await {
                    return false;
                }
            }
            self.store_offset(&record);
            true
        }
        .instrument(span)
        .await
    }

    /// Keeps trying until the dead letter is acknowledged (the offset must not move
    /// past a message that is neither handled nor dead-lettered), or until `stop`.
    /// Needs no database.
    async fn dead_letter(&self, record: &Record, reason: &str, stop: &CancellationToken) -> bool {
        let raw = record.raw();
        let mut attempt = 0;
        loop {
            let producer = self.producer.get();
            let sent = tokio::select! {
                _ = stop.cancelled() => return false,
                sent = dead_letter::publish(&producer, &self.name, &raw, reason) => sent,
            };
            match sent {
                Ok(()) => return true,
                Err(err) => {
                    if let Error::Kafka(kafka) = &err
                        && publish_failure::is_fatal(kafka)
                        && let Err(err) = self.producer.replace(&producer)
                    {
                        warn!(error = %err, "creating a new producer failed");
                    }
                    attempt += 1;
                    warn!(error = %err, attempt, "dead-letter publish failed; retrying");
                    if !sleep(self.backoff.delay(attempt.min(10)), stop).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// Sleeps `delay` unless `stop` fires first (then false).
async fn sleep(delay: std::time::Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

/// A permit when `permits` bounds concurrency (`Some(None)` when it does not);
/// `None` when `stop` fired first.
async fn acquire<'a>(
    permits: Option<&'a Semaphore>,
    stop: &CancellationToken,
) -> Option<Option<SemaphorePermit<'a>>> {
    let Some(permits) = permits else {
        return Some(None);
    };
    tokio::select! {
        _ = stop.cancelled() => None,
        permit = permits.acquire() => permit.ok().map(Some),
    }
}

/// Handles one message until it is settled (handled, a duplicate, or poison), per
/// `policy`; `None` when `policy.stop` fired first.
pub(super) async fn settle<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    incoming: &Incoming,
    policy: Policy<'_>,
) -> Option<Outcome> {
    if !handler.wants(incoming) {
        metrics::counter!("sagaflow_inbox_skipped_total", "consumer" => consumer.to_owned())
            .increment(1);
        return Some(Outcome::Skipped);
    }
    let mut attempt: u32 = 0;
    let mut outage: u32 = 0;
    loop {
        let resolved = tokio::select! {
            _ = policy.stop.cancelled() => return None,
            resolved = policy.schema_ids.resolve(&incoming.payload) => resolved,
        };
        let result = match resolved {
            Ok(()) => {
                let permit = acquire(policy.permits, policy.stop).await?;
                let started = Instant::now();
                let result = try_once(pool, handler, consumer, incoming).await;
                drop(permit);
                metrics::histogram!("sagaflow_handler_seconds", "consumer" => consumer.to_owned())
                    .record(started.elapsed().as_secs_f64());
                result
            }
            Err(failure) => Err(failure),
        };
        let failure = match result {
            Ok(true) => return Some(Outcome::Handled),
            Ok(false) => {
                metrics::counter!("sagaflow_messages_duplicate_total", "consumer" => consumer.to_owned())
                    .increment(1);
                return Some(Outcome::Duplicate);
            }
            Err(failure) => failure,
        };
        let class = failure.class();
        let delay = match class {
            Class::Poison => return Some(Outcome::Poison(failure.reason().to_owned())),
            Class::Transient => {
                attempt += 1;
                if attempt >= policy.backoff.max_attempts {
                    return Some(Outcome::Poison(format!(
                        "still failing after {attempt} attempts: {}",
                        failure.reason()
                    )));
                }
                warn!(
                    reason = failure.reason(),
                    attempt, "transient failure; retrying"
                );
                policy.backoff.delay(attempt)
            }
            Class::Unavailable => {
                outage = outage.saturating_add(1);
                warn!(
                    reason = failure.reason(),
                    attempt = outage,
                    "unavailable (the database, or the schema registry); retrying"
                );
                policy.unavailable.delay(outage)
            }
        };
        metrics::counter!("sagaflow_consumer_retries_total", "consumer" => consumer.to_owned(), "class" => class.label())
            .increment(1);
        metrics::counter!("sagaflow_handler_retries_total", "consumer" => consumer.to_owned())
            .increment(1);
        if !sleep(delay, policy.stop).await {
            return None;
        }
    }
}

/// The span of one delivery attempt of `incoming`: a child of the message's trace
/// context (its `traceparent`, `tracestate` and baggage), named `<consumer>
/// <message type>` in traces, with the OpenTelemetry messaging attributes of a
/// Kafka consumer (`messaging.*`).
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
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %incoming.topic,
        messaging.destination.partition.id = %incoming.partition,
        messaging.consumer.group.name = %consumer,
        messaging.kafka.offset = incoming.offset,
        messaging.message.id = %incoming.envelope.message_id,
        messaging.kafka.message.key = tracing::field::Empty,
    );
    if let Some(key) = &incoming.key {
        span.record("messaging.kafka.message.key", key.as_str());
    }
    if let Some(saga) = incoming.envelope.saga_id {
        span.record("saga_id", tracing::field::display(saga));
    }
    let trace = MessageTrace::of(&incoming.envelope);
    if let Some(parent) = trace.traceparent.as_deref().and_then(TraceParent::parse) {
        span.record("trace_id", parent.trace_id_hex());
    }
    trace.adopt(&span);
    span
}

/// Several messages in one transaction; any failure rolls all of them back. The
/// inbox rows of the whole batch are one statement (and, for a handler that
/// prepares, so is the look-up of those handled before).
async fn try_batch<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    batch: &[Incoming],
) -> Result<(), Failure> {
    if H::PREPARES {
        let handled = handled_of(pool, consumer, batch)
            .await
            .map_err(|e| failure::from_database("inbox read", &e))?;
        for incoming in batch
            .iter()
            .filter(|m| !handled.contains(&m.envelope.message_id))
        {
            handler
                .prepare(pool, incoming)
                .instrument(consume_span(consumer, incoming))
                .await?;
        }
    }
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| failure::from_database("begin", &e))?;
    let mut fresh = insert_inbox_batch(&mut tx, consumer, batch)
        .await
        .map_err(|e| failure::from_database("inbox write", &e))?;
    let mut outgoing = Vec::new();
    for incoming in batch {
        // A message id twice in one batch is handled at its first place only.
        if !fresh.remove(&incoming.envelope.message_id) {
            metrics::counter!("sagaflow_messages_duplicate_total", "consumer" => consumer.to_owned())
                .increment(1);
            continue;
        }
        outgoing.extend(
            handler
                .handle(&mut tx, incoming)
                .instrument(consume_span(consumer, incoming))
                .await?,
        );
    }
    outbox::enqueue(&mut tx, &outgoing)
        .await
        .map_err(|e| failure::from_database("outbox write", &e))?;
    tx.commit()
        .await
        .map_err(|e| failure::from_database("commit", &e))
}

/// The message ids of `batch` already in the inbox of `consumer` (read outside any
/// transaction: only to skip needless [`Handler::prepare`] calls).
async fn handled_of(
    pool: &PgPool,
    consumer: &str,
    batch: &[Incoming],
) -> Result<HashSet<uuid::Uuid>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = batch.iter().map(|m| m.envelope.message_id).collect();
    let handled: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT message_id FROM sagaflow_inbox WHERE consumer = $1 AND message_id = ANY($2)",
    )
    .bind(consumer)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(handled.into_iter().collect())
}

/// Records `(consumer, message_id)` for every message of `batch` in one statement;
/// returns the ids that were not there yet.
async fn insert_inbox_batch(
    conn: &mut PgConnection,
    consumer: &str,
    batch: &[Incoming],
) -> Result<HashSet<uuid::Uuid>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = batch.iter().map(|m| m.envelope.message_id).collect();
    let types: Vec<&str> = batch
        .iter()
        .map(|m| m.envelope.message_type.as_str())
        .collect();
    let topics: Vec<&str> = batch.iter().map(|m| m.topic.as_str()).collect();
    let partitions: Vec<i32> = batch.iter().map(|m| m.partition).collect();
    let offsets: Vec<i64> = batch.iter().map(|m| m.offset).collect();
    let inserted: Vec<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO sagaflow_inbox (consumer, message_id, message_type, topic, kafka_partition, kafka_offset)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[])
         ON CONFLICT DO NOTHING RETURNING message_id",
    )
    .bind(consumer)
    .bind(&ids)
    .bind(&types)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .fetch_all(conn)
    .await?;
    Ok(inserted.into_iter().collect())
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

/// The handler's [`Handler::prepare`] unless the message was handled before, then
/// one transaction: inbox row, handler, outbox rows, commit. `Ok(false)` when the
/// message was handled before. Errors of the inbox's own writes are classified like
/// the handler's (see [`failure::classify`]).
async fn try_once<H: Handler>(
    pool: &PgPool,
    handler: &H,
    consumer: &str,
    incoming: &Incoming,
) -> Result<bool, Failure> {
    if H::PREPARES {
        if already_handled(pool, consumer, incoming)
            .await
            .map_err(|e| failure::from_database("inbox read", &e))?
        {
            return Ok(false);
        }
        handler.prepare(pool, incoming).await?;
    }
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| failure::from_database("begin", &e))?;
    if !insert_inbox(&mut tx, consumer, incoming)
        .await
        .map_err(|e| failure::from_database("inbox write", &e))?
    {
        return Ok(false);
    }
    let outgoing = handler.handle(&mut tx, incoming).await?;
    outbox::enqueue(&mut tx, &outgoing)
        .await
        .map_err(|e| failure::from_database("outbox write", &e))?;
    tx.commit()
        .await
        .map_err(|e| failure::from_database("commit", &e))?;
    Ok(true)
}
