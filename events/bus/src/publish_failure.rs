//! What a failed publication means for an outbox row: the relay's classification of
//! librdkafka's errors, kept apart from the relay's I/O so it can be read (and
//! tested) on its own.
//!
//! - [`Verdict::Park`]: the broker can never take the row as it is (too large, unknown
//!   topic or partition, a record the broker calls invalid). Retrying cannot help, so
//!   the row is parked at once for an operator.
//! - [`Verdict::Attempt`]: the broker refused this row (authorization, a policy,
//!   anything not known to be about availability). One attempt is counted; the row is
//!   parked when it reaches `OUTBOX_MAX_ATTEMPTS`.
//! - [`Verdict::Wait`]: the broker (or our producer) is unavailable: timeouts, no
//!   reachable broker, a fatal producer state. Not the row's fault, so no attempt is
//!   counted (an outage must not park every row in flight); the row and the later
//!   rows of its key simply wait for a later batch.
//! - [`Verdict::QueueFull`]: librdkafka's local queue is full. Not an attempt either:
//!   the relay stops enqueuing for this batch and sends the rest in the next one.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// How the relay treats one failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Park now: retrying cannot succeed.
    Park,
    /// Count an attempt; park at the bound.
    Attempt,
    /// The broker or producer is unavailable: no attempt, try again later.
    Wait,
    /// The local producer queue is full: stop enqueuing this batch.
    QueueFull,
}

/// Classifies an error of `send_result` (local) or of a delivery report.
pub fn classify(error: &KafkaError) -> Verdict {
    match error.rdkafka_error_code() {
        Some(code) => classify_code(code),
        // Not a librdkafka error code (e.g. a cancelled delivery): nothing about the row.
        None => Verdict::Wait,
    }
}

/// Classifies one librdkafka error code (see the module docs).
pub fn classify_code(code: RDKafkaErrorCode) -> Verdict {
    use RDKafkaErrorCode as C;
    match code {
        C::QueueFull => Verdict::QueueFull,
        C::MessageSizeTooLarge
        | C::InvalidMessageSize
        | C::MessageBatchTooLarge
        | C::UnknownTopic
        | C::UnknownPartition
        | C::UnknownTopicOrPartition
        | C::InvalidTopic
        | C::InvalidRecord
        | C::InvalidArgument => Verdict::Park,
        C::MessageTimedOut
        | C::OperationTimedOut
        | C::TimedOutQueue
        | C::RequestTimedOut
        | C::AllBrokersDown
        | C::BrokerTransportFailure
        | C::Resolve
        | C::BrokerNotAvailable
        | C::LeaderNotAvailable
        | C::NotLeaderForPartition
        | C::NetworkException
        | C::NotEnoughReplicas
        | C::NotEnoughReplicasAfterAppend
        | C::PurgeQueue
        | C::PurgeInflight
        | C::Fatal
        | C::Fenced
        | C::BrokerDestroy
        | C::DestroyBroker => Verdict::Wait,
        _ => Verdict::Attempt,
    }
}

/// Whether the producer itself is broken and must be created again.
pub fn is_fatal(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::Fatal | RDKafkaErrorCode::Fenced)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_parks_outages_wait_refusals_count() {
        let production = KafkaError::MessageProduction;
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::UnknownTopic,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::InvalidRecord,
        ] {
            assert_eq!(classify(&production(code)), Verdict::Park, "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::NotEnoughReplicas,
            RDKafkaErrorCode::Fatal,
        ] {
            assert_eq!(classify(&production(code)), Verdict::Wait, "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::PolicyViolation,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::InvalidMessage,
        ] {
            assert_eq!(classify(&production(code)), Verdict::Attempt, "{code:?}");
        }
        assert_eq!(
            classify(&production(RDKafkaErrorCode::QueueFull)),
            Verdict::QueueFull
        );
        assert_eq!(classify(&KafkaError::Canceled), Verdict::Wait);
        assert!(is_fatal(&production(RDKafkaErrorCode::Fatal)));
        assert!(!is_fatal(&production(RDKafkaErrorCode::MessageTimedOut)));
    }
}
