//! The Kafka-protocol broker a test runs against.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::local_broker::LocalBroker;

/// A broker for one test.
pub enum Broker {
    /// librdkafka's in-process mock cluster: the real wire protocol over TCP, in memory.
    Mock(MockCluster<'static, DefaultProducerContext>),
    /// A local broker process (Nisshi) with SQLite storage that this test owns.
    Local(LocalBroker),
    /// A cluster someone else runs (`KAFKA_BOOTSTRAP_SERVERS`).
    External(String),
}

impl Broker {
    pub fn mock() -> anyhow::Result<Self> {
        Ok(Broker::Mock(MockCluster::new(1)?))
    }

    pub fn local() -> anyhow::Result<Self> {
        Ok(Broker::Local(LocalBroker::start()?))
    }

    /// The cluster named by `KAFKA_BOOTSTRAP_SERVERS`, if set.
    pub fn external() -> Option<Self> {
        std::env::var("KAFKA_BOOTSTRAP_SERVERS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(Broker::External)
    }

    /// The broker named by `SAGAFLOW_TEST_BROKER` (`mock`, `local` or `external`),
    /// else `default`.
    pub fn from_env_or(default: &str) -> anyhow::Result<Self> {
        let kind = std::env::var("SAGAFLOW_TEST_BROKER").unwrap_or_else(|_| default.to_owned());
        match kind.as_str() {
            "mock" => Self::mock(),
            "local" => Self::local(),
            "external" => Self::external().ok_or_else(|| {
                anyhow::anyhow!("SAGAFLOW_TEST_BROKER=external needs KAFKA_BOOTSTRAP_SERVERS")
            }),
            other => {
                anyhow::bail!("SAGAFLOW_TEST_BROKER={other}: expected mock, local or external")
            }
        }
    }

    pub fn bootstrap(&self) -> String {
        match self {
            Broker::Mock(cluster) => cluster.bootstrap_servers(),
            Broker::Local(local) => local.bootstrap(),
            Broker::External(servers) => servers.clone(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Broker::Mock(_) => "mock",
            Broker::Local(_) => "local",
            Broker::External(_) => "external",
        }
    }

    /// Creates topics explicitly: through the admin API, or on the mock cluster
    /// (which has no CreateTopics handler) through its own API.
    pub async fn create_topics(&self, topics: &[&str], partitions: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => {
                for topic in topics {
                    cluster.create_topic(topic, partitions, 1)?;
                }
                Ok(())
            }
            _ => crate::topics::create_topics(&self.bootstrap(), topics, partitions).await,
        }
    }

    /// The local broker process, for tests that kill and restart the broker.
    pub fn local_mut(&mut self) -> Option<&mut LocalBroker> {
        match self {
            Broker::Local(local) => Some(local),
            _ => None,
        }
    }
}
