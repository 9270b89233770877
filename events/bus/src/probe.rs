//! A broker health check that proves the broker stores and serves messages, not
//! only that its port is open: produce one record to [`PROBE_TOPIC`] and read
//! that record back from the offset the broker acknowledged.
//!
//! Used by `sagaflow broker probe` (the bring-up scripts wait on it) and by
//! `sagaflow serve`, whose [`watch`] updates one [`BrokerHealth`] that the
//! gateway's and the orchestrator's readiness read (`/readyz` answers 503 naming
//! the broker while the last probe failed). A
//! broker that accepts connections but errors on every request (seen with Tansu
//! 0.6's SQLite storage after a restart) fails it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::KafkaConfig;
use crate::error::Error;
use crate::producer::SharedProducer;

/// The topic probes write to (one partition; created on first use).
pub const PROBE_TOPIC: &str = "sagaflow.probe";

/// Produces a record and consumes it back within `timeout`; returns how long
/// the round trip took.
pub async fn round_trip(kafka: &KafkaConfig, timeout: Duration) -> Result<Duration, Error> {
    match tokio::time::timeout(timeout, attempt(kafka, timeout)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Probe(format!(
            "no round trip through {PROBE_TOPIC} within {timeout:?}"
        ))),
    }
}

async fn attempt(kafka: &KafkaConfig, timeout: Duration) -> Result<Duration, Error> {
    let started = Instant::now();
    let mut single = kafka.clone();
    single.partitions = 1;
    // A broker that cannot create topics (or one where the topic exists) may
    // still serve it: the round trip below is the test.
    // Bounded: a broker without a CreateTopics handler (librdkafka's mock cluster)
    // would hold the request for the admin client's whole operation timeout.
    let topics = [PROBE_TOPIC.to_owned()];
    let create = crate::admin::ensure_topics(&single, &topics);
    match tokio::time::timeout((timeout / 4).min(Duration::from_secs(3)), create).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(error = %err, "creating the probe topic"),
        Err(_) => tracing::debug!("creating the probe topic timed out"),
    }
    // The process's producer (the relays' and dead letters'): a probe every 15 s
    // starts no librdkafka instance of its own; `round_trip` bounds the wait.
    let producer = SharedProducer::new(&kafka.producer())?.get();
    let marker = Uuid::now_v7().to_string();
    let delivery = producer
        .send(
            FutureRecord::to(PROBE_TOPIC).key(&marker).payload(&marker),
            timeout,
        )
        .await
        .map_err(|(err, _)| Error::Probe(format!("produce to {PROBE_TOPIC}: {err}")))?;
    let consumer: StreamConsumer = kafka
        .consumer("sagaflow-probe")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(
        PROBE_TOPIC,
        delivery.partition,
        Offset::Offset(delivery.offset),
    )?;
    consumer.assign(&assignment)?;
    loop {
        let message = consumer
            .recv()
            .await
            .map_err(|err| Error::Probe(format!("fetch from {PROBE_TOPIC}: {err}")))?;
        if message.payload() == Some(marker.as_bytes()) {
            return Ok(started.elapsed());
        }
    }
}

/// Whether the last probe of this process passed (a cloneable handle for
/// readiness checks). Starts as passing: readiness also checks the database, and
/// a service that has not probed yet is not known to be cut off.
#[derive(Debug, Clone)]
pub struct BrokerHealth(Arc<AtomicBool>);

impl Default for BrokerHealth {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl BrokerHealth {
    pub fn is_serving(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Records the outcome of a probe; returns the previous one. [`watch`] calls
    /// it; tests use it to take the broker down and up again.
    pub fn set(&self, serving: bool) -> bool {
        self.0.swap(serving, Ordering::Relaxed)
    }
}

/// Probes every `every` until `shutdown`: sets the gauge `sagaflow_broker_up`
/// (1 or 0; the `BrokerNotServing` alert fires on it), records
/// `sagaflow_broker_probe_seconds`, updates `health`, and logs each change.
pub async fn watch(
    kafka: KafkaConfig,
    every: Duration,
    health: BrokerHealth,
    shutdown: CancellationToken,
) {
    let attempt = every.clamp(Duration::from_secs(1), Duration::from_secs(10));
    loop {
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = round_trip(&kafka, attempt) => result,
        };
        match result {
            Ok(took) => {
                metrics::gauge!("sagaflow_broker_up").set(1.0);
                metrics::histogram!("sagaflow_broker_probe_seconds").record(took.as_secs_f64());
                if !health.set(true) {
                    info!(broker = %kafka.bootstrap_servers, "the broker serves messages again");
                }
            }
            Err(err) => {
                metrics::gauge!("sagaflow_broker_up").set(0.0);
                if health.set(false) {
                    warn!(broker = %kafka.bootstrap_servers, error = %err, "the broker does not serve messages");
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_that_never_probed_serves_and_clones_share_it() {
        let health = BrokerHealth::default();
        assert!(health.is_serving());
        let reader = health.clone();
        assert!(health.set(false), "was serving");
        assert!(!reader.is_serving());
        assert!(!health.set(true), "was not serving");
        assert!(reader.is_serving());
    }

    #[tokio::test]
    async fn a_broker_that_is_not_there_fails_within_the_timeout() {
        let kafka = KafkaConfig::new("127.0.0.1:1");
        let started = Instant::now();
        let result = round_trip(&kafka, Duration::from_millis(1500)).await;
        assert!(result.is_err(), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
