//! Consumer lag as a metric: librdkafka reports its statistics every
//! [`STATS_INTERVAL_MS`]; [`LagContext`] turns each assigned partition's lag into
//! the gauge `sagaflow_consumer_lag{consumer, topic, partition}` (messages between
//! the partition's end and the last offset stored as handled).

use rdkafka::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::statistics::Statistics;

/// How often librdkafka emits statistics for the lag gauge.
pub const STATS_INTERVAL_MS: u32 = 5_000;

/// The inbox consumer's client context: publishes lag from librdkafka statistics.
#[derive(Debug, Clone)]
pub struct LagContext {
    consumer: String,
}

impl LagContext {
    pub fn new(consumer: &str) -> Self {
        Self {
            consumer: consumer.to_owned(),
        }
    }
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // -1 is librdkafka's internal "unassigned" partition; a negative lag
                // means not known yet (no stored offset or no watermark).
                if *partition < 0 || p.consumer_lag_stored < 0 {
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
    }
}

impl ConsumerContext for LagContext {}
