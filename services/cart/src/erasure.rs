//! Erasing a user's carts (in one tenant) and refusing late commands for them.
//!
//! [`ErasureHandler`] consumes `UserErasureRequested` from `gateway.events` (its own
//! consumer group, [`CONSUMER`]; the tenant is the envelope's) and calls [`erase`]:
//! every cart, line, saga addition and clear of the (tenant, user) is deleted and a
//! tombstone recorded in `cart_erasures`, naming the user only by a hash
//! ([`SUBJECT_SQL`]). [`guard`] runs first in every saga command's transaction: a
//! command of a saga started before the erasure (saga ids are UUIDv7, so their time
//! is known) is refused and stores nothing, so a late `AddCartItem` cannot bring the
//! cart back.
//!
//! Erasure and writes are serialised per (tenant, user) by a transaction-scoped
//! advisory lock (shared for writes, exclusive for the erasure).

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::UserErasureRequested;
use sqlx::PgConnection;
use tracing::info;
use uuid::Uuid;

/// Consumer group and inbox name of the erasure consumer.
pub const CONSUMER: &str = "cart-erasure";

/// Reason given to a refused command.
pub const ERASED: &str = "the user's data was erased";

/// How a user is named in `cart_erasures` (see [`sagaflow_bus::erasure`]).
pub use sagaflow_bus::erasure::{SUBJECT_SQL, requested_at, saga_started};

/// Takes the (tenant, user)'s advisory lock until the transaction ends: shared for
/// a write of their data, exclusive for their erasure.
pub async fn lock(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    exclusive: bool,
) -> Result<(), sqlx::Error> {
    sagaflow_bus::erasure::lock(conn, "cart", tenant_id, user_id, exclusive).await
}

/// Whether a command of saga `saga_id` for (tenant, user) must be refused: the user
/// was erased after the saga started (a saga whose start is unknown counts as
/// started before). Takes the shared lock for the rest of the transaction.
pub async fn guard(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    saga_id: Uuid,
) -> Result<bool, sqlx::Error> {
    lock(conn, tenant_id, user_id, false).await?;
    let erased_at: Option<DateTime<Utc>> = sqlx::query_scalar(&format!(
        "SELECT erased_at FROM cart_erasures WHERE tenant_id = $1 AND subject = {SUBJECT_SQL}"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(
        erased_at
            .is_some_and(|erased_at| sagaflow_bus::erasure::started_before(saga_id, erased_at)),
    )
}

/// Deletes every cart row of `user_id` in `tenant_id` (carts, lines, saga additions,
/// clears) and records the tombstone (`erased_at` kept at the latest of repeated
/// erasures). Returns the rows deleted. Nothing of another tenant is touched.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erased_at: DateTime<Utc>,
    erasure_id: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    lock(conn, tenant_id, user_id, true).await?;
    sqlx::query(&format!(
        "INSERT INTO cart_erasures (tenant_id, subject, erased_at, erasure_id)
         VALUES ($1, {SUBJECT_SQL}, $3, $4)
         ON CONFLICT (tenant_id, subject) DO UPDATE SET
             erased_at = GREATEST(cart_erasures.erased_at, $3),
             erasure_id = COALESCE($4, cart_erasures.erasure_id)"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .bind(erased_at)
    .bind(erasure_id)
    .execute(&mut *conn)
    .await?;
    let mut deleted = 0;
    for statement in [
        "DELETE FROM cart_items WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM carts WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM cart_saga_items WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM cart_clears WHERE tenant_id = $1 AND user_id = $2",
    ] {
        deleted += sqlx::query(statement)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    metrics::counter!("sagaflow_cart_erasures_total").increment(1);
    Ok(deleted)
}

/// Handles `gateway.events`: `UserErasureRequested` erases; other requests on the
/// topic are not the cart's business and are skipped. Replies nothing.
#[derive(Debug, Clone, Default)]
pub struct ErasureHandler;

impl Handler for ErasureHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        if incoming.message_type() != UserErasureRequested::MESSAGE_TYPE {
            return Ok(Vec::new());
        }
        let request: UserErasureRequested = incoming.decode()?;
        let tenant_id = &incoming.envelope.tenant_id;
        let deleted = erase(
            tx,
            tenant_id,
            &request.user_id,
            requested_at(request.requested_at_ms),
            Some(request.erasure_id),
        )
        .await?;
        info!(%tenant_id, erasure_id = %request.erasure_id, deleted, "cart data erased");
        Ok(Vec::new())
    }
}
