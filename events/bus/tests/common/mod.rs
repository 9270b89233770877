//! Shared pieces of the messaging tests: a handler with an observable effect.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::messages::ReleaseInventory;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Creates the messaging tables and an `effects` table with no unique key, so a
/// second application of the same message would show as a second row.
pub async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    sagaflow_bus::migrate::run(pool, None).await?;
    sqlx::query("CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL, saga_id UUID NOT NULL)")
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn effects_for(pool: &PgPool, saga_id: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM effects WHERE saga_id = $1")
            .bind(saga_id)
            .fetch_one(pool)
            .await?,
    )
}

pub async fn total_effects(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM effects")
        .fetch_one(pool)
        .await?)
}

/// Records one row per handled `ReleaseInventory`; fails transiently for its first
/// `fail_first` calls.
#[derive(Clone, Default)]
pub struct EffectHandler {
    pub calls: Arc<AtomicUsize>,
    pub fail_first: usize,
}

impl Handler for EffectHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.fail_first {
            return Err(Failure::Transient(format!("induced failure {call}")));
        }
        let body: ReleaseInventory = message.decode()?;
        if body.reason == "poison-in-handler" {
            return Err(Failure::Poison("the handler cannot process this".into()));
        }
        sqlx::query("INSERT INTO effects (message_id, saga_id) VALUES ($1, $2)")
            .bind(message.envelope.message_id)
            .bind(body.saga_id)
            .execute(&mut *tx)
            .await?;
        Ok(Vec::new())
    }
}

/// A `ReleaseInventory` for `topic`, ready for the outbox.
pub fn message(topic: &str, saga_id: Uuid) -> Outgoing {
    let body = ReleaseInventory {
        saga_id,
        reason: "test".into(),
    };
    let mut out =
        Outgoing::new("tenant-a", Some(saga_id), saga_id.to_string(), &body).expect("encodes");
    out.topic = topic.to_owned();
    out
}

/// A `ReleaseInventory` for `topic` with partition key `key` (several messages of
/// one key, to test per-key order).
pub fn keyed(topic: &str, key: &str) -> Outgoing {
    let mut out = message(topic, Uuid::now_v7());
    out.key = key.to_owned();
    out
}

/// The outbox id of the row carrying `message`.
pub async fn outbox_id(pool: &PgPool, message: &Outgoing) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT id FROM sagaflow_outbox WHERE message_id = $1")
            .bind(message.envelope.message_id)
            .fetch_one(pool)
            .await?,
    )
}

/// A metrics recorder that keeps counters and gauges in memory, for asserting on
/// what the code reports. Install it on the test's thread with
/// `metrics::set_default_local_recorder` (single-threaded runtime).
#[derive(Default)]
pub struct TestRecorder {
    values: std::sync::Mutex<std::collections::HashMap<String, Arc<std::sync::atomic::AtomicU64>>>,
}

impl TestRecorder {
    /// `name{label=value,...}` with labels in the order they were given.
    fn id(key: &metrics::Key) -> String {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    fn cell(&self, key: &metrics::Key) -> Arc<std::sync::atomic::AtomicU64> {
        self.values
            .lock()
            .expect("not poisoned")
            .entry(Self::id(key))
            .or_default()
            .clone()
    }

    /// A counter's value (0 if never incremented); `id` as `name{label=value}`.
    pub fn counter(&self, id: &str) -> u64 {
        self.values
            .lock()
            .expect("not poisoned")
            .get(id)
            .map_or(0, |v| v.load(Ordering::SeqCst))
    }

    /// A gauge's value, if it was ever set.
    pub fn gauge(&self, id: &str) -> Option<f64> {
        self.values
            .lock()
            .expect("not poisoned")
            .get(id)
            .map(|v| f64::from_bits(v.load(Ordering::SeqCst)))
    }
}

impl metrics::Recorder for TestRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.cell(key))
    }

    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(self.cell(key))
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// A producer that sends at once (for tests that write records straight to Kafka).
pub fn producer(bootstrap: &str) -> anyhow::Result<rdkafka::producer::FutureProducer> {
    Ok(rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "1")
        .create()?)
}

/// Produces `out` (its envelope as headers, with `edit` applied to them) to
/// `partition` of its topic.
pub async fn produce_to(
    producer: &rdkafka::producer::FutureProducer,
    out: &Outgoing,
    partition: i32,
    edit: impl Fn(&str, &[u8]) -> Vec<u8>,
) -> anyhow::Result<()> {
    use rdkafka::message::{Header, OwnedHeaders};
    let mut headers = OwnedHeaders::new();
    for (name, value) in &out.envelope.to_headers() {
        let value = edit(name, value.as_bytes());
        headers = headers.insert(Header {
            key: name,
            value: Some(&value),
        });
    }
    producer
        .send(
            rdkafka::producer::FutureRecord::to(&out.topic)
                .partition(partition)
                .key(&out.key)
                .payload(&out.payload)
                .headers(headers),
            std::time::Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

/// The offset `group` has committed on each of `partitions` of `topic` (-1 when
/// none), read without joining the group. A consumer stores an offset only after
/// its message's transaction committed (or it was found a duplicate, or
/// dead-lettered), so an offset at the end of a partition means nothing of it is
/// still in flight or waiting for a retry.
pub async fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<Vec<i64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let mut list = rdkafka::TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let committed = consumer.committed_offsets(list, std::time::Duration::from_secs(5))?;
        Ok((0..partitions)
            .map(
                |partition| match committed.find_partition(&topic, partition) {
                    Some(element) => match element.offset() {
                        rdkafka::Offset::Offset(offset) => offset,
                        _ => -1,
                    },
                    None => -1,
                },
            )
            .collect())
    })
    .await?
}

/// Leaves header values as they are.
pub fn unchanged(_: &str, value: &[u8]) -> Vec<u8> {
    value.to_vec()
}

/// A `ReleaseInventory` for `topic` with `reason` as its body's reason.
pub fn message_with_reason(topic: &str, saga_id: Uuid, reason: &str) -> Outgoing {
    let body = ReleaseInventory {
        saga_id,
        reason: reason.into(),
    };
    let mut out =
        Outgoing::new("tenant-a", Some(saga_id), saga_id.to_string(), &body).expect("encodes");
    out.topic = topic.to_owned();
    out
}

/// Creates a `handled` table: one row per handled message with its partition and
/// offset, in handling order (`id`).
pub async fn prepare_handled(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "CREATE TABLE handled (id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL, \
         kafka_partition INT NOT NULL, kafka_offset BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Rows of `handled` for `partition`, in handling order: its offsets.
pub async fn handled_offsets(pool: &PgPool, partition: i32) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT kafka_offset FROM handled WHERE kafka_partition = $1 ORDER BY id",
    )
    .bind(partition)
    .fetch_all(pool)
    .await?)
}

/// Records each message in `handled`; messages of `blocked_partition` wait until
/// `gate` turns true (a handler stuck on one partition).
#[derive(Clone)]
pub struct GatedHandler {
    pub blocked_partition: i32,
    pub gate: tokio::sync::watch::Receiver<bool>,
}

impl Handler for GatedHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        if message.partition == self.blocked_partition {
            let mut gate = self.gate.clone();
            let _ = gate.wait_for(|open| *open).await;
        }
        sqlx::query(
            "INSERT INTO handled (message_id, kafka_partition, kafka_offset) VALUES ($1, $2, $3)",
        )
        .bind(message.envelope.message_id)
        .bind(message.partition)
        .bind(message.offset)
        .execute(&mut *tx)
        .await?;
        Ok(Vec::new())
    }
}

/// Like [`EffectHandler`], but a message whose reason is `collide` inserts the
/// effect row with the fixed id -1: the second such message violates the primary
/// key (SQLSTATE 23505) and the handler does not catch it.
#[derive(Clone, Default)]
pub struct CollidingHandler {
    pub colliding_calls: Arc<AtomicUsize>,
}

impl Handler for CollidingHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let body: ReleaseInventory = message.decode()?;
        let id: Option<i64> = if body.reason == "collide" {
            self.colliding_calls.fetch_add(1, Ordering::SeqCst);
            Some(-1)
        } else {
            None
        };
        sqlx::query(
            "INSERT INTO effects (id, message_id, saga_id) \
             VALUES (COALESCE($1, nextval('effects_id_seq')), $2, $3)",
        )
        .bind(id)
        .bind(message.envelope.message_id)
        .bind(body.saga_id)
        .execute(&mut *tx)
        .await?;
        Ok(Vec::new())
    }
}

/// Whether a relay of `database` leads (holds the advisory lock) and has read its
/// batch: the lock holder's last statement read the outbox and it is idle, i.e. the
/// relay waits on the broker.
pub async fn relay_sending(pool: &PgPool, database: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1
               AND a.state = 'idle' AND a.query LIKE '%FROM sagaflow_outbox o%')",
    )
    .bind(database)
    .fetch_one(pool)
    .await?)
}
