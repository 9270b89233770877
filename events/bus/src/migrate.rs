//! The messaging core's own tables (`sagaflow_outbox`, `sagaflow_inbox`), applied to a
//! service's database next to the service's own migrations.

use sqlx::PgPool;
use sqlx::migrate::{MigrateError, Migrator};

/// Applies the outbox and inbox tables, then `service` (the service's own
/// `sqlx::migrate!()`), each ignoring the other's versions in `_sqlx_migrations`.
pub async fn run(pool: &PgPool, service: Option<Migrator>) -> Result<(), MigrateError> {
    let mut core = sqlx::migrate!("./migrations");
    core.set_ignore_missing(true);
    core.run(pool).await?;
    if let Some(mut service) = service {
        service.set_ignore_missing(true);
        service.run(pool).await?;
    }
    Ok(())
}
