//! The HTTP read and erase API: documents, their renderings, a user's history and
//! deleting everything stored about a user. Every query is scoped to the caller's
//! tenant and user ([`Caller`]): another tenant's or user's document is a 404, even
//! under the same user id.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sagaflow_problem::Problem;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::caller::Caller;
use crate::export::Format;
use crate::profile_api;

/// `GET /documents/{id}`, `GET /documents/{id}/{format}` (md | markdown | html | pdf |
/// pdf-ats | pdf-modern), `GET /users/{user_id}/history`, `DELETE /users/{user_id}`
/// (`user_id` must be the caller's own: any other is a 404), and the caller's CV
/// versions and templates under `/profile/...` ([`crate::profile_api`]).
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/documents/{id}", get(document))
        .route("/documents/{id}/{format}", get(document_file))
        .route("/users/{user_id}/history", get(history))
        .route("/users/{user_id}", axum::routing::delete(delete_user))
        .route(
            "/profile/cv",
            get(profile_api::list_cvs).post(profile_api::upload_cv),
        )
        .route("/profile/cv/{version}", get(profile_api::get_cv))
        .route("/profile/templates", get(profile_api::list_templates))
        .route(
            "/profile/budgets",
            get(profile_api::get_budgets).put(profile_api::put_budgets),
        )
        .route(
            "/profile/templates/{kind}",
            axum::routing::put(profile_api::put_template).delete(profile_api::delete_template),
        )
        .with_state(pool)
}

/// An error answer of this API: an RFC 9457 problem ([`sagaflow_problem::Problem`],
/// `application/problem+json`) whose code follows the status (`invalid_request`
/// 400, `not_found` 404, `validation_failed` 422 naming the field a
/// `<field>: <message>` names, `internal` 500).
pub(crate) fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let code = match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::CONFLICT => "conflict",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        s if s.is_server_error() => return Problem::internal().into_response(),
        _ => "invalid_request",
    };
    let field = (status == StatusCode::UNPROCESSABLE_ENTITY)
        .then(|| message.split_once(": ").map(|(field, _)| field.to_owned()))
        .flatten()
        .filter(|field| {
            !field.is_empty()
                && field
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
        });
    let problem = Problem::new(status, code, message);
    match field {
        Some(field) => problem.with_field(field),
        None => problem,
    }
    .into_response()
}

/// A database failure: logged, answered 500 `internal` (its cause hidden).
pub(crate) fn internal(err: sqlx::Error) -> Response {
    tracing::error!(error = %err, "generation api database error");
    Problem::internal().into_response()
}

fn parse_id(id: &str) -> Result<Uuid, Box<Response>> {
    Uuid::parse_str(id).map_err(|_| {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            format!("`{id}` is not a uuid"),
        ))
    })
}

type DocumentRow = (
    Uuid,
    Uuid,
    Option<String>,
    String,
    String,
    String,
    i64,
    bool,
    bool,
    Option<i32>,
    Option<i32>,
    chrono::DateTime<chrono::Utc>,
);

const DOCUMENT_COLUMNS: &str = "document_id, saga_id, user_id, kind, status, provider, tokens, offline, \
                                cached, keyword_coverage, ats_score, created_at";

fn document_json(row: DocumentRow, formats: Vec<String>) -> serde_json::Value {
    let (
        document_id,
        saga_id,
        user_id,
        kind,
        status,
        provider,
        tokens,
        offline,
        cached,
        coverage,
        ats,
        created_at,
    ) = row;
    json!({
        "document_id": document_id, "saga_id": saga_id, "user_id": user_id, "kind": kind,
        "status": status, "provider": provider, "tokens": tokens, "offline": offline,
        "cached": cached, "keyword_coverage": coverage, "ats_score": ats,
        "created_at": created_at, "formats": formats,
    })
}

async fn document(State(pool): State<PgPool>, caller: Caller, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let row: Option<DocumentRow> = match sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents
         WHERE document_id = $1 AND tenant_id = $2 AND user_id = $3"
    ))
    .bind(id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&pool)
    .await
    {
        Ok(row) => row,
        Err(err) => return internal(err),
    };
    let Some(row) = row else {
        return problem(StatusCode::NOT_FOUND, "no such document");
    };
    let formats: Vec<String> = match sqlx::query_scalar(
        "SELECT format FROM document_files WHERE document_id = $1 ORDER BY format",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    {
        Ok(formats) => formats,
        Err(err) => return internal(err),
    };
    Json(document_json(row, formats)).into_response()
}

async fn document_file(
    State(pool): State<PgPool>,
    caller: Caller,
    Path((id, format)): Path<(String, String)>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let Some(format) = Format::parse(&format) else {
        return problem(StatusCode::NOT_FOUND, format!("unknown format `{format}`"));
    };
    let bytes: Option<Vec<u8>> = match sqlx::query_scalar(
        "SELECT f.bytes FROM document_files f JOIN documents d USING (document_id)
         WHERE f.document_id = $1 AND f.format = $2 AND d.tenant_id = $3 AND d.user_id = $4",
    )
    .bind(id)
    .bind(format.name())
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&pool)
    .await
    {
        Ok(bytes) => bytes,
        Err(err) => return internal(err),
    };
    match bytes {
        Some(bytes) => ([(header::CONTENT_TYPE, format.content_type())], bytes).into_response(),
        None => problem(StatusCode::NOT_FOUND, "not exported in this format"),
    }
}

type GenerationRow = (
    Uuid,
    String,
    String,
    String,
    Option<i32>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
);

async fn history(
    State(pool): State<PgPool>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Response {
    if user_id != caller.user_id {
        return problem(StatusCode::NOT_FOUND, "no such user");
    }
    let tenant_id = &caller.tenant_id;
    let user: Option<(String, chrono::DateTime<chrono::Utc>)> = match sqlx::query_as(
        "SELECT candidate_name, created_at FROM users WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(&user_id)
    .fetch_optional(&pool)
    .await
    {
        Ok(user) => user,
        Err(err) => return internal(err),
    };
    let Some((candidate_name, since)) = user else {
        return problem(StatusCode::NOT_FOUND, "no such user");
    };
    let generations: Vec<GenerationRow> = match sqlx::query_as(
        "SELECT saga_id, job_title, company, seniority, match_percent, profile_summary, created_at
         FROM generations WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at",
    )
    .bind(tenant_id)
    .bind(&user_id)
    .fetch_all(&pool)
    .await
    {
        Ok(rows) => rows,
        Err(err) => return internal(err),
    };
    let documents: Vec<DocumentRow> = match sqlx::query_as(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND user_id = $2
         ORDER BY created_at"
    ))
    .bind(tenant_id)
    .bind(&user_id)
    .fetch_all(&pool)
    .await
    {
        Ok(rows) => rows,
        Err(err) => return internal(err),
    };
    let cv_versions: i64 = match sqlx::query_scalar(
        "SELECT count(*) FROM cv_versions WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(&user_id)
    .fetch_one(&pool)
    .await
    {
        Ok(count) => count,
        Err(err) => return internal(err),
    };
    let generations: Vec<serde_json::Value> = generations
        .into_iter()
        .map(
            |(saga_id, job_title, company, seniority, match_percent, summary, created_at)| {
                json!({
                    "saga_id": saga_id, "job_title": job_title, "company": company,
                    "seniority": seniority, "match_percent": match_percent,
                    "profile_summary": summary, "created_at": created_at,
                })
            },
        )
        .collect();
    let documents: Vec<serde_json::Value> = documents
        .into_iter()
        .map(|row| document_json(row, Vec::new()))
        .collect();
    Json(json!({
        "user_id": user_id, "candidate_name": candidate_name, "since": since,
        "cv_versions": cv_versions, "generations": generations, "documents": documents,
    }))
    .into_response()
}

async fn delete_user(
    State(pool): State<PgPool>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Response {
    if user_id != caller.user_id {
        return problem(StatusCode::NOT_FOUND, "no such user");
    }
    match crate::delete_user(&pool, &caller.tenant_id, &caller.user_id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => problem(StatusCode::NOT_FOUND, "no such user"),
        Err(err) => internal(err),
    }
}
