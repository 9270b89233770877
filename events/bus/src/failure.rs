//! How a handler says a message failed, and the bounded retry schedule for
//! transient failures.
//!
//! Three classes:
//! - **transient** ([`Failure::Transient`]): a lock timeout, a lost connection; the
//!   consumer rolls back and retries with exponential backoff and jitter, bounded by
//!   [`Backoff::max_attempts`]; past the bound the message is treated as poison.
//! - **permanent**: a business outcome (payment declined, out of stock). This is not
//!   an error at all: the handler commits and returns a failure *reply* event so the
//!   saga compensates.
//! - **poison** ([`Failure::Poison`]): undecodable or unprocessable; it goes to the
//!   topic's dead-letter topic with the reason and the partition keeps flowing.

use std::time::Duration;

use rand::Rng;

/// Why a handler could not handle a message.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("transient: {0}")]
    Transient(String),
    #[error("poison: {0}")]
    Poison(String),
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        // Every database error is worth a retry: serialization failures, deadlocks
        // and lost connections are common and pass; a true bug exhausts the bound
        // and dead-letters the message with the error text as its reason.
        Failure::Transient(format!("database: {err}"))
    }
}

impl From<sagaflow_events::Error> for Failure {
    fn from(err: sagaflow_events::Error) -> Self {
        Failure::Poison(format!("contract: {err}"))
    }
}

/// Exponential backoff with full jitter, bounded in attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(20),
            max: Duration::from_secs(2),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// Delay before retry number `attempt` (1-based): a random duration in
    /// `[ceiling/2, ceiling]` where `ceiling = min(max, initial * 2^(attempt-1))`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max);
        let half = ceiling / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            max_attempts: 10,
        };
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(30);
            assert!(late <= Duration::from_millis(1000) && late >= Duration::from_millis(500));
        }
    }
}
