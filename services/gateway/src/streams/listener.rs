//! The wake-up path of the event streams: the projection calls [`notify`] in the
//! transaction that stores a progress row (PostgreSQL delivers the notification
//! at commit, to every gateway replica), and [`run`], one `LISTEN` connection per
//! process, wakes the streams of the notified saga ([`super::Streams::wake`]).
//!
//! A lost connection is re-established (with backoff while PostgreSQL is away);
//! each time it is (re)established every stream is woken, since notifications
//! sent meanwhile are gone. Meanwhile the streams' safety poll keeps them going.

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use uuid::Uuid;

use super::{Inner, Streams};

/// The notification channel; the payload is the saga id.
pub const CHANNEL: &str = "sagaflow_gateway_progress";

/// First and longest pause before reconnecting the listener.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Notifies every gateway's streams of saga `saga_id` when `tx` commits.
pub async fn notify(tx: &mut PgConnection, saga_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(saga_id.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

/// Listens on [`CHANNEL`] and wakes the streams of `streams` until `closing` or
/// until the registry is gone.
pub(super) async fn run(registry: Weak<Inner>, pool: PgPool, closing: CancellationToken) {
    let mut retry = FIRST_RETRY;
    while !closing.is_cancelled() {
        let mut listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                warn!(error = %err, retry_in = ?retry, "event stream listener cannot connect; streams fall back to their safety poll");
                metrics::counter!("sagaflow_gateway_sse_listener_errors_total").increment(1);
                tokio::select! {
                    () = closing.cancelled() => return,
                    () = tokio::time::sleep(retry) => {}
                }
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
        };
        retry = FIRST_RETRY;
        debug!(channel = CHANNEL, "event stream listener listening");
        loop {
            // Listening (again): whatever was notified before is unknown.
            let Some(streams) = Streams::from_weak(&registry) else {
                return;
            };
            streams.inner.connected.store(true, Ordering::Release);
            streams.wake_all();
            drop(streams);
            let received = tokio::select! {
                () = closing.cancelled() => return,
                received = receive(&mut listener, &registry) => received,
            };
            match received {
                // The connection was lost and has been re-established.
                Ok(()) => continue,
                Err(err) => {
                    if let Some(streams) = Streams::from_weak(&registry) {
                        streams.inner.connected.store(false, Ordering::Release);
                    }
                    warn!(error = %err, "event stream listener failed; reconnecting");
                    metrics::counter!("sagaflow_gateway_sse_listener_errors_total").increment(1);
                    break;
                }
            }
        }
    }
}

/// A listener on [`CHANNEL`].
async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Wakes the notified streams until the connection is lost (`Ok`, after it was
/// re-established) or fails (`Err`); returns at once when the registry is gone.
async fn receive(listener: &mut PgListener, registry: &Weak<Inner>) -> Result<(), sqlx::Error> {
    loop {
        let Some(notification) = listener.try_recv().await? else {
            return Ok(());
        };
        let Some(streams) = Streams::from_weak(registry) else {
            return Ok(());
        };
        match Uuid::parse_str(notification.payload()) {
            Ok(saga_id) => streams.wake(saga_id),
            Err(_) => debug!(
                payload = notification.payload(),
                "notification without a saga id; ignored"
            ),
        }
    }
}
