//! The read model: [`Projection`] consumes `orchestrator.events` and
//! `orchestrator.commands` (inbox consumer [`crate::NAME`]).
//!
//! `SagaProgressed` (`orchestrator.events`) goes into `saga_progress` (one row per
//! `(saga_id, seq)`; a repeat is ignored) for every saga, and is applied to the
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
//! `InitiateCheckout` / `InitiateGeneration` (`orchestrator.commands`) of sagas
//! started by another producer (the planner, for the assistant) get their row
//! ([`initiated`]: owner = the envelope's tenant and the payload's `user_id`,
//! `source = 'assistant'`); the gateway's own commands come back on the topic too
//! and change nothing (`ON CONFLICT DO NOTHING`). The two topics are consumed
//! without mutual order, so progress may come first: it waits in
//! `saga_progress` and is applied, in `seq` order, when the row is inserted
//! ([`replay`]). A transaction-scoped advisory lock per saga ([`lock_saga`])
//! makes the two paths take turns, so neither misses the other's commit.
//!
//! Other message types on the topics (`CancelSaga`, ...) are ignored.
//!
//! Every progress row applied to a saga's row also notifies the event streams
//! of that saga, on every gateway replica, when the transaction commits
//! ([`crate::streams::listener::notify`]).
//!
//! ## Tables, their owners and their pruning
//!
//! - `checkouts`, `generations` (+ `generation_cancellations`): written by the
//!   routes and by [`initiated`], kept as the user's history; a user's
//!   generations go with `DELETE /v1/me`, checkouts are redacted (financial
//!   records).
//! - `saga_progress`: written here. `owned` says whether the saga had its row
//!   when the entry was stored (or got it since, [`replay`]); entries that are
//!   still not owned after `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS` (progress
//!   of a saga whose start the gateway never saw, late progress of an erased
//!   generation) are pruned by [`crate::housekeeping`].
//! - `idempotency_keys` (the routes, [`crate::idempotency`]): pruned by
//!   housekeeping once older than `GATEWAY_IDEMPOTENCY_TTL_SECS`.
//! - `erased_sagas` (`DELETE /v1/me`): pruned by housekeeping after 30 days.
//! - `products` ([`catalog`]): one row per SKU, bounded by the catalogue.
//! - `sagaflow_outbox` / `sagaflow_inbox`: the bus's (`sagaflow-bus`); the relay
//!   prunes published outbox rows.

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{InitiateCheckout, InitiateGeneration, SagaProgressed};
use serde_json::{Value, json};
use sqlx::PgConnection;
use tracing::{debug, warn};
use uuid::Uuid;

pub mod catalog;
pub mod initiated;

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

/// First key of the two-key advisory lock space of [`lock_saga`] (distinct from
/// the idempotency keys' class and the relay's single-key lock).
const SAGA_LOCK_CLASS: i32 = 0x7072; // "pr"

/// The handler of `SagaProgressed`, `InitiateCheckout` and `InitiateGeneration`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Projection;

impl Handler for Projection {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let tenant = &message.envelope.tenant_id;
        match message.message_type() {
            SagaProgressed::MESSAGE_TYPE => {
                project(tx, &message.decode::<SagaProgressed>()?).await?;
            }
            InitiateCheckout::MESSAGE_TYPE => {
                initiated::checkout(tx, tenant, &message.decode::<InitiateCheckout>()?).await?;
            }
            InitiateGeneration::MESSAGE_TYPE => {
                initiated::generation(tx, tenant, &message.decode::<InitiateGeneration>()?).await?;
            }
            other => debug!(message_type = other, "not projected; ignored"),
        }
        Ok(Vec::new())
    }
}

/// The gateway table a saga belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A row of `checkouts` (`POST /v1/checkouts`, or an `InitiateCheckout` of
    /// another producer).
    Checkout,
    /// A row of `generations` (`POST /v1/generations`, or an `InitiateGeneration`
    /// of another producer).
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

/// Finds the saga's row and locks it against writers outside the projection
/// (the projection's own writes of a saga already take turns, see [`lock_saga`]).
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

/// Takes the transaction-scoped advisory lock of saga `saga_id`: the projection's
/// writes of one saga (its progress, its `Initiate*`) then commit one at a time,
/// so each sees what the other committed before it.
pub async fn lock_saga(tx: &mut PgConnection, saga_id: Uuid) -> Result<(), Failure> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(SAGA_LOCK_CLASS)
        .bind(saga_id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether `saga_id` belongs to a user who erased their data (`DELETE /v1/me`).
pub async fn erased(tx: &mut PgConnection, saga_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erased_sagas WHERE saga_id = $1)")
        .bind(saga_id)
        .fetch_one(tx)
        .await
}

/// Stores one event and applies it to the saga's row if there is one yet;
/// `Ok(false)` when its `seq` was already stored.
pub async fn project(tx: &mut PgConnection, event: &SagaProgressed) -> Result<bool, Failure> {
    let at = DateTime::<Utc>::from_timestamp_millis(event.at_ms)
        .ok_or_else(|| Failure::Poison(format!("at_ms {} is not a valid time", event.at_ms)))?;
    lock_saga(tx, event.saga_id).await?;
    // A late event of an erased user's saga keeps its step and time, not its detail.
    let detail = if erased(tx, event.saga_id).await? {
        serde_json::Value::String("[erased]".to_owned())
    } else {
        parse_detail(&event.detail)
    };
    let owner = lock_owner(tx, event.saga_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO saga_progress (saga_id, seq, definition, definition_version, kind, step, status, detail, at, owned)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
    .bind(owner.is_some())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        debug!(saga_id = %event.saga_id, seq = event.seq, "progress already projected");
        return Ok(false);
    }
    let Some(owner) = owner else {
        debug!(saga_id = %event.saga_id, seq = event.seq, "progress of a saga without a row (yet); stored");
        return Ok(true);
    };
    let entry = Entry {
        saga_id: event.saga_id,
        seq: event.seq,
        kind: &event.kind,
        step: event.step.as_deref(),
        status: &event.status,
        detail: &detail,
    };
    apply(tx, owner, &entry).await?;
    // Wakes the event streams of this saga on every gateway when this commits.
    crate::streams::listener::notify(tx, event.saga_id).await?;
    metrics::counter!("sagaflow_gateway_progress_projected_total").increment(1);
    Ok(true)
}

/// Applies the stored progress of saga `saga_id`, in `seq` order, to its just
/// inserted row in `owner`'s table, and marks it owned (no longer a candidate
/// for pruning); returns how many entries there were.
pub async fn replay(tx: &mut PgConnection, owner: Owner, saga_id: Uuid) -> Result<usize, Failure> {
    sqlx::query("UPDATE saga_progress SET owned = true WHERE saga_id = $1 AND NOT owned")
        .bind(saga_id)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(i64, String, Option<String>, String, Value)> = sqlx::query_as(
        "SELECT seq, kind, step, status, detail FROM saga_progress
         WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(saga_id)
    .fetch_all(&mut *tx)
    .await?;
    for (seq, kind, step, status, detail) in &rows {
        let entry = Entry {
            saga_id,
            seq: *seq,
            kind,
            step: step.as_deref(),
            status,
            detail,
        };
        apply(tx, owner, &entry).await?;
    }
    Ok(rows.len())
}

/// One saga log entry as [`apply`] needs it: from a `SagaProgressed` or a
/// `saga_progress` row.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    saga_id: Uuid,
    seq: i64,
    kind: &'a str,
    step: Option<&'a str>,
    status: &'a str,
    detail: &'a Value,
}

/// Applies one stored entry to the saga's row in `owner`'s table (status, result
/// id, failure; see the module docs).
async fn apply(tx: &mut PgConnection, owner: Owner, entry: &Entry<'_>) -> Result<(), Failure> {
    let (table, id_column) = (owner.table(), owner.id_column());
    sqlx::query(&format!(
        "UPDATE {table} SET status = $2, last_seq = $3, updated_at = now()
         WHERE {id_column} = $1 AND (last_seq IS NULL OR last_seq < $3)"
    ))
    .bind(entry.saga_id)
    .bind(entry.status)
    .bind(entry.seq)
    .execute(&mut *tx)
    .await?;
    if entry.kind == "step_completed" {
        match (owner, entry.step) {
            (Owner::Checkout, Some(ORDER_STEP)) => {
                set_result_id(tx, owner, entry, "order_id", "").await?
            }
            // The exported document wins; the validated one stands in until then
            // (and never replaces it when redelivered late).
            (Owner::Generation, Some(EXPORT_STEP)) => {
                set_result_id(tx, owner, entry, "document_id", "").await?
            }
            (Owner::Generation, Some(VALIDATE_STEP)) => {
                set_result_id(tx, owner, entry, "document_id", "AND document_id IS NULL").await?
            }
            _ => {}
        }
    }
    if FAILURE_KINDS.contains(&entry.kind) {
        let failure = json!({
            "kind": entry.kind,
            "step": entry.step,
            "seq": entry.seq,
            "detail": entry.detail,
        });
        sqlx::query(&format!(
            "UPDATE {table} SET failure = $2, updated_at = now()
             WHERE {id_column} = $1 AND failure IS NULL"
        ))
        .bind(entry.saga_id)
        .bind(&failure)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Copies the id `field` (`order_id` / `document_id`) found in a completed step's
/// detail into the same-named column of the saga's `owner` row; `condition`
/// narrows the update. `field` and `condition` are constants, never input.
async fn set_result_id(
    tx: &mut PgConnection,
    owner: Owner,
    entry: &Entry<'_>,
    field: &'static str,
    condition: &'static str,
) -> Result<(), Failure> {
    let Some(id) = find_uuid(entry.detail, field, MAX_DEPTH) else {
        warn!(saga_id = %entry.saga_id, seq = entry.seq, step = ?entry.step, "step completed without a readable {field}");
        return Ok(());
    };
    let (table, id_column) = (owner.table(), owner.id_column());
    sqlx::query(&format!(
        "UPDATE {table} SET {field} = $2, updated_at = now() WHERE {id_column} = $1 {condition}"
    ))
    .bind(entry.saga_id)
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
