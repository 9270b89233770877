//! Who owns what, as far as the planner knows from events: sagas from their
//! `started` progress event on `orchestrator.events` (tenant from the envelope,
//! user from the saga input), applications from `ApplicationStatusChanged`, plus
//! the sagas the planner's own plans start. Validation refuses a plan that names
//! a generation or an application not known to be the caller's: the planner never
//! asks another service's API.

use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::caller::Caller;

/// Whose a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The caller's (same tenant and user).
    Caller,
    /// Another user's or another tenant's.
    Other,
    /// Not known to the planner.
    Unknown,
}

fn owner(row: Option<(String, String)>, caller: &Caller) -> Owner {
    match row {
        None => Owner::Unknown,
        Some((tenant, user)) if tenant == caller.tenant_id && user == caller.user_id => {
            Owner::Caller
        }
        Some(_) => Owner::Other,
    }
}

/// Records the owner of a saga seen starting (the first sighting wins).
pub async fn record_saga(
    conn: &mut PgConnection,
    saga_id: Uuid,
    definition: &str,
    tenant_id: &str,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO known_sagas (saga_id, definition, tenant_id, user_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (saga_id) DO NOTHING",
    )
    .bind(saga_id)
    .bind(definition)
    .bind(tenant_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records (or updates) an application and its owner.
pub async fn record_application(
    conn: &mut PgConnection,
    application_id: Uuid,
    tenant_id: &str,
    user_id: &str,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO known_applications (application_id, tenant_id, user_id, status)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (application_id) DO UPDATE SET status = EXCLUDED.status, seen_at = now()
         WHERE known_applications.tenant_id = EXCLUDED.tenant_id
           AND known_applications.user_id = EXCLUDED.user_id",
    )
    .bind(application_id)
    .bind(tenant_id)
    .bind(user_id)
    .bind(status)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whose generation `generation_id` is: a generation saga seen starting, or one
/// a plan started.
pub async fn generation(
    conn: &mut PgConnection,
    generation_id: Uuid,
    caller: &Caller,
) -> Result<Owner, sqlx::Error> {
    let row = sqlx::query(
        "SELECT tenant_id, user_id FROM known_sagas WHERE saga_id = $1 AND definition = 'generation'
         UNION ALL
         SELECT p.tenant_id, p.user_id FROM plan_children c JOIN plans p USING (plan_id)
         WHERE c.saga_id = $1 AND c.definition = 'generation'
         LIMIT 1",
    )
    .bind(generation_id)
    .fetch_optional(conn)
    .await?;
    let row = row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("tenant_id")?, r.try_get("user_id")?)))
        .transpose()?;
    Ok(owner(row, caller))
}

/// Whose application `application_id` is.
pub async fn application(
    conn: &mut PgConnection,
    application_id: Uuid,
    caller: &Caller,
) -> Result<Owner, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT tenant_id, user_id FROM known_applications WHERE application_id = $1",
    )
    .bind(application_id)
    .fetch_optional(conn)
    .await?;
    Ok(owner(row, caller))
}
