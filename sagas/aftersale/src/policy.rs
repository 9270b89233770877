//! Timeouts and retry policies of the after-sale sagas, and the step they make.

use std::time::Duration;

use sagaflow_saga_engine::{CommandSpec, Compensation, RetryPolicy, Step};

/// Per-attempt timeout of every step by default.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Forward steps: 3 attempts, backoff 1 s, 2 s.
pub const STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// Compensations: 5 attempts, backoff 1 s, 2 s, 4 s, 8 s.
pub const COMPENSATION_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(60),
};

/// A forward step with `timeout` per attempt and [`STEP_RETRY`].
pub fn step(
    name: &'static str,
    command: CommandSpec,
    completes_on: &'static [&'static str],
    fails_on: &'static [&'static str],
    compensation: Compensation,
    timeout: Duration,
) -> Step {
    Step {
        name,
        command,
        completes_on,
        fails_on,
        compensation,
        timeout,
        retry: STEP_RETRY,
    }
}
