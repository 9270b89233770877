//! The `documents` table: drafts, their status changes, and reads; every look-up is
//! scoped by the tenant of the command.

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Document {
    pub document_id: Uuid,
    pub saga_id: Uuid,
    pub user_id: Option<String>,
    pub kind: String,
    pub template: Option<String>,
    pub content: String,
    pub provider: String,
    pub tokens: i64,
    pub offline: bool,
    pub cached: bool,
    /// `draft`, `validated`, `final` or `void`.
    pub status: String,
    pub keyword_coverage: Option<i32>,
    pub ats_score: Option<i32>,
}

const COLUMNS: &str = "document_id, saga_id, user_id, kind, template, content, provider, tokens, \
                       offline, cached, status, keyword_coverage, ats_score";

/// A new draft to store.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    pub saga_id: Uuid,
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub request_key: &'a str,
    pub template: Option<&'a str>,
    pub content: &'a str,
    pub provider: &'a str,
    pub tokens: i64,
    pub offline: bool,
    pub cached: bool,
}

/// Stores a draft and returns its id.
pub async fn insert(tx: &mut PgConnection, draft: &NewDraft<'_>) -> Result<Uuid, sqlx::Error> {
    let document_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO documents (document_id, saga_id, user_id, kind, request_key, template, content,
                                provider, tokens, offline, cached, status, tenant_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12)",
    )
    .bind(document_id)
    .bind(draft.saga_id)
    .bind(draft.user_id)
    .bind(draft.kind)
    .bind(draft.request_key)
    .bind(draft.template)
    .bind(draft.content)
    .bind(draft.provider)
    .bind(draft.tokens)
    .bind(draft.offline)
    .bind(draft.cached)
    .bind(draft.tenant_id)
    .execute(tx)
    .await?;
    Ok(document_id)
}

/// The saga's document made for `request_key`, if any (a repeated command).
pub async fn by_request(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    request_key: &str,
) -> Result<Option<Document>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM documents WHERE saga_id = $1 AND request_key = $2 AND tenant_id = $3"
    ))
    .bind(saga_id)
    .bind(request_key)
    .bind(tenant_id)
    .fetch_optional(tx)
    .await
}

/// One document of `tenant_id`, locked for the transaction.
pub async fn lock(
    tx: &mut PgConnection,
    tenant_id: &str,
    document_id: Uuid,
) -> Result<Option<Document>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM documents WHERE document_id = $1 AND tenant_id = $2 FOR UPDATE"
    ))
    .bind(document_id)
    .bind(tenant_id)
    .fetch_optional(tx)
    .await
}

/// Sets a document's status (and scores, when given).
pub async fn set_status(
    tx: &mut PgConnection,
    document_id: Uuid,
    status: &str,
    scores: Option<(i32, i32)>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE documents SET status = $2,
             keyword_coverage = COALESCE($3, keyword_coverage), ats_score = COALESCE($4, ats_score),
             updated_at = now()
         WHERE document_id = $1",
    )
    .bind(document_id)
    .bind(status)
    .bind(scores.map(|s| s.0))
    .bind(scores.map(|s| s.1))
    .execute(tx)
    .await?;
    Ok(())
}

/// Voids one document, or every unexported document of the saga; repeat-safe.
pub async fn void(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    document_id: Option<Uuid>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let voided = sqlx::query(
        "UPDATE documents SET status = 'void', void_reason = $3, updated_at = now()
         WHERE saga_id = $1 AND ($2::uuid IS NULL OR document_id = $2)
           AND status IN ('draft', 'validated') AND tenant_id = $4",
    )
    .bind(saga_id)
    .bind(document_id)
    .bind(reason)
    .bind(tenant_id)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(voided)
}

/// The stored validation reply of a document, if it was validated before.
pub async fn verdict(
    tx: &mut PgConnection,
    document_id: Uuid,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar("SELECT validation FROM documents WHERE document_id = $1")
        .bind(document_id)
        .fetch_optional(tx)
        .await
        .map(Option::flatten)
}

/// Stores a document's validation reply (so a repeat gets the same one).
pub async fn set_verdict(
    tx: &mut PgConnection,
    document_id: Uuid,
    verdict: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET validation = $2, updated_at = now() WHERE document_id = $1")
        .bind(document_id)
        .bind(verdict)
        .execute(tx)
        .await?;
    Ok(())
}
