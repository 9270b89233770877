//! What can go wrong while operating on dead letters; each message says what to do.

use std::time::Duration;

/// An error of a `sagaflow dlq` operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{id}` is not a dead-letter id: {why} (expected <topic>.dlq/<partition>/<offset>, as `sagaflow dlq list` prints it)"
    )]
    BadId { id: String, why: String },
    #[error("`{0}` is not a dead-letter topic (its name must end in `.dlq`)")]
    NotADeadLetterTopic(String),
    #[error("unknown topic `{0}`: name one of the platform's topics (`sagaflow topics list`)")]
    UnknownTopic(String),
    #[error("no answer from the brokers `{servers}` within {timeout:?}: {reason}")]
    Unreachable {
        servers: String,
        timeout: Duration,
        reason: String,
    },
    #[error(
        "dead letter {0} not found (no such topic or partition, or the broker no longer holds that offset)"
    )]
    NotFound(String),
    #[error(
        "{0} has no `dlq-original-topic` header: it is not a dead letter and cannot be replayed"
    )]
    NotADeadLetter(String),
    #[error(
        "already replayed: {}; pass --force to replay again (a consumer's inbox skips a message id it has handled)",
        .0.join(", ")
    )]
    AlreadyReplayed(Vec<String>),
    #[error(
        "acknowledging {id} would also acknowledge earlier records of its partition that are not acknowledged: {}; name them too, or pass --with-earlier",
        .earlier.join(", ")
    )]
    EarlierUnacknowledged { id: String, earlier: Vec<String> },
    #[error("reading {what} did not finish within {timeout:?}")]
    Timeout { what: String, timeout: Duration },
    #[error("replayed {replayed} to {topic}, but recording the replay failed: {reason}")]
    Unrecorded {
        replayed: String,
        topic: String,
        reason: String,
    },
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Bus(#[from] crate::error::Error),
}
