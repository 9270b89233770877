//! `UserErasureRequested` through the erasure consumer's inbox, with the same user
//! id in two tenants: tenant A's applications, interviews, notes, documents and
//! preferences go; tenant B's stay; a late attach of a saga started before the
//! erasure stores nothing.

use crate::common;

use sagaflow_applications::erasure::{self, ERASED, ErasureHandler};
use sagaflow_applications::{ApplicationsHandler, NAME};
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::{
    AttachDocumentToApplication, DocumentAttachFailed, UserErasureRequested,
};
use uuid::Uuid;

const USER: &str = "alice";

async fn seed(pool: &sqlx::PgPool, tenant: &str) -> anyhow::Result<Uuid> {
    let app = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO applications (application_id, tenant_id, user_id, company, role, status, notes)
         VALUES ($1, $2, $3, 'Acme', 'Engineer', 'applied', 'met Bob at the fair')",
    )
    .bind(app)
    .bind(tenant)
    .bind(USER)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO interviews (interview_id, application_id, kind, scheduled_at, notes)
         VALUES ($1, $2, 'technical', now(), 'private notes')",
    )
    .bind(Uuid::now_v7())
    .bind(app)
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO preferences (tenant_id, user_id, remote_ok) VALUES ($1, $2, true)")
        .bind(tenant)
        .bind(USER)
        .execute(pool)
        .await?;
    Ok(app)
}

/// The user's rows of `tenant` (applications, their interviews, preferences).
async fn rows(pool: &sqlx::PgPool, tenant: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM applications WHERE tenant_id = $1 AND user_id = $2)
              + (SELECT count(*) FROM interviews i JOIN applications a USING (application_id)
                 WHERE a.tenant_id = $1 AND a.user_id = $2)
              + (SELECT count(*) FROM preferences WHERE tenant_id = $1 AND user_id = $2)",
    )
    .bind(tenant)
    .bind(USER)
    .fetch_one(pool)
    .await?)
}

#[tokio::test]
async fn erasing_in_one_tenant_removes_that_tenants_user_only() -> anyhow::Result<()> {
    let db = common::db().await?;
    let a_app = seed(&db.pool, "acme").await?;
    seed(&db.pool, "globex").await?;
    let late_saga = Uuid::now_v7();

    let request = UserErasureRequested {
        erasure_id: Uuid::now_v7(),
        user_id: USER.into(),
        requested_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let mut message = common::incoming(None, &request);
    message.envelope.tenant_id = "acme".into();
    let outcome = inbox::process(
        &db.pool,
        &ErasureHandler,
        erasure::CONSUMER,
        &message,
        Backoff::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Handled);
    assert_eq!(rows(&db.pool, "acme").await?, 0);
    assert_eq!(
        rows(&db.pool, "globex").await?,
        3,
        "the same user id in globex keeps all"
    );

    // A late attach of a saga started before the erasure: refused, nothing stored.
    let attach = AttachDocumentToApplication {
        saga_id: late_saga,
        application_id: a_app,
        generation_id: Uuid::now_v7(),
        user_id: USER.into(),
        tenant_id: Some("acme".into()),
    };
    let mut message = common::incoming(Some(late_saga), &attach);
    message.envelope.tenant_id = "acme".into();
    let failed: DocumentAttachFailed = common::send(&db.pool, &ApplicationsHandler, NAME, &message)
        .await?
        .expect();
    assert_eq!(failed.reason, ERASED);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM document_commands")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(stored, 0);
    Ok(())
}
