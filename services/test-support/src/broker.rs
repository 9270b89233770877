//! The Kafka-protocol broker a test runs against.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::tansu::Tansu;

/// A broker for one test.
pub enum Broker {
    /// librdkafka's in-process mock cluster: the real wire protocol over TCP, in memory.
    Mock(MockCluster<'static, DefaultProducerContext>),
    /// A Tansu process with SQLite storage that this test owns.
    Tansu(Tansu),
    /// A cluster someone else runs (`KAFKA_BOOTSTRAP_SERVERS`).
    External(String),
}

impl Broker {
    pub fn mock() -> anyhow::Result<Self> {
        Ok(Broker::Mock(MockCluster::new(1)?))
    }

    pub fn tansu() -> anyhow::Result<Self> {
        Ok(Broker::Tansu(Tansu::start()?))
    }

    /// The cluster named by `KAFKA_BOOTSTRAP_SERVERS`, if set.
    pub fn external() -> Option<Self> {
        std::env::var("KAFKA_BOOTSTRAP_SERVERS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(Broker::External)
    }

    /// The broker named by `SAGAFLOW_TEST_BROKER` (`mock`, `tansu` or `external`),
    /// else `default`.
    pub fn from_env_or(default: &str) -> anyhow::Result<Self> {
        let kind = std::env::var("SAGAFLOW_TEST_BROKER").unwrap_or_else(|_| default.to_owned());
        match kind.as_str() {
            "mock" => Self::mock(),
            "tansu" => Self::tansu(),
            "external" => Self::external().ok_or_else(|| {
                anyhow::anyhow!("SAGAFLOW_TEST_BROKER=external needs KAFKA_BOOTSTRAP_SERVERS")
            }),
            other => {
                anyhow::bail!("SAGAFLOW_TEST_BROKER={other}: expected mock, tansu or external")
            }
        }
    }

    pub fn bootstrap(&self) -> String {
        match self {
            Broker::Mock(cluster) => cluster.bootstrap_servers(),
            Broker::Tansu(tansu) => tansu.bootstrap(),
            Broker::External(servers) => servers.clone(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Broker::Mock(_) => "mock",
            Broker::Tansu(_) => "tansu",
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

    /// The Tansu process, for tests that kill and restart the broker.
    pub fn tansu_mut(&mut self) -> Option<&mut Tansu> {
        match self {
            Broker::Tansu(tansu) => Some(tansu),
            _ => None,
        }
    }
}
