//! The `application_documents` table: generations attached to an application,
//! through the API (`saga_id` NULL) or by an `AttachDocumentToApplication` command
//! (see [`crate::handler`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Error, Owner};

/// An attached generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Document {
    pub generation_id: Uuid,
    pub attached_at: DateTime<Utc>,
    /// The command (saga) that attached it; `None` when attached through the API.
    pub saga_id: Option<Uuid>,
}

/// Attaches `generation_id` to the owner's application; the attachment and whether
/// it is new (attaching twice is the same attachment).
pub async fn attach(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    generation_id: Uuid,
) -> Result<(Document, bool), Error> {
    let mut tx = pool.begin().await?;
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM applications
         WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3 FOR KEY SHARE",
    )
    .bind(application_id)
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    if found.is_none() {
        return Err(Error::NotFound("application"));
    }
    let inserted: Option<Document> = sqlx::query_as(
        "INSERT INTO application_documents (application_id, generation_id)
         VALUES ($1, $2) ON CONFLICT DO NOTHING
         RETURNING generation_id, attached_at, saga_id",
    )
    .bind(application_id)
    .bind(generation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let result = match inserted {
        Some(doc) => (doc, true),
        None => {
            let doc = sqlx::query_as(
                "SELECT generation_id, attached_at, saga_id FROM application_documents
                 WHERE application_id = $1 AND generation_id = $2",
            )
            .bind(application_id)
            .bind(generation_id)
            .fetch_one(&mut *tx)
            .await?;
            (doc, false)
        }
    };
    tx.commit().await?;
    Ok(result)
}

/// The documents of an application (the caller checked the owner), oldest first.
pub async fn list(pool: &PgPool, application_id: Uuid) -> Result<Vec<Document>, Error> {
    Ok(sqlx::query_as(
        "SELECT generation_id, attached_at, saga_id FROM application_documents
         WHERE application_id = $1 ORDER BY attached_at, generation_id",
    )
    .bind(application_id)
    .fetch_all(pool)
    .await?)
}
