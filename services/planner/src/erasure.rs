//! Erasing a user's data (`UserErasureRequested` on `gateway.events`, the tenant
//! in the envelope), in the consumer's transaction:
//!
//! - the user's plans with everything kept about them — request text, intent,
//!   drafted payloads, validation, the audit log (`plan_log`), the children, and
//!   the plan sagas in the saga store's tables (their input holds the payloads);
//!   a plan still running stops being followed (its late replies find no plan);
//! - the plans' already-published outbox rows (commands and audit entries);
//! - the saved answers of the user's `Idempotency-Key`s (they hold plan views);
//! - the user's assistant cart id, and what the planner learnt about the user's
//!   sagas and applications (`known_sagas`, `known_applications`).
//!
//! `daily_spend` stays (a number per day, no content, pruned after two days), so
//! an erasure does not reset the daily budget. Entries already published on
//! `planner.events` are outside this database.
//!
//! A tombstone (`erasures`, per tenant and user, with the request's time) keeps a
//! late message from writing the user back: ownership records of events that
//! happened before the request are not written ([`erased_after`]). Only this
//! tenant's user is touched: the same user id in another tenant is another person.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Error;
use crate::store;

/// What one erasure removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    pub plans: u64,
    pub other_rows: u64,
}

/// Erases `user_id` of `tenant_id` and records the tombstone.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erasure_id: Uuid,
    requested_at_ms: i64,
) -> Result<Erased, Error> {
    let plan_ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT plan_id FROM plans WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut erased = Erased {
        plans: store::delete_plans(conn, &plan_ids).await?,
        // What the plans already published (their commands and audit entries
        // carry the plan id as saga id) leaves the outbox too; unsent rows go out.
        other_rows: sagaflow_bus::outbox::forget_sent(conn, tenant_id, &plan_ids).await?,
    };
    for statement in [
        // Rows of plans are gone with their plans; these catch any stragglers.
        "DELETE FROM plan_log WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM plan_children WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM intent_requests WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM assistant_carts WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM known_sagas WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM known_applications WHERE tenant_id = $1 AND user_id = $2",
    ] {
        erased.other_rows += sqlx::query(statement)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    sqlx::query(
        "INSERT INTO erasures (tenant_id, user_id, erasure_id, requested_at_ms, plans_erased)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id) DO UPDATE
         SET erasure_id = EXCLUDED.erasure_id,
             requested_at_ms = greatest(erasures.requested_at_ms, EXCLUDED.requested_at_ms),
             plans_erased = erasures.plans_erased + EXCLUDED.plans_erased,
             erased_at = now()",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(erasure_id)
    .bind(requested_at_ms)
    .bind(i64::try_from(erased.plans).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    metrics::counter!("sagaflow_planner_erasures_total").increment(1);
    Ok(erased)
}

/// Whether `user_id` of `tenant_id` asked for erasure at or after `at_ms`: a
/// message about something that happened then must not write the user back.
pub async fn erased_after(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    at_ms: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM erasures
                        WHERE tenant_id = $1 AND user_id = $2 AND requested_at_ms >= $3)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(at_ms)
    .fetch_one(conn)
    .await
}
