//! Errors of the messaging core.

/// What can go wrong while relaying or consuming.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("contract: {0}")]
    Contract(#[from] sagaflow_events::Error),
    #[error("outbox row {id} has invalid headers: {reason}")]
    BadOutboxRow { id: i64, reason: String },
    #[error("broker probe: {0}")]
    Probe(String),
    #[error("schema registry: {0}")]
    SchemaRegistry(#[from] crate::schema_registry::RegistryError),
    #[error("creating topic {topic}: {reason}")]
    Topic { topic: String, reason: String },
}
