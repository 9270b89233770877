//! The open server-sent event streams of this gateway process: [`Streams`], one
//! per process (in [`crate::AppState`]), which admits, wakes and ends them. The
//! streams themselves (what they send) are in [`crate::routes::progress`].
//!
//! - **Admission** ([`Streams::open`]): at most `GATEWAY_SSE_MAX_PER_USER` open
//!   streams per (tenant, user) and `GATEWAY_SSE_MAX_STREAMS` in all; one more is
//!   [`ApiError::TooManyStreams`] (429, a message saying what to do). The caps are
//!   per process (each replica counts its own). A [`Subscription`] is the ticket:
//!   dropping it (the client went away, the stream ended) gives the place back.
//! - **Wake-up**: the projection commits a `pg_notify` on [`listener::CHANNEL`]
//!   (payload: the saga id) with every progress row it stores; one `LISTEN`
//!   connection per process ([`listener`], started with the first stream) wakes
//!   the streams of that saga through a `tokio::sync::watch` per saga id. So a
//!   replica serving a stream learns of progress another replica consumed. After
//!   the listener (re)connects, every stream is woken (notifications sent while
//!   it was away are lost). As a safety net an idle stream also re-reads every
//!   `GATEWAY_SSE_SAFETY_POLL_SECS` (±25 %, so streams opened together do not
//!   poll together).
//! - **Lifetime**: a stream ends after `GATEWAY_SSE_MAX_LIFETIME_SECS`
//!   ([`Wake::Lifetime`]) with a `reconnect` event; the client reconnects with
//!   `Last-Event-ID`.
//! - **Shutdown** ([`Streams::close`], called by [`crate::serve`] when its
//!   shutdown token fires): every stream ends at once ([`Wake::Shutdown`]) with a
//!   `reconnect` event, new ones get 503, and the listener stops, so the HTTP
//!   server's graceful shutdown is not held up by open streams.
//!
//! Metrics: `sagaflow_gateway_sse_streams` (gauge, open streams),
//! `sagaflow_gateway_sse_refused_total{reason}` (`per_user`, `total`,
//! `shutdown`).

pub mod listener;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Settings;
use crate::error::ApiError;

/// The limits of the streams (from [`Settings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `GATEWAY_SSE_MAX_PER_USER`.
    pub max_per_user: u32,
    /// `GATEWAY_SSE_MAX_STREAMS`.
    pub max_streams: u32,
    /// `GATEWAY_SSE_MAX_LIFETIME_SECS`.
    pub max_lifetime: Duration,
    /// `GATEWAY_SSE_SAFETY_POLL_SECS`.
    pub safety_poll: Duration,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_per_user: settings.sse_max_per_user,
            max_streams: settings.sse_max_streams,
            max_lifetime: settings.sse_max_lifetime(),
            safety_poll: settings.sse_safety_poll(),
        }
    }
}

/// The registry of this process's open streams; cheap to clone (one shared
/// registry).
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    limits: Limits,
    registry: Mutex<Registry>,
    /// Cancelled by [`Streams::close`].
    closing: CancellationToken,
    /// The pool the listener takes its connection from.
    pool: PgPool,
    /// Whether the listener was started.
    listening: AtomicBool,
    /// Whether the listener is listening right now.
    connected: AtomicBool,
    /// Streams opened so far (spreads their safety polls).
    opened: AtomicU64,
}

#[derive(Default)]
struct Registry {
    total: u32,
    per_user: HashMap<(String, String), u32>,
    sagas: HashMap<Uuid, Watcher>,
}

/// The wake-up channel of one saga's streams.
struct Watcher {
    changes: watch::Sender<()>,
    streams: u32,
}

impl Streams {
    /// The registry for `limits`; its listener takes a connection of `pool` when
    /// the first stream opens.
    pub fn new(pool: PgPool, limits: Limits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                registry: Mutex::new(Registry::default()),
                closing: CancellationToken::new(),
                pool,
                listening: AtomicBool::new(false),
                connected: AtomicBool::new(false),
                opened: AtomicU64::new(0),
            }),
        }
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Admits a stream of saga `saga_id` for (`tenant`, `user`), whose ownership
    /// the route has checked: 429 past a cap, 503 once [`close`](Self::close)d.
    pub fn open(&self, tenant: &str, user: &str, saga_id: Uuid) -> Result<Subscription, ApiError> {
        if self.inner.closing.is_cancelled() {
            refused("shutdown");
            return Err(ApiError::ShuttingDown);
        }
        let limits = self.inner.limits;
        let changes = {
            let mut registry = self.registry();
            if registry.total >= limits.max_streams {
                drop(registry);
                refused("total");
                return Err(ApiError::TooManyStreams {
                    per_user: false,
                    limit: limits.max_streams,
                });
            }
            let key = (tenant.to_owned(), user.to_owned());
            let mine = registry.per_user.get(&key).copied().unwrap_or(0);
            if mine >= limits.max_per_user {
                drop(registry);
                refused("per_user");
                return Err(ApiError::TooManyStreams {
                    per_user: true,
                    limit: limits.max_per_user,
                });
            }
            registry.per_user.insert(key, mine + 1);
            registry.total += 1;
            metrics::gauge!("sagaflow_gateway_sse_streams").set(f64::from(registry.total));
            let watcher = registry.sagas.entry(saga_id).or_insert_with(|| Watcher {
                changes: watch::channel(()).0,
                streams: 0,
            });
            watcher.streams += 1;
            watcher.changes.subscribe()
        };
        self.start_listening();
        let opened = self.inner.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Subscription {
            streams: self.clone(),
            tenant: tenant.to_owned(),
            user: user.to_owned(),
            saga_id,
            changes,
            closing: self.inner.closing.clone(),
            deadline: Instant::now() + limits.max_lifetime,
            safety_poll: spread(limits.safety_poll, opened),
        })
    }

    /// Wakes the streams of saga `saga_id` (they re-read it).
    pub fn wake(&self, saga_id: Uuid) {
        if let Some(watcher) = self.registry().sagas.get(&saga_id) {
            watcher.changes.send_replace(());
        }
    }

    /// Wakes every stream (after notifications may have been lost).
    pub fn wake_all(&self) {
        for watcher in self.registry().sagas.values() {
            watcher.changes.send_replace(());
        }
    }

    /// Ends every open stream (each sends its `reconnect` event and closes),
    /// refuses new ones and stops the listener. Idempotent.
    pub fn close(&self) {
        self.inner.closing.cancel();
    }

    /// Whether the listener is connected and listening (it starts with the
    /// first stream); while it is not, streams advance on their safety poll.
    pub fn is_listening(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// How many streams are open.
    pub fn open_count(&self) -> u32 {
        self.registry().total
    }

    /// Starts the listener unless it runs already.
    fn start_listening(&self) {
        if !self.inner.listening.swap(true, Ordering::AcqRel) {
            tokio::spawn(listener::run(
                Arc::downgrade(&self.inner),
                self.inner.pool.clone(),
                self.inner.closing.clone(),
            ));
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.inner)
    }

    fn from_weak(inner: &Weak<Inner>) -> Option<Self> {
        inner.upgrade().map(|inner| Self { inner })
    }
}

/// The registry, also after a panic elsewhere poisoned its lock (every update
/// of it is complete before anything can panic).
fn lock(inner: &Inner) -> MutexGuard<'_, Registry> {
    inner
        .registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn refused(reason: &'static str) {
    metrics::counter!("sagaflow_gateway_sse_refused_total", "reason" => reason).increment(1);
}

/// `poll` spread over 75 %..125 % by the stream's number (golden-ratio steps,
/// so consecutive streams land far apart).
fn spread(poll: Duration, n: u64) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_895;
    // Exact for any realistic number of streams; only the fraction matters.
    let fraction = (n as f64 * GOLDEN).fract();
    poll.mul_f64(0.75 + 0.5 * fraction)
}

/// Why [`Subscription::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The saga changed (or may have): read it.
    Changed,
    /// The safety poll is due: read it.
    Poll,
    /// The stream reached its maximum lifetime: end it.
    Lifetime,
    /// The gateway is shutting down: end it.
    Shutdown,
}

/// One admitted stream: its wake-ups, deadline and place in the caps (given
/// back on drop).
pub struct Subscription {
    streams: Streams,
    tenant: String,
    user: String,
    saga_id: Uuid,
    changes: watch::Receiver<()>,
    closing: CancellationToken,
    deadline: Instant,
    safety_poll: Duration,
}

impl Subscription {
    /// The saga followed.
    pub fn saga_id(&self) -> Uuid {
        self.saga_id
    }

    /// Why the stream must end now, if it must (checked between reads, so a
    /// saga that never goes idle still ends).
    pub fn ending(&self) -> Option<Wake> {
        if self.closing.is_cancelled() {
            Some(Wake::Shutdown)
        } else if Instant::now() >= self.deadline {
            Some(Wake::Lifetime)
        } else {
            None
        }
    }

    /// Waits for the next reason to act: shutdown, the lifetime's end, a change
    /// of the saga, or the safety poll.
    pub async fn wait(&mut self) -> Wake {
        tokio::select! {
            biased;
            () = self.closing.cancelled() => Wake::Shutdown,
            () = tokio::time::sleep_until(self.deadline) => Wake::Lifetime,
            changed = self.changes.changed() => match changed {
                Ok(()) => Wake::Changed,
                // Never while this subscription holds its watcher; a read is harmless.
                Err(_) => Wake::Poll,
            },
            () = tokio::time::sleep(self.safety_poll) => Wake::Poll,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut registry = self.streams.registry();
        let key = (
            std::mem::take(&mut self.tenant),
            std::mem::take(&mut self.user),
        );
        if let Some(count) = registry.per_user.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                registry.per_user.remove(&key);
            }
        }
        registry.total = registry.total.saturating_sub(1);
        metrics::gauge!("sagaflow_gateway_sse_streams").set(f64::from(registry.total));
        if let Some(watcher) = registry.sagas.get_mut(&self.saga_id) {
            watcher.streams -= 1;
            if watcher.streams == 0 {
                registry.sagas.remove(&self.saga_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_are_spread_over_three_quarters_to_five_quarters() {
        let poll = Duration::from_secs(4);
        let spread: Vec<Duration> = (0..100).map(|n| spread(poll, n)).collect();
        assert!(spread.iter().all(|d| *d >= Duration::from_secs(3)));
        assert!(spread.iter().all(|d| *d <= Duration::from_secs(5)));
        let early = spread.iter().filter(|d| **d < poll).count();
        assert!((30..=70).contains(&early), "{early} of 100 below the mean");
    }
}
