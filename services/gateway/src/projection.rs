//! The read model: [`Projection`] consumes `SagaProgressed` from
//! `orchestrator.events` (inbox consumer [`crate::NAME`]) and projects it into
//! `saga_progress` (one row per `(saga_id, seq)`; a repeat is ignored) and the
//! `checkouts` row of the saga:
//!
//! - `status`: the saga status after the newest event (`seq` above `last_seq`);
//! - `order_id`: from the `detail` of `step_completed` of step `create_order`,
//!   looked up defensively (the reply payload may be the detail itself or nested);
//! - `failure`: the first failure event (`step_failed`, `step_timed_out`, `failed`,
//!   `compensation_failed`) with its step and detail.
//!
//! Events of sagas that are not gateway checkouts are skipped; other message types
//! on the topic are ignored.

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::SagaProgressed;
use serde_json::{Value, json};
use sqlx::PgConnection;
use tracing::{debug, warn};
use uuid::Uuid;

/// Kinds that describe why a saga did not complete.
pub const FAILURE_KINDS: &[&str] = &[
    "step_failed",
    "step_timed_out",
    "failed",
    "compensation_failed",
];

/// The step whose completion carries the order id.
pub const ORDER_STEP: &str = "create_order";

/// How deep [`find_order_id`] looks into the detail.
const MAX_DEPTH: usize = 4;

/// The `SagaProgressed` handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct Projection;

impl Handler for Projection {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        if message.message_type() != SagaProgressed::MESSAGE_TYPE {
            debug!(
                message_type = message.message_type(),
                "not a saga progress event; ignored"
            );
            return Ok(Vec::new());
        }
        let event: SagaProgressed = message.decode()?;
        project(tx, &event).await?;
        Ok(Vec::new())
    }
}

/// Applies one event; `Ok(false)` when it was skipped (unknown saga or a
/// `seq` already projected).
pub async fn project(tx: &mut PgConnection, event: &SagaProgressed) -> Result<bool, Failure> {
    let at = DateTime::<Utc>::from_timestamp_millis(event.at_ms)
        .ok_or_else(|| Failure::Poison(format!("at_ms {} is not a valid time", event.at_ms)))?;
    let detail = parse_detail(&event.detail);
    // Locks the checkout so concurrent events of one saga apply one at a time.
    let known = sqlx::query("SELECT 1 FROM checkouts WHERE checkout_id = $1 FOR UPDATE")
        .bind(event.saga_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !known {
        debug!(saga_id = %event.saga_id, "progress of a saga that is not a gateway checkout; skipped");
        return Ok(false);
    }
    let inserted = sqlx::query(
        "INSERT INTO saga_progress (saga_id, seq, definition, definition_version, kind, step, status, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (saga_id, seq) DO NOTHING",
    )
    .bind(event.saga_id)
    .bind(event.seq)
    .bind(&event.definition)
    .bind(event.definition_version)
    .bind(&event.kind)
    .bind(&event.step)
    .bind(&event.status)
    .bind(&detail)
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        debug!(saga_id = %event.saga_id, seq = event.seq, "progress already projected");
        return Ok(false);
    }
    sqlx::query(
        "UPDATE checkouts SET status = $2, last_seq = $3, updated_at = now()
         WHERE checkout_id = $1 AND (last_seq IS NULL OR last_seq < $3)",
    )
    .bind(event.saga_id)
    .bind(&event.status)
    .bind(event.seq)
    .execute(&mut *tx)
    .await?;
    if event.kind == "step_completed" && event.step.as_deref() == Some(ORDER_STEP) {
        match find_order_id(&detail, MAX_DEPTH) {
            Some(order_id) => {
                sqlx::query(
                    "UPDATE checkouts SET order_id = $2, updated_at = now() WHERE checkout_id = $1",
                )
                .bind(event.saga_id)
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                warn!(saga_id = %event.saga_id, seq = event.seq, "create_order completed without a readable order_id")
            }
        }
    }
    if FAILURE_KINDS.contains(&event.kind.as_str()) {
        let failure = json!({
            "kind": event.kind,
            "step": event.step,
            "seq": event.seq,
            "detail": detail,
        });
        sqlx::query(
            "UPDATE checkouts SET failure = $2, updated_at = now()
             WHERE checkout_id = $1 AND failure IS NULL",
        )
        .bind(event.saga_id)
        .bind(&failure)
        .execute(&mut *tx)
        .await?;
    }
    metrics::counter!("sagaflow_gateway_progress_projected_total").increment(1);
    Ok(true)
}

/// The detail as JSON; text that is not JSON is kept as a JSON string.
pub fn parse_detail(detail: &str) -> Value {
    serde_json::from_str(detail).unwrap_or_else(|_| Value::String(detail.to_owned()))
}

/// The first `order_id` holding a UUID, searched breadth-first through objects,
/// arrays and JSON-encoded strings up to `depth` levels.
pub fn find_order_id(value: &Value, depth: usize) -> Option<Uuid> {
    let mut level = vec![value.clone()];
    for _ in 0..=depth {
        let mut next = Vec::new();
        for value in level {
            match value {
                Value::Object(map) => {
                    if let Some(id) = map
                        .get("order_id")
                        .and_then(Value::as_str)
                        .and_then(|s| Uuid::parse_str(s).ok())
                    {
                        return Some(id);
                    }
                    next.extend(map.into_iter().map(|(_, v)| v));
                }
                Value::Array(values) => next.extend(values),
                Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
                    if let Ok(inner) = serde_json::from_str::<Value>(&text) {
                        next.push(inner);
                    }
                }
                _ => {}
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0191d2a8-6a4e-7b6b-9a57-3c1d2e3f4a5b";

    #[test]
    fn order_id_is_found_where_it_may_be() {
        let expected = Uuid::parse_str(ID).ok();
        for detail in [
            json!({ "order_id": ID }),
            json!({ "reply": { "order_id": ID } }),
            json!({ "reply": { "type": "OrderCreated", "payload": { "saga_id": "x", "order_id": ID } } }),
            json!({ "payload": json!({ "order_id": ID }).to_string() }),
            json!([{ "order_id": ID }]),
        ] {
            assert_eq!(find_order_id(&detail, MAX_DEPTH), expected, "{detail}");
        }
    }

    #[test]
    fn missing_or_bad_order_id_is_none() {
        for detail in [
            json!({}),
            json!({ "order_id": "not-a-uuid" }),
            json!({ "order_id": 42 }),
            json!("plain text"),
            json!(null),
            json!({ "a": { "b": { "c": { "d": { "e": { "f": { "order_id": ID } } } } } } }),
        ] {
            assert_eq!(find_order_id(&detail, MAX_DEPTH), None, "{detail}");
        }
    }

    #[test]
    fn detail_that_is_not_json_is_kept_as_text() {
        assert_eq!(parse_detail("{\"a\":1}"), json!({ "a": 1 }));
        assert_eq!(parse_detail("oops"), json!("oops"));
    }
}
