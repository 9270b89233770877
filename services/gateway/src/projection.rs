//! The read model: [`Projection`] consumes `orchestrator.events` and
//! `orchestrator.commands` (inbox consumer [`crate::NAME`]).
//!
//! `SagaProgressed` (`orchestrator.events`, one per decision of the orchestrator)
//! goes into `saga_progress`, one row per typed entry (`(saga_id, seq)`; a repeat
//! is ignored), for every saga, and is applied to the saga's row in `checkouts`,
//! `generations` or `order_changes` (whichever holds the saga id). Only typed
//! fields are read:
//!
//! - `status`: the saga status after the newest entry (`seq` above `last_seq`);
//! - `order_id` / `document_id` / `refund_id`: the message's `result` (what the saga's
//!   definition declares it produces) unless a result with a higher seq is stored
//!   (`result_seq`), so a late message never replaces a newer result (a validated
//!   draft never replaces the exported document); it is kept on the decision's
//!   last row (`result_id`) for [`replay`];
//! - `failure`: the first entry whose kind is a failure
//!   ([`ProgressKind::is_failure`]) with its step, seq and typed detail (phase,
//!   attempt, message type, reason).
//!
//! A v1 message (one entry, untyped detail) reads the same way through
//! [`SagaProgressed::typed_entries`] and [`SagaProgressed::result`].
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
//! Other message types on the topics (`SagaFinished`, `CancelSaga`, ...) are ignored.
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
//! - `order_changes`: written by the order routes (`routes::orders`), kept and
//!   redacted like checkouts.
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
use sagaflow_events::messages::{
    InitiateCheckout, InitiateGeneration, ProgressEntry, ProgressKind, SagaProgressed,
};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use tracing::debug;
use uuid::Uuid;

pub mod catalog;
pub mod initiated;

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
    /// A row of `order_changes` (`POST /v1/orders/{id}/cancel` or `/refunds`).
    OrderChange,
}

impl Owner {
    /// Its table.
    pub fn table(self) -> &'static str {
        match self {
            Owner::Checkout => "checkouts",
            Owner::Generation => "generations",
            Owner::OrderChange => "order_changes",
        }
    }

    /// The column holding the saga id.
    pub fn id_column(self) -> &'static str {
        match self {
            Owner::Checkout => "checkout_id",
            Owner::Generation => "generation_id",
            Owner::OrderChange => "saga_id",
        }
    }

    /// The column holding the saga's result (`order_id`, `document_id`).
    pub fn result_column(self) -> &'static str {
        match self {
            Owner::Checkout => "order_id",
            Owner::Generation => "document_id",
            Owner::OrderChange => "refund_id",
        }
    }
}

/// Every table a saga can have its row in.
pub const OWNERS: [Owner; 3] = [Owner::Checkout, Owner::Generation, Owner::OrderChange];

/// Finds the saga's row and locks it against writers outside the projection
/// (the projection's own writes of a saga already take turns, see [`lock_saga`]).
async fn lock_owner(tx: &mut PgConnection, saga_id: Uuid) -> Result<Option<Owner>, Failure> {
    for owner in OWNERS {
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

/// Stores the entries of one message and applies them to the saga's row if there
/// is one yet; `Ok(false)` when every entry was already stored.
pub async fn project(tx: &mut PgConnection, event: &SagaProgressed) -> Result<bool, Failure> {
    let entries = event.typed_entries();
    if entries
        .iter()
        .any(|e| DateTime::<Utc>::from_timestamp_millis(e.at_ms).is_none())
    {
        return Err(Failure::Poison(format!(
            "an entry of saga {} has an invalid time",
            event.saga_id
        )));
    }
    lock_saga(tx, event.saga_id).await?;
    // A late event of an erased user's saga keeps its step and time, not its detail.
    let erased = erased(tx, event.saga_id).await?;
    let owner = lock_owner(tx, event.saga_id).await?;
    let result_id = event.result().map(|r| r.id);
    let last = entries.len().saturating_sub(1);
    let mut stored = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let row = Row {
            seq: entry.seq,
            kind: entry.kind.as_str().to_owned(),
            step: entry.step.clone(),
            status: entry.status.as_str().to_owned(),
            detail: if erased {
                Value::String("[erased]".to_owned())
            } else {
                detail(entry)
            },
            result_id: if i == last { result_id } else { None },
        };
        let at = DateTime::<Utc>::from_timestamp_millis(entry.at_ms).unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO saga_progress (saga_id, seq, definition, definition_version, kind, step,
                                        status, detail, at, owned, result_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (saga_id, seq) DO NOTHING",
        )
        .bind(event.saga_id)
        .bind(row.seq)
        .bind(&event.definition)
        .bind(event.definition_version)
        .bind(&row.kind)
        .bind(&row.step)
        .bind(&row.status)
        .bind(&row.detail)
        .bind(at)
        .bind(owner.is_some())
        .bind(row.result_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            stored.push(row);
        }
    }
    if stored.is_empty() {
        debug!(saga_id = %event.saga_id, seq = event.seq, "progress already projected");
        return Ok(false);
    }
    let Some(owner) = owner else {
        debug!(saga_id = %event.saga_id, seq = event.seq, "progress of a saga without a row (yet); stored");
        return Ok(true);
    };
    for row in &stored {
        apply(tx, owner, event.saga_id, row).await?;
    }
    // Wakes the event streams of this saga on every gateway when this commits.
    crate::streams::listener::notify(tx, event.saga_id).await?;
    metrics::counter!("sagaflow_gateway_progress_projected_total").increment(stored.len() as u64);
    Ok(true)
}

/// What a timeline shows of an entry besides its kind, step and status: its
/// phase, attempt, message type and reason, the ones it has.
pub fn detail(entry: &ProgressEntry) -> Value {
    let mut detail = Map::new();
    if let Some(phase) = entry.phase {
        detail.insert("phase".into(), json!(phase.as_str()));
    }
    if let Some(attempt) = entry.attempt {
        detail.insert("attempt".into(), json!(attempt));
    }
    if let Some(message_type) = &entry.message_type {
        detail.insert("message_type".into(), json!(message_type));
    }
    if let Some(reason) = &entry.reason {
        detail.insert("reason".into(), json!(reason));
    }
    Value::Object(detail)
}

/// Applies the stored progress of saga `saga_id`, in `seq` order, to its just
/// inserted row in `owner`'s table, and marks it owned (no longer a candidate
/// for pruning); returns how many entries there were.
pub async fn replay(tx: &mut PgConnection, owner: Owner, saga_id: Uuid) -> Result<usize, Failure> {
    sqlx::query("UPDATE saga_progress SET owned = true WHERE saga_id = $1 AND NOT owned")
        .bind(saga_id)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, kind, step, status, detail, result_id FROM saga_progress
         WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(saga_id)
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        apply(tx, owner, saga_id, row).await?;
    }
    Ok(rows.len())
}

/// One stored entry as [`apply`] needs it: from a message or a `saga_progress` row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    seq: i64,
    kind: String,
    step: Option<String>,
    status: String,
    detail: Value,
    /// The saga's result reported with the entry's decision (on its last entry).
    result_id: Option<Uuid>,
}

/// Applies one stored entry to the saga's row in `owner`'s table (status and
/// result, each unless a newer one was applied; the first failure; see the module
/// docs).
async fn apply(
    tx: &mut PgConnection,
    owner: Owner,
    saga_id: Uuid,
    row: &Row,
) -> Result<(), Failure> {
    let (table, id_column, result) = (owner.table(), owner.id_column(), owner.result_column());
    sqlx::query(&format!(
        "UPDATE {table} SET status = $2, last_seq = $3, updated_at = now()
         WHERE {id_column} = $1 AND (last_seq IS NULL OR last_seq < $3)"
    ))
    .bind(saga_id)
    .bind(&row.status)
    .bind(row.seq)
    .execute(&mut *tx)
    .await?;
    if let Some(result_id) = row.result_id {
        sqlx::query(&format!(
            "UPDATE {table} SET {result} = $2, result_seq = $3, updated_at = now()
             WHERE {id_column} = $1 AND (result_seq IS NULL OR result_seq < $3)"
        ))
        .bind(saga_id)
        .bind(result_id)
        .bind(row.seq)
        .execute(&mut *tx)
        .await?;
    }
    if ProgressKind::parse(&row.kind).is_failure() {
        let failure = json!({
            "kind": row.kind,
            "step": row.step,
            "seq": row.seq,
            "detail": row.detail,
        });
        sqlx::query(&format!(
            "UPDATE {table} SET failure = $2, updated_at = now()
             WHERE {id_column} = $1 AND failure IS NULL"
        ))
        .bind(saga_id)
        .bind(&failure)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sagaflow_events::messages::{SagaStatus, StepPhase};

    use super::*;

    #[test]
    fn detail_holds_the_typed_fields_an_entry_has() {
        let entry = ProgressEntry {
            seq: 3,
            kind: ProgressKind::CommandSent,
            step: Some("take_payment".into()),
            phase: Some(StepPhase::Compensation),
            attempt: Some(2),
            message_type: Some("CompensatePayment".into()),
            reason: None,
            status: SagaStatus::Compensating,
            at_ms: 0,
        };
        assert_eq!(
            detail(&entry),
            json!({ "phase": "compensation", "attempt": 2, "message_type": "CompensatePayment" })
        );
        let bare = ProgressEntry {
            phase: None,
            attempt: None,
            message_type: None,
            reason: Some("card declined".into()),
            ..entry
        };
        assert_eq!(detail(&bare), json!({ "reason": "card declined" }));
    }
}
