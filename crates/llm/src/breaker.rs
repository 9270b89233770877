//! Per-provider circuit breaker.
//!
//! Closed: calls flow; `failures` consecutive failed calls open it. Open: calls are skipped until
//! the cooldown has passed, then it is half-open: exactly one probe call is let through (others
//! are still skipped); success closes it, failure re-opens it for another cooldown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A provider's breaker as reported by [`crate::Chain::health`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProviderHealth {
    pub provider: String,
    /// `"closed"`, `"open"` or `"half_open"`.
    pub breaker: String,
    pub consecutive_failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// What the breaker allows for the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Normal call (retries allowed).
    Call,
    /// Half-open probe: a single try, no retries.
    Probe,
    /// Breaker open: skip this provider.
    Skip,
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive_failures: u32,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    provider: String,
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub(crate) fn new(provider: &str, threshold: u32, cooldown: Duration) -> Self {
        crate::metrics::breaker_state(provider, 0.0);
        Self {
            provider: provider.to_owned(),
            threshold: threshold.max(1),
            cooldown,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive_failures: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere; the state itself is always consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, inner: &mut Inner, state: State) {
        inner.state = state;
        let gauge = match state {
            State::Closed => 0.0,
            State::HalfOpen { .. } => 1.0,
            State::Open { .. } => 2.0,
        };
        crate::metrics::breaker_state(&self.provider, gauge);
    }

    pub(crate) fn admit(&self) -> Admission {
        let mut inner = self.lock();
        match inner.state {
            State::Closed => Admission::Call,
            State::Open { until } if Instant::now() >= until => {
                self.set(&mut inner, State::HalfOpen { probing: true });
                Admission::Probe
            }
            State::Open { .. } => Admission::Skip,
            State::HalfOpen { probing: false } => {
                self.set(&mut inner, State::HalfOpen { probing: true });
                Admission::Probe
            }
            State::HalfOpen { probing: true } => Admission::Skip,
        }
    }

    pub(crate) fn record_success(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = 0;
        if inner.state != State::Closed {
            tracing::info!(provider = %self.provider, "LLM provider breaker closed");
            self.set(&mut inner, State::Closed);
        }
    }

    pub(crate) fn record_failure(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let reopen = matches!(inner.state, State::HalfOpen { .. });
        if reopen || inner.consecutive_failures >= self.threshold {
            if !matches!(inner.state, State::Open { .. }) {
                tracing::warn!(
                    provider = %self.provider,
                    consecutive_failures = inner.consecutive_failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "LLM provider breaker opened"
                );
            }
            let until = Instant::now() + self.cooldown;
            self.set(&mut inner, State::Open { until });
        }
    }

    /// Releases a half-open probe that ended without a verdict (e.g. the caller was cancelled).
    pub(crate) fn release_probe(&self) {
        let mut inner = self.lock();
        if inner.state == (State::HalfOpen { probing: true }) {
            self.set(&mut inner, State::HalfOpen { probing: false });
        }
    }

    pub(crate) fn health(&self) -> ProviderHealth {
        let inner = self.lock();
        let breaker = match inner.state {
            State::Closed => "closed",
            State::Open { until } if Instant::now() >= until => "half_open",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        };
        ProviderHealth {
            provider: self.provider.clone(),
            breaker: breaker.to_owned(),
            consecutive_failures: inner.consecutive_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_once() {
        let b = Breaker::new("t", 2, Duration::from_millis(30));
        assert_eq!(b.admit(), Admission::Call);
        b.record_failure();
        assert_eq!(b.health().breaker, "closed");
        b.record_failure();
        assert_eq!(b.health().breaker, "open");
        assert_eq!(b.admit(), Admission::Skip);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.health().breaker, "half_open");
        assert_eq!(b.admit(), Admission::Probe);
        assert_eq!(b.admit(), Admission::Skip, "only one probe at a time");
        b.record_failure();
        assert_eq!(b.health().breaker, "open");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Admission::Probe);
        b.record_success();
        assert_eq!(b.health().breaker, "closed");
        assert_eq!(b.health().consecutive_failures, 0);
        assert_eq!(b.admit(), Admission::Call);
    }

    #[test]
    fn success_resets_the_count() {
        let b = Breaker::new("t", 2, Duration::from_secs(60));
        b.record_failure();
        b.record_success();
        b.record_failure();
        assert_eq!(b.health().breaker, "closed");
    }
}
