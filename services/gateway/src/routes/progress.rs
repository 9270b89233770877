//! Server-sent events of one saga's projected progress, shared by `GET
//! /v1/generations/{id}/stream` and `GET /v1/sagas/{id}/stream`.
//!
//! One event per `saga_progress` row (event name = the row's `kind`, id = its
//! `seq`, data = the row as in `GET /v1/sagas/{id}/events`), in `seq` order as the
//! rows appear; then an `end` event once the saga's row in `checkouts` /
//! `generations` is terminal, and the stream closes. A reconnecting client's
//! `Last-Event-ID` resumes after that `seq`. Ownership is checked, and the stream
//! admitted ([`crate::streams::Streams::open`]: caps per user and in all), by the
//! routes before the stream starts.
//!
//! The stream reads the read model when it starts, when the projection notifies
//! a change of its saga, and on the safety poll ([`Subscription::wait`]); never
//! on a fixed short timer. It ends early with a `reconnect` event
//! (`{"reason": "lifetime" | "shutdown", "last_event_id"}`, SSE `retry:`
//! [`RECONNECT_RETRY`]) at its maximum lifetime or when the gateway shuts down;
//! in between, a keep-alive comment every [`KEEP_ALIVE`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use tracing::warn;
use uuid::Uuid;

use super::sagas::Event;
use crate::projection::Owner;
use crate::streams::{Subscription, Wake};

/// The keep-alive comment interval (proxies drop silent connections).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The `retry:` of the `reconnect` event: how long the client waits before it
/// reconnects.
pub const RECONNECT_RETRY: Duration = Duration::from_secs(2);

/// Most progress rows read per poll.
const STREAM_BATCH: i64 = 100;

/// Saga statuses after which nothing more happens on its own (a `failed` saga
/// waits for an operator).
pub const TERMINAL: &[&str] = &["completed", "compensated", "failed", "compensation_failed"];

/// Whether `status` is one of [`TERMINAL`].
pub fn is_terminal(status: &str) -> bool {
    TERMINAL.contains(&status)
}

/// Builds the data of the `end` event from the saga id, its final status and its
/// result id (order or document).
pub type EndEvent = fn(Uuid, &str, Option<Uuid>) -> Value;

/// The `Last-Event-ID` a reconnecting client sent (0 when none or unusable).
pub fn last_event_id(headers: &HeaderMap) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .unwrap_or(0)
}

/// The event stream of the saga of `subscription`, whose row is in `owner`'s
/// table.
pub fn stream(
    pool: PgPool,
    subscription: Subscription,
    owner: Owner,
    last_seq: i64,
    end: EndEvent,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let tail = Tail {
        pool,
        saga_id: subscription.saga_id(),
        subscription,
        owner,
        end,
        last_seq,
        queue: VecDeque::new(),
        idle: false,
        done: false,
    };
    let events = futures::stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some(event) = tail.queue.pop_front() {
                return Some((Ok(event), tail));
            }
            if tail.done {
                return None;
            }
            let wake = if tail.idle {
                tail.subscription.wait().await
            } else {
                tail.subscription.ending().unwrap_or(Wake::Changed)
            };
            if let Some(reason) = match wake {
                Wake::Changed | Wake::Poll => None,
                Wake::Lifetime => Some("lifetime"),
                Wake::Shutdown => Some("shutdown"),
            } {
                tail.queue.push_back(reconnect(reason, tail.last_seq));
                tail.done = true;
                continue;
            }
            if let Err(err) = tail.poll().await {
                warn!(saga_id = %tail.saga_id, error = %err, "progress stream failed; closing it");
                tail.queue.push_back(
                    SseEvent::default()
                        .event("error")
                        .data(json!({ "code": "internal" }).to_string()),
                );
                tail.done = true;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// The last event of a stream ended by its lifetime or the gateway's shutdown:
/// reconnect (with `Last-Event-ID`) after [`RECONNECT_RETRY`].
fn reconnect(reason: &str, last_seq: i64) -> SseEvent {
    let event = SseEvent::default()
        .event("reconnect")
        .retry(RECONNECT_RETRY)
        .data(json!({ "reason": reason, "last_event_id": last_seq }).to_string());
    if last_seq > 0 {
        event.id(last_seq.to_string())
    } else {
        event
    }
}

/// The state of one stream.
struct Tail {
    pool: PgPool,
    /// Its place in the caps and its wake-ups.
    subscription: Subscription,
    saga_id: Uuid,
    owner: Owner,
    end: EndEvent,
    /// The last `seq` sent.
    last_seq: i64,
    /// Events read but not sent yet.
    queue: VecDeque<SseEvent>,
    /// The last read found nothing new: wait for a reason to read again.
    idle: bool,
    /// Nothing follows the queued events.
    done: bool,
}

impl Tail {
    /// Reads the rows after `last_seq` into the queue, then the `end` event when
    /// that was the last of them and the saga is terminal. The status is read
    /// first: the projection commits a terminal status with its row, so when a
    /// status read before the rows is terminal, the rows read after include
    /// every row.
    async fn poll(&mut self) -> Result<(), sqlx::Error> {
        // Table and column names are constants of `Owner`, never input.
        let sql = format!(
            "SELECT status, {} AS result_id FROM {} WHERE {} = $1",
            self.owner.result_column(),
            self.owner.table(),
            self.owner.id_column()
        );
        let row = sqlx::query(&sql)
            .bind(self.saga_id)
            .fetch_one(&self.pool)
            .await?;
        let status: String = row.try_get("status")?;
        let result_id: Option<Uuid> = row.try_get("result_id")?;
        let rows = sqlx::query(
            "SELECT seq, kind, step, status, detail, at FROM saga_progress
             WHERE saga_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(self.saga_id)
        .bind(self.last_seq)
        .bind(STREAM_BATCH)
        .fetch_all(&self.pool)
        .await?;
        // A short batch is everything there is: wait for the next change.
        let caught_up = i64::try_from(rows.len()).unwrap_or(i64::MAX) < STREAM_BATCH;
        self.idle = caught_up;
        for row in &rows {
            let event = Event {
                seq: row.try_get("seq")?,
                kind: row.try_get("kind")?,
                step: row.try_get("step")?,
                status: row.try_get("status")?,
                detail: row.try_get("detail")?,
                at: row.try_get("at")?,
            };
            self.last_seq = event.seq;
            let name = if event.kind.is_empty() || event.kind.contains(['\n', '\r']) {
                "progress".to_owned()
            } else {
                event.kind.clone()
            };
            let data =
                serde_json::to_string(&event).map_err(|err| sqlx::Error::Decode(err.into()))?;
            self.queue.push_back(
                SseEvent::default()
                    .event(name)
                    .id(event.seq.to_string())
                    .data(data),
            );
        }
        if caught_up && is_terminal(&status) {
            let data = (self.end)(self.saga_id, &status, result_id);
            self.queue
                .push_back(SseEvent::default().event("end").data(data.to_string()));
            self.done = true;
        }
        Ok(())
    }
}
