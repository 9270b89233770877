//! The floor a saga cannot beat on this machine: one broker hop (produce to
//! consume) and one Postgres step transaction (inbox row + state update + outbox
//! row + durable commit).
//!
//! The hop is measured twice: with the [`physical`] settings (no batching wait on
//! either side, no idempotence) it is what the broker and the network cost; with
//! the platform's own settings ([`platform`]: `linger.ms`, `fetch.wait.max.ms`, an
//! idempotent `acks=all` producer) it is what the services can expect. The gap
//! between the two floors is the price of those settings.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sagaflow_bus::KafkaConfig;
use sqlx::PgPool;

use crate::stats::Samples;

/// A producer's and a consumer's settings for a hop.
pub struct HopSettings {
    pub producer: ClientConfig,
    pub consumer: ClientConfig,
}

/// The services' own client settings.
pub fn platform(kafka: &KafkaConfig) -> HopSettings {
    HopSettings {
        producer: kafka.producer(),
        consumer: kafka.consumer(&format!("floor-{}", uuid::Uuid::new_v4())),
    }
}

/// The least a hop can cost on this broker: `linger.ms=0`, no idempotence,
/// `acks=1`, and a consumer that waits at most 1 ms for data in a fetch.
pub fn physical(kafka: &KafkaConfig) -> HopSettings {
    let mut producer = kafka.producer();
    producer
        .set("linger.ms", "0")
        .set("enable.idempotence", "false")
        .set("acks", "1");
    let mut consumer = kafka.consumer(&format!("floor-{}", uuid::Uuid::new_v4()));
    consumer.set("fetch.wait.max.ms", "1");
    HopSettings { producer, consumer }
}

/// Produce-to-consume latency of `count` messages sent `interval` apart, on a
/// topic of its own (a consumer starts from its earliest offset).
pub async fn broker_hop(
    settings: &HopSettings,
    topic: &str,
    count: usize,
    interval: Duration,
) -> anyhow::Result<Samples> {
    let producer: FutureProducer = settings.producer.create()?;
    let consumer: StreamConsumer = settings.consumer.create()?;
    consumer.subscribe(&[topic])?;
    // Wait for the assignment, with a warm-up message.
    let origin = Instant::now();
    let send = |i: usize| {
        let producer = producer.clone();
        let topic = topic.to_owned();
        async move {
            let sent = origin.elapsed().as_nanos().to_string();
            producer
                .send(
                    FutureRecord::to(&topic).key(&i.to_string()).payload(&sent),
                    Timeout::After(Duration::from_secs(10)),
                )
                .await
                .map_err(|(e, _)| e)
        }
    };
    send(usize::MAX).await?;
    tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await??;
    let receiver = async {
        let mut samples = Vec::with_capacity(count);
        while samples.len() < count {
            let message = consumer.recv().await?;
            let now = origin.elapsed().as_nanos();
            let sent: u128 = std::str::from_utf8(message.payload().unwrap_or_default())?.parse()?;
            samples.push(Duration::from_nanos(now.saturating_sub(sent) as u64));
        }
        anyhow::Ok(samples)
    };
    let sender = async {
        for i in 0..count {
            send(i).await?;
            tokio::time::sleep(interval).await;
        }
        anyhow::Ok(())
    };
    let (samples, sent) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(120), receiver),
        sender
    );
    sent?;
    Ok(Samples::new(samples??))
}

/// Duration of `count` step-shaped transactions.
pub async fn pg_step(pool: &PgPool, count: usize) -> anyhow::Result<Samples> {
    sqlx::query("CREATE TABLE IF NOT EXISTS floor_state (id INT PRIMARY KEY, n BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO floor_state VALUES (1, 0) ON CONFLICT DO NOTHING")
        .execute(pool)
        .await?;
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO sagaflow_inbox (consumer, message_id, message_type, topic, kafka_partition, kafka_offset)
             VALUES ('floor', $1, 'Floor', 'floor', 0, $2)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE floor_state SET n = n + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sagaflow_outbox (message_id, topic, partition_key, message_type, headers, payload)
             VALUES ($1, 'floor', 'k', 'Floor', '{}', '\\x00')",
        )
        .bind(uuid::Uuid::now_v7())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        samples.push(started.elapsed());
    }
    sqlx::query("DELETE FROM sagaflow_outbox WHERE topic = 'floor'")
        .execute(pool)
        .await?;
    Ok(Samples::new(samples))
}
