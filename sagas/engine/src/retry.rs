//! Deterministic retry policy (no jitter inside the core; a driver may add it).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Re-send policy: `max_attempts` attempts in total, waiting `backoff(n)`
/// after attempt `n` timed out before sending attempt `n + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub multiplier: u32,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// A single attempt, no retries.
    pub const fn no_retry() -> Self {
        Self {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            multiplier: 1,
            max_backoff: Duration::ZERO,
        }
    }

    /// The wait after attempt `attempt` (1-based) timed out:
    /// `initial_backoff * multiplier^(attempt - 1)`, capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let mut delay = self.initial_backoff;
        for _ in 1..attempt {
            if delay >= self.max_backoff || delay.is_zero() || self.multiplier <= 1 {
                break;
            }
            delay = delay
                .checked_mul(self.multiplier)
                .unwrap_or(self.max_backoff);
        }
        delay.min(self.max_backoff)
    }

    /// Whether another attempt may follow attempt `attempt`.
    pub fn allows_another_after(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            multiplier: 2,
            max_backoff: Duration::from_secs(5),
        };
        let got: Vec<u64> = (1..=5).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 5, 5]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(5));
        assert!(p.allows_another_after(4));
        assert!(!p.allows_another_after(5));
    }
}
