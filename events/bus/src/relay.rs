//! The outbox relay: publishes committed outbox rows to Kafka and marks them sent
//! only after the broker acknowledged them (`acks=all`, idempotent producer).
//!
//! Wake-up is `LISTEN sagaflow_outbox` (a trigger notifies on insert) plus polling as
//! a safety net. One relay publishes at a time per database (a transaction-scoped
//! advisory lock), and rows go out in `id` order, so messages with the same key keep
//! their order. A crash between the broker's ack and the `UPDATE ... sent_at` commit
//! publishes the row again on restart: delivery is at least once, and consumers'
//! inboxes make the effect exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::KafkaConfig;
use crate::error::Error;
use crate::failpoint;

/// Arbitrary constant naming the relay's advisory lock.
const RELAY_LOCK: i64 = 0x5a6a_f10e;

/// Publishes a database's outbox.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    batch_size: i64,
    poll_interval: Duration,
    retention: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, kafka: &KafkaConfig) -> Result<Self, Error> {
        let producer: FutureProducer = kafka.producer().create()?;
        Ok(Self {
            pool,
            producer,
            batch_size: 500,
            poll_interval: Duration::from_millis(250),
            retention: Duration::from_secs(kafka.outbox_retention_secs),
        })
    }

    /// Rows per batch (default 500).
    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Deletes up to 10,000 rows published more than the retention ago
    /// (`OUTBOX_RETENTION_SECS`); returns how many.
    pub async fn prune(&self) -> Result<u64, Error> {
        let pruned = sqlx::query(
            "DELETE FROM sagaflow_outbox WHERE id IN (
                 SELECT id FROM sagaflow_outbox
                 WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)
                 LIMIT 10000)",
        )
        .bind(self.retention.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if pruned > 0 {
            metrics::counter!("sagaflow_outbox_pruned_total").increment(pruned);
            debug!(pruned, "published outbox rows pruned");
        }
        Ok(pruned)
    }

    /// Publishes one batch of unsent rows and returns how many were acknowledged.
    pub async fn publish_batch(&self) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT id, topic, partition_key, headers, payload, created_at FROM sagaflow_outbox
             WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let topic: &str = row.try_get("topic")?;
            let key: &str = row.try_get("partition_key")?;
            let Json(headers): Json<BTreeMap<String, String>> = row.try_get("headers")?;
            let payload: &[u8] = row.try_get("payload")?;
            let mut kafka_headers = OwnedHeaders::new_with_capacity(headers.len());
            for (name, value) in &headers {
                kafka_headers = kafka_headers.insert(Header {
                    key: name,
                    value: Some(value.as_bytes()),
                });
            }
            let record = FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(kafka_headers);
            match self.producer.send_result(record) {
                Ok(delivery) => pending.push((id, delivery)),
                Err((err, _)) => {
                    // Local queue full or similar: publish what is queued, the rest
                    // goes in the next batch (still in order).
                    warn!(error = %err, "outbox relay could not enqueue; retrying next batch");
                    break;
                }
            }
        }
        let mut acked = Vec::with_capacity(pending.len());
        let mut failed: Option<(i64, String)> = None;
        for (id, delivery) in pending {
            match delivery.await {
                Ok(Ok(_)) if failed.is_none() => acked.push(id),
                Ok(Ok(_)) => {}
                Ok(Err((err, _))) => {
                    failed.get_or_insert((id, err.to_string()));
                }
                Err(_) => {
                    failed.get_or_insert((id, "delivery cancelled".to_owned()));
                }
            }
        }
        failpoint::hit("relay.after_ack").await;
        sqlx::query("UPDATE sagaflow_outbox SET sent_at = now() WHERE id = ANY($1)")
            .bind(&acked)
            .execute(&mut *tx)
            .await?;
        if let Some((id, reason)) = &failed {
            sqlx::query(
                "UPDATE sagaflow_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let elapsed = started.elapsed().as_secs_f64();
        metrics::histogram!("sagaflow_outbox_publish_seconds").record(elapsed);
        metrics::counter!("sagaflow_outbox_published_total").increment(acked.len() as u64);
        if let Some((id, reason)) = failed {
            metrics::counter!("sagaflow_outbox_publish_failures_total").increment(1);
            warn!(outbox_id = id, %reason, "broker refused an outbox message; will retry");
        }
        debug!(count = acked.len(), "outbox batch published");
        Ok(acked.len())
    }

    /// Runs until `shutdown`: publishes whenever notified or every poll interval,
    /// and reports the backlog as the `sagaflow_outbox_backlog` gauge.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen("sagaflow_outbox").await?;
        // Labels the backlog gauge: one process may run several services' relays.
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&self.pool)
            .await?;
        let mut failures = 0u32;
        let mut last_gauge = Instant::now() - Duration::from_secs(60);
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            match self.publish_batch().await {
                Ok(n) if n as i64 >= self.batch_size => {
                    failures = 0;
                    continue;
                }
                Ok(_) => failures = 0,
                Err(err) => {
                    failures = failures.saturating_add(1);
                    warn!(error = %err, failures, "outbox relay batch failed");
                    let pause = Duration::from_millis(50u64.saturating_mul(1 << failures.min(6)));
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            }
            if last_gauge.elapsed() > Duration::from_secs(5) {
                last_gauge = Instant::now();
                if let Err(err) = self.prune().await {
                    warn!(error = %err, "pruning the published outbox rows failed");
                }
                if let Ok(mut conn) = self.pool.acquire().await
                    && let Ok(n) = crate::outbox::backlog(&mut conn).await
                {
                    metrics::gauge!("sagaflow_outbox_backlog", "database" => database.clone())
                        .set(n as f64);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                notified = listener.recv() => {
                    if let Err(err) = notified {
                        warn!(error = %err, "outbox listener lost its connection; polling until it is back");
                        tokio::time::sleep(self.poll_interval).await;
                    }
                }
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }
}
