//! Deterministic retry policy (no jitter inside the core; a driver may add it).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest wait between re-sends of a stuck command (see
/// [`RetryPolicy::stuck_backoff`]).
pub const STUCK_MAX_BACKOFF: Duration = Duration::from_secs(300);

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

    /// The wait after attempt `attempt` of a command that is retried past
    /// `max_attempts` (it must not be given up on): the policy's own backoff
    /// while it lasts, then doubling from `max(max_backoff, 1 s)` per extra
    /// attempt, capped at [`STUCK_MAX_BACKOFF`], so a command stuck for days
    /// adds a few log entries an hour, not thousands.
    pub fn stuck_backoff(&self, attempt: u32) -> Duration {
        if attempt < self.max_attempts {
            return self.backoff(attempt);
        }
        let extra = attempt - self.max_attempts;
        let base = self.max_backoff.max(Duration::from_secs(1));
        base.checked_mul(2u32.saturating_pow(extra.min(16)))
            .unwrap_or(STUCK_MAX_BACKOFF)
            .min(STUCK_MAX_BACKOFF)
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

    #[test]
    fn stuck_backoff_keeps_growing_to_its_cap() {
        let p = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            multiplier: 2,
            max_backoff: Duration::from_secs(5),
        };
        let got: Vec<u64> = (1..=9).map(|a| p.stuck_backoff(a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 5, 10, 20, 40, 80, 160, 300]);
        assert_eq!(p.stuck_backoff(u32::MAX), STUCK_MAX_BACKOFF);
        let none = RetryPolicy::no_retry();
        assert_eq!(none.stuck_backoff(1), Duration::from_secs(1));
    }
}
