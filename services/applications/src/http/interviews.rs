//! `/v1/applications/{id}/interviews[/{interview_id}]` (the application must be the
//! caller's, else 404):
//!
//! - `GET` → 200 `{"items": [Interview, ..]}`, earliest first.
//! - `POST` [`InterviewInput`] (`scheduled_at` required) → 201 [`Interview`].
//! - `PATCH /{interview_id}` [`InterviewInput`] → 200 [`Interview`].
//! - `DELETE /{interview_id}` → 204.
//!
//! An interview: `{"id", "application_id", "kind", "scheduled_at",
//! "duration_minutes", "interviewer", "location", "notes", "outcome",
//! "created_at", "updated_at"}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{ApiError, json_body, path_id};
use crate::interview::{Interview, InterviewInput};
use crate::store::{Owner, interviews as store};

pub async fn list(
    State(pool): State<PgPool>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id("id", &id)?;
    let items = store::list(&pool, &owner, id).await?;
    Ok(Json(json!({ "items": items })))
}

pub async fn create(
    State(pool): State<PgPool>,
    owner: Owner,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Interview>), ApiError> {
    let id = path_id("id", &id)?;
    let fields = json_body::<InterviewInput>(body)?.create()?;
    let interview = store::create(&pool, &owner, id, fields).await?;
    Ok((StatusCode::CREATED, Json(interview)))
}

pub async fn update(
    State(pool): State<PgPool>,
    owner: Owner,
    Path((id, interview_id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Interview>, ApiError> {
    let id = path_id("id", &id)?;
    let interview_id = path_id("interview_id", &interview_id)?;
    let input: InterviewInput = json_body(body)?;
    Ok(Json(
        store::update(&pool, &owner, id, interview_id, input).await?,
    ))
}

pub async fn delete(
    State(pool): State<PgPool>,
    owner: Owner,
    Path((id, interview_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("id", &id)?;
    let interview_id = path_id("interview_id", &interview_id)?;
    store::delete(&pool, &owner, id, interview_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
