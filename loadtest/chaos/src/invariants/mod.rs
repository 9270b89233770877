//! The invariants, checked after the load has settled, each a [`Row`] of the
//! report. They read the services' own databases (read-only) and the broker:
//! - [`sagas`]: one terminal saga per accepted checkout; no saga without a
//!   checkout; the gateway's status agrees with the orchestrator's; saga logs are
//!   gap-free (`seq` 1..n).
//! - [`effects`]: stock conserved per SKU; one net charge per completed checkout
//!   and none for a compensated one; one order and one notification per completed
//!   checkout.
//! - [`plumbing`]: every outbox drained (parked rows reported apart); every poison
//!   message in its `<topic>.dlq`; consumer lag zero.

pub mod effects;
pub mod plumbing;
pub mod sagas;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::databases::Databases;
use crate::error::Result;
use crate::load::Accepted;
use crate::messages::Poison;
use crate::report::Row;

/// What the invariants are checked against.
pub struct Inputs<'a> {
    pub dbs: &'a Databases,
    pub accepted: &'a [Accepted],
    /// The gateway's answer for each accepted checkout (`GET /v1/checkouts/{id}`).
    pub gateway_status: &'a BTreeMap<Uuid, std::result::Result<String, String>>,
    /// Units per SKU before the load.
    pub initial_stock: &'a BTreeMap<String, i64>,
    pub poison: &'a [Poison],
    /// Poison found in dead-letter topics; None when the broker cannot be read.
    pub dead_lettered: Option<&'a BTreeSet<Uuid>>,
    /// Consumer lag rows, computed by [`plumbing::lag`] (None: not readable).
    pub lag: Option<Row>,
    /// When the run started (sagas older than this are not the run's).
    pub since: DateTime<Utc>,
}

/// Saga status per accepted checkout id (absent: no saga).
pub async fn saga_statuses(dbs: &Databases, ids: &[Uuid]) -> Result<BTreeMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT saga_id, status FROM sagas WHERE saga_id = ANY($1)")
            .bind(ids)
            .fetch_all(dbs.pool("orchestrator"))
            .await?;
    Ok(rows.into_iter().collect())
}

/// Every invariant, in the report's order.
pub async fn check_all(inputs: Inputs<'_>) -> Result<Vec<Row>> {
    let ids: Vec<Uuid> = inputs.accepted.iter().map(|a| a.checkout_id).collect();
    let statuses = saga_statuses(inputs.dbs, &ids).await?;
    let mut rows = vec![
        sagas::terminal(inputs.accepted, &statuses),
        sagas::orphans(inputs.dbs, &ids, inputs.since).await?,
        sagas::gateway_agrees(inputs.accepted, &statuses, inputs.gateway_status),
        sagas::gap_free(inputs.dbs, &ids).await?,
        effects::stock(inputs.dbs, inputs.accepted, &statuses, inputs.initial_stock).await?,
        effects::charges(inputs.dbs, inputs.accepted, &statuses).await?,
        effects::orders(inputs.dbs, inputs.accepted, &statuses).await?,
        effects::notifications(inputs.dbs, inputs.accepted, &statuses).await?,
    ];
    rows.extend(plumbing::outboxes(inputs.dbs).await?);
    rows.push(plumbing::poison(inputs.poison, inputs.dead_lettered));
    rows.push(
        inputs
            .lag
            .unwrap_or_else(|| Row::skipped("consumer lag zero", "no broker to read")),
    );
    Ok(rows)
}
