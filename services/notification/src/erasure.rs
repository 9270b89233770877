//! Erasing what was sent to a user (in one tenant), and suppressing late
//! notifications for them.
//!
//! [`ErasureHandler`] consumes `UserErasureRequested` from `gateway.events` (its own
//! consumer group, [`CONSUMER`]; the tenant is the envelope's): the recipient,
//! subject and body of every notification recorded for the (tenant, user) become
//! [`ERASED`], their preferences and test-notification requests are deleted, the
//! notifications skipped for them lose their user id, and a tombstone naming the
//! user only by a hash goes into `notification_erasures`. [`suppressed`] is asked before a notification is sent:
//! one of a saga started before the erasure (saga ids are UUIDv7, so their time is
//! known) is acknowledged without being sent or stored, so the saga that asked for
//! it still completes and no address comes back.

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::UserErasureRequested;
use sqlx::PgConnection;
use tracing::info;
use uuid::Uuid;

use crate::preferences;

/// Consumer group and inbox name of the erasure consumer.
pub const CONSUMER: &str = "notification-erasure";

/// What erased text becomes.
pub const ERASED: &str = "[erased]";

use sagaflow_bus::erasure::{SUBJECT_SQL, lock, requested_at, started_before};

/// Whether a notification for (tenant, user) of saga `saga_id` must be suppressed:
/// the user was erased after the saga started (without a saga, or with a saga id
/// that carries no time, an erased user's notification is suppressed too). Takes
/// the shared lock for the rest of the transaction.
pub async fn suppressed(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    saga_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    lock(conn, "notification", tenant_id, user_id, false).await?;
    let erased_at: Option<DateTime<Utc>> = sqlx::query_scalar(&format!(
        "SELECT erased_at FROM notification_erasures WHERE tenant_id = $1 AND subject = {SUBJECT_SQL}"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(erased_at
        .is_some_and(|erased_at| saga_id.is_none_or(|saga_id| started_before(saga_id, erased_at))))
}

/// Blanks every notification recorded for `user_id` in `tenant_id`, deletes their
/// preferences and test requests, unlinks their skipped notifications and records
/// the tombstone. Returns the notifications blanked. Nothing of another tenant is
/// touched.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erased_at: DateTime<Utc>,
    erasure_id: Uuid,
) -> Result<u64, sqlx::Error> {
    lock(conn, "notification", tenant_id, user_id, true).await?;
    sqlx::query(&format!(
        "INSERT INTO notification_erasures (tenant_id, subject, erased_at, erasure_id)
         VALUES ($1, {SUBJECT_SQL}, $3, $4)
         ON CONFLICT (tenant_id, subject) DO UPDATE SET
             erased_at = GREATEST(notification_erasures.erased_at, $3),
             erasure_id = $4"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .bind(erased_at)
    .bind(erasure_id)
    .execute(&mut *conn)
    .await?;
    let blanked = sqlx::query(
        "UPDATE sent_notifications SET recipient = $3, subject = $3, body = $3, user_id = NULL
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(ERASED)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    preferences::erase(conn, tenant_id, user_id).await?;
    sqlx::query(
        "UPDATE skipped_notifications SET user_id = NULL WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM notification_tests WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    metrics::counter!("sagaflow_notification_erasures_total").increment(1);
    Ok(blanked)
}

/// Handles `gateway.events`: `UserErasureRequested` erases; other requests on the
/// topic are skipped. Replies nothing.
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
        let blanked = erase(
            tx,
            tenant_id,
            &request.user_id,
            requested_at(request.requested_at_ms),
            request.erasure_id,
        )
        .await?;
        info!(%tenant_id, erasure_id = %request.erasure_id, blanked, "notifications erased");
        Ok(Vec::new())
    }
}
