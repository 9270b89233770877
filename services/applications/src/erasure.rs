//! Erasing a user's tracker data (in one tenant) and refusing late commands.
//!
//! [`ErasureHandler`] consumes `UserErasureRequested` from `gateway.events` (its own
//! consumer group, [`CONSUMER`]; the tenant is the envelope's) and calls [`erase`]:
//! the (tenant, user)'s applications go with their interviews, notes, status
//! history and attached documents (cascade), their document commands, their
//! preferences and the already-sent `ApplicationStatusChanged` messages of the
//! outbox; a tombstone names the user only by a hash ([`SUBJECT_SQL`]). [`erased`]
//! tells a command handler that a saga started before the erasure must store
//! nothing.

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::UserErasureRequested;
use sqlx::PgConnection;
use tracing::info;
use uuid::Uuid;

/// Consumer group and inbox name of the erasure consumer.
pub const CONSUMER: &str = "applications-erasure";

/// Reason given to a refused command.
pub const ERASED: &str = "the user's data was erased";

/// How a user is named in `application_erasures` (see [`sagaflow_bus::erasure`]).
pub use sagaflow_bus::erasure::SUBJECT_SQL;

/// Whether (tenant, user) was erased after saga `saga_id` started (a saga whose
/// start is unknown, not a UUIDv7, counts as started before).
pub async fn erased(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    saga_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let erased_at: Option<DateTime<Utc>> = sqlx::query_scalar(&format!(
        "SELECT erased_at FROM application_erasures WHERE tenant_id = $1 AND subject = {SUBJECT_SQL}"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(erased_at.is_some_and(|at| sagaflow_bus::erasure::started_before(saga_id, at)))
}

/// Deletes everything of `user_id` in `tenant_id` and records the tombstone.
/// Returns the applications deleted. Nothing of another tenant is touched.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erased_at: DateTime<Utc>,
    erasure_id: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO application_erasures (tenant_id, subject, erased_at, erasure_id)
         VALUES ($1, {SUBJECT_SQL}, $3, $4)
         ON CONFLICT (tenant_id, subject) DO UPDATE SET
             erased_at = GREATEST(application_erasures.erased_at, $3),
             erasure_id = COALESCE($4, application_erasures.erasure_id)"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .bind(erased_at)
    .bind(erasure_id)
    .execute(&mut *conn)
    .await?;
    let owned = "SELECT application_id FROM applications WHERE tenant_id = $1 AND user_id = $2";
    let keys: Vec<String> =
        sqlx::query_scalar(&format!("SELECT application_id::TEXT FROM ({owned}) a"))
            .bind(tenant_id)
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
    sagaflow_bus::outbox::forget_sent_with_keys(conn, tenant_id, &keys).await?;
    for statement in [
        format!("DELETE FROM document_commands WHERE application_id IN ({owned})"),
        "DELETE FROM preferences WHERE tenant_id = $1 AND user_id = $2".to_owned(),
    ] {
        sqlx::query(&statement)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    let deleted = sqlx::query("DELETE FROM applications WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    metrics::counter!("sagaflow_applications_erasures_total").increment(1);
    Ok(deleted)
}

/// Handles `gateway.events`: `UserErasureRequested` erases; other messages on the
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
        let now = Utc::now();
        let erased_at =
            DateTime::from_timestamp_millis(request.requested_at_ms).map_or(now, |at| at.min(now));
        let deleted = erase(
            tx,
            tenant_id,
            &request.user_id,
            erased_at,
            Some(request.erasure_id),
        )
        .await?;
        info!(%tenant_id, erasure_id = %request.erasure_id, deleted, "tracker data erased");
        Ok(Vec::new())
    }
}
