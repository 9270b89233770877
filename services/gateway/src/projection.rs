//! The read model: [`Projection`] consumes `SagaProgressed` from
//! `orchestrator.events` (inbox consumer [`crate::NAME`]) and projects it into
//! `saga_progress` (one row per `(saga_id, seq)`; a repeat is ignored) and the
//! saga's row in `checkouts` or `generations` (whichever holds the saga id):
//!
//! - `status`: the saga status after the newest event (`seq` above `last_seq`);
//! - checkouts, `order_id`: from the `detail` of `step_completed` of step
//!   `create_order`, looked up defensively (the reply payload may be the detail
//!   itself or nested);
//! - generations, `document_id`: from the `detail` of `step_completed` of step
//!   `export`, else (until export completes) of step `validate`, looked up the same
//!   way;
//! - `failure`: the first failure event (`step_failed`, `step_timed_out`, `failed`,
//!   `compensation_failed`) with its step and detail.
//!
//! Events of sagas the gateway did not start are skipped; other message types on
//! the topic are ignored.

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

/// The generation step whose completion carries the final document id.
pub const EXPORT_STEP: &str = "export";

/// The generation step whose completion carries the validated document id (used
/// until `export` completes).
pub const VALIDATE_STEP: &str = "validate";

/// How deep [`find_uuid`] looks into the detail.
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

/// The gateway table a saga belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A row of `checkouts` (`POST /v1/checkouts`).
    Checkout,
    /// A row of `generations` (`POST /v1/generations`).
    Generation,
}

impl Owner {
    /// Its table.
    pub fn table(self) -> &'static str {
        match self {
            Owner::Checkout => "checkouts",
            Owner::Generation => "generations",
        }
    }

    /// The column holding the saga id.
    pub fn id_column(self) -> &'static str {
        match self {
            Owner::Checkout => "checkout_id",
            Owner::Generation => "generation_id",
        }
    }

    /// The column holding the saga's result (`order_id`, `document_id`).
    pub fn result_column(self) -> &'static str {
        match self {
            Owner::Checkout => "order_id",
            Owner::Generation => "document_id",
        }
    }

    /// The saga definition's name (`checkout`, `generation`).
    pub fn definition(self) -> &'static str {
        match self {
            Owner::Checkout => "checkout",
            Owner::Generation => "generation",
        }
    }
}

/// Finds the saga's row and locks it, so concurrent events of one saga apply one
/// at a time.
async fn lock_owner(tx: &mut PgConnection, saga_id: Uuid) -> Result<Option<Owner>, Failure> {
    for owner in [Owner::Checkout, Owner::Generation] {
        let sql = format!(
            "SELECT 1 FROM {} WHERE {} = $1 FOR UPDATE",
            owner.table(),
            owner.id_column()
        );
        let found = sqlx::query(&sql)
            .bind(saga_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if found {
            return Ok(Some(owner));
        }
    }
    Ok(None)
}

/// Applies one event; `Ok(false)` when it was skipped (unknown saga or a
/// `seq` already projected).
pub async fn project(tx: &mut PgConnection, event: &SagaProgressed) -> Result<bool, Failure> {
    let at = DateTime::<Utc>::from_timestamp_millis(event.at_ms)
        .ok_or_else(|| Failure::Poison(format!("at_ms {} is not a valid time", event.at_ms)))?;
    let detail = parse_detail(&event.detail);
    let Some(owner) = lock_owner(tx, event.saga_id).await? else {
        debug!(saga_id = %event.saga_id, "progress of a saga the gateway did not start; skipped");
        return Ok(false);
    };
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
    let (table, id_column) = (owner.table(), owner.id_column());
    sqlx::query(&format!(
        "UPDATE {table} SET status = $2, last_seq = $3, updated_at = now()
         WHERE {id_column} = $1 AND (last_seq IS NULL OR last_seq < $3)"
    ))
    .bind(event.saga_id)
    .bind(&event.status)
    .bind(event.seq)
    .execute(&mut *tx)
    .await?;
    if event.kind == "step_completed" {
        match (owner, event.step.as_deref()) {
            (Owner::Checkout, Some(ORDER_STEP)) => {
                set_result_id(tx, owner, event, &detail, "order_id", "").await?
            }
            // The exported document wins; the validated one stands in until then
            // (and never replaces it when redelivered late).
            (Owner::Generation, Some(EXPORT_STEP)) => {
                set_result_id(tx, owner, event, &detail, "document_id", "").await?
            }
            (Owner::Generation, Some(VALIDATE_STEP)) => {
                set_result_id(
                    tx,
                    owner,
                    event,
                    &detail,
                    "document_id",
                    "AND document_id IS NULL",
                )
                .await?
            }
            _ => {}
        }
    }
    if FAILURE_KINDS.contains(&event.kind.as_str()) {
        let failure = json!({
            "kind": event.kind,
            "step": event.step,
            "seq": event.seq,
            "detail": detail,
        });
        sqlx::query(&format!(
            "UPDATE {table} SET failure = $2, updated_at = now()
             WHERE {id_column} = $1 AND failure IS NULL"
        ))
        .bind(event.saga_id)
        .bind(&failure)
        .execute(&mut *tx)
        .await?;
    }
    metrics::counter!("sagaflow_gateway_progress_projected_total").increment(1);
    Ok(true)
}

/// Copies the id `field` (`order_id` / `document_id`) found in a completed step's
/// detail into the same-named column of the saga's `owner` row; `condition`
/// narrows the update. `field` and `condition` are constants, never input.
async fn set_result_id(
    tx: &mut PgConnection,
    owner: Owner,
    event: &SagaProgressed,
    detail: &Value,
    field: &'static str,
    condition: &'static str,
) -> Result<(), Failure> {
    let Some(id) = find_uuid(detail, field, MAX_DEPTH) else {
        warn!(saga_id = %event.saga_id, seq = event.seq, step = ?event.step, "step completed without a readable {field}");
        return Ok(());
    };
    let (table, id_column) = (owner.table(), owner.id_column());
    sqlx::query(&format!(
        "UPDATE {table} SET {field} = $2, updated_at = now() WHERE {id_column} = $1 {condition}"
    ))
    .bind(event.saga_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The detail as JSON; text that is not JSON is kept as a JSON string.
pub fn parse_detail(detail: &str) -> Value {
    serde_json::from_str(detail).unwrap_or_else(|_| Value::String(detail.to_owned()))
}

/// The first `order_id` holding a UUID (see [`find_uuid`]).
pub fn find_order_id(value: &Value, depth: usize) -> Option<Uuid> {
    find_uuid(value, "order_id", depth)
}

/// The first `field` holding a UUID, searched breadth-first through objects,
/// arrays and JSON-encoded strings up to `depth` levels.
pub fn find_uuid(value: &Value, field: &str, depth: usize) -> Option<Uuid> {
    let mut level = vec![value.clone()];
    for _ in 0..=depth {
        let mut next = Vec::new();
        for value in level {
            match value {
                Value::Object(map) => {
                    if let Some(id) = map
                        .get(field)
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
