//! The planner's housekeeping loop (every `PLANNER_SWEEP_MS`): it expires
//! unconfirmed plans and prunes every table that grows.
//!
//! - Expiry: a plan awaiting confirmation (or a dry run) whose `expires_at`
//!   (`PLANNER_PLAN_TTL_SECS` after it was made) has passed becomes `expired`,
//!   with a `plan_expired` audit entry; confirming it is refused with 410
//!   (`crate::api`, which also expires a due plan itself, so the answer never
//!   depends on when the sweep last ran).
//! - Pruning, each table by its owner here:
//!   `intent_requests` after `PLANNER_IDEMPOTENCY_TTL_SECS`; `daily_spend` two
//!   days after its day; finished plans (with their log, children and plan
//!   sagas) `PLANNER_RETENTION_DAYS` after their last change; `known_sagas` and
//!   `known_applications` not seen for that long; erasure tombstones that old
//!   (no late message is expected after the topics' retention).
//!   `catalog_products` has one row per SKU and is not pruned; the saga store's
//!   rows of plans go with their plans; the bus prunes its own outbox and inbox.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::audit::{self, kind};
use crate::config::Settings;
use crate::error::Error;
use crate::store::{self, Plan, status};

/// Plans removed per pruning round.
const PRUNE_BATCH: i64 = 500;

/// Marks `plan` (locked, unconfirmed) expired and audits it.
pub async fn expire(conn: &mut sqlx::PgConnection, plan: &Plan) -> Result<(), Error> {
    store::set_status(conn, plan.plan_id, status::EXPIRED).await?;
    audit::record(
        conn,
        plan,
        kind::PLAN_EXPIRED,
        json!({"was": plan.status, "expires_at": plan.expires_at}),
    )
    .await?;
    metrics::counter!("sagaflow_planner_plans_total", "outcome" => status::EXPIRED).increment(1);
    Ok(())
}

/// Expires up to `limit` due plans, each in its own transaction; returns how many.
pub async fn expire_due(pool: &PgPool, limit: usize) -> Result<usize, Error> {
    let mut expired = 0;
    while expired < limit {
        let mut tx = pool.begin().await?;
        let due: Option<Uuid> = sqlx::query_scalar(
            "SELECT plan_id FROM plans
             WHERE status IN ('awaiting_confirmation', 'dry_run') AND expires_at <= now()
             ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(plan_id) = due else { break };
        if let Some(plan) = store::lock(&mut tx, plan_id).await? {
            expire(&mut tx, &plan).await?;
        }
        tx.commit().await?;
        expired += 1;
    }
    Ok(expired)
}

/// Rows removed by one [`prune`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub intent_requests: u64,
    pub daily_spend: u64,
    pub plans: u64,
    pub known: u64,
    pub erasures: u64,
}

/// Removes what has outlived its retention (see the module docs).
pub async fn prune(pool: &PgPool, settings: &Settings) -> Result<Pruned, Error> {
    let mut pruned = Pruned::default();
    let ttl = settings.idempotency_ttl().as_secs_f64();
    let retention = settings.retention().as_secs_f64();
    pruned.intent_requests = sqlx::query(
        "DELETE FROM intent_requests WHERE created_at < now() - make_interval(secs => $1)
           AND claimed_at < now() - make_interval(secs => $1)",
    )
    .bind(ttl)
    .execute(pool)
    .await?
    .rows_affected();
    pruned.daily_spend =
        sqlx::query("DELETE FROM daily_spend WHERE day < (now() AT TIME ZONE 'UTC')::date - 2")
            .execute(pool)
            .await?
            .rows_affected();
    loop {
        let mut tx = pool.begin().await?;
        let old: Vec<Uuid> = sqlx::query_scalar(
            "SELECT plan_id FROM plans
             WHERE status NOT IN ('running', 'compensating', 'awaiting_confirmation', 'dry_run')
               AND updated_at < now() - make_interval(secs => $1)
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(retention)
        .bind(PRUNE_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let deleted = store::delete_plans(&mut tx, &old).await?;
        tx.commit().await?;
        pruned.plans += deleted;
        if (old.len() as i64) < PRUNE_BATCH {
            break;
        }
    }
    for statement in [
        "DELETE FROM known_sagas WHERE seen_at < now() - make_interval(secs => $1)",
        "DELETE FROM known_applications WHERE seen_at < now() - make_interval(secs => $1)",
    ] {
        pruned.known += sqlx::query(statement)
            .bind(retention)
            .execute(pool)
            .await?
            .rows_affected();
    }
    pruned.erasures =
        sqlx::query("DELETE FROM erasures WHERE erased_at < now() - make_interval(secs => $1)")
            .bind(retention)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(pruned)
}

/// Expires and prunes every `every` until `shutdown`.
pub async fn run(pool: PgPool, settings: std::sync::Arc<Settings>, shutdown: CancellationToken) {
    let every = Duration::from_millis(settings.sweep_ms);
    loop {
        match expire_due(&pool, 500).await {
            Ok(0) => {}
            Ok(n) => info!(expired = n, "unconfirmed plans expired"),
            Err(err) => warn!(error = %err, "expiring plans"),
        }
        match prune(&pool, &settings).await {
            Ok(pruned) if pruned != Pruned::default() => info!(?pruned, "planner rows pruned"),
            Ok(_) => {}
            Err(err) => warn!(error = %err, "pruning planner rows"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
