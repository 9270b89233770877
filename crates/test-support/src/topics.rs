//! Unique topic names, explicit creation, and reading a topic back from the start.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// `<prefix>.<random>`: no two tests share a topic.
pub fn unique_topic(prefix: &str) -> String {
    format!(
        "{prefix}.{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Creates topics with `partitions` partitions (existing ones are fine).
pub async fn create_topics(
    bootstrap: &str,
    topics: &[&str],
    partitions: i32,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("creating {topic}: {code}"),
        }
    }
    Ok(())
}

/// Reads every partition of a topic from the beginning, without a consumer group.
pub struct TopicReader {
    consumer: BaseConsumer,
    seen: Vec<OwnedMessage>,
}

impl TopicReader {
    pub fn new(bootstrap: &str, topic: &str) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .create()?;
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        anyhow::ensure!(partitions > 0, "topic {topic} has no partitions");
        let mut assignment = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            assignment.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;
        Ok(Self {
            consumer,
            seen: Vec::new(),
        })
    }

    fn poll_for(&mut self, budget: Duration) {
        let until = Instant::now() + budget;
        while Instant::now() < until {
            if let Some(Ok(message)) = self.consumer.poll(Duration::from_millis(20)) {
                self.seen.push(message.detach());
            }
        }
    }

    /// Every message read so far.
    pub fn seen(&self) -> &[OwnedMessage] {
        &self.seen
    }

    /// Reads until `count` messages are seen or `timeout` passes; returns them all.
    pub fn read_at_least(&mut self, count: usize, timeout: Duration) -> &[OwnedMessage] {
        let deadline = Instant::now() + timeout;
        while self.seen.len() < count && Instant::now() < deadline {
            self.poll_for(Duration::from_millis(50));
        }
        &self.seen
    }

    /// Reads for `duration` (to show that nothing more arrives).
    pub fn read_for(&mut self, duration: Duration) -> &[OwnedMessage] {
        self.poll_for(duration);
        &self.seen
    }

    /// Waits for a message matching `predicate`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        predicate: impl Fn(&OwnedMessage) -> bool,
    ) -> Option<OwnedMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.seen.iter().find(|m| predicate(m)) {
                return Some(found.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.poll_for(Duration::from_millis(20));
        }
    }
}

/// The value of header `name` on `message`, as text.
pub fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
