//! `/v1/applications/{id}/reminders[/{reminder_id}]` (the application must be the
//! caller's, else 404) and `GET /v1/tracker/next-actions`:
//!
//! - `GET` → 200 `{"items": [Reminder, ..]}`, soonest first (follow-ups and the
//!   reminders of the application's interviews).
//! - `POST` [`ReminderInput`] (`{"due_at"}` or `{"in_minutes"}`, optional `"note"`)
//!   → 201 [`Reminder`]: a follow-up reminder, sent as a PUSH notification to the
//!   caller when due, once, across restarts.
//! - `DELETE /{reminder_id}` → 200 [`Reminder`], cancelled unless already sent.
//! - `GET /v1/tracker/next-actions` → 200 `{"items": [Action, ..]}`
//!   ([`crate::next_actions`]).
//!
//! A reminder: `{"id", "application_id", "interview_id", "kind" (follow_up |
//! interview), "due_at", "note", "status" (scheduled | sent | cancelled | parked),
//! "reason", "done_at", "created_at"}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{ApiError, json_body, path_id};
use crate::next_actions;
use crate::reminder::{Reminder, ReminderInput};
use crate::store::{Owner, reminders as store};

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
) -> Result<(StatusCode, Json<Reminder>), ApiError> {
    let id = path_id("id", &id)?;
    let new = json_body::<ReminderInput>(body)?.validate(Utc::now())?;
    let reminder = store::create(&pool, &owner, id, &new).await?;
    Ok((StatusCode::CREATED, Json(reminder)))
}

pub async fn cancel(
    State(pool): State<PgPool>,
    owner: Owner,
    Path((id, reminder_id)): Path<(String, String)>,
) -> Result<Json<Reminder>, ApiError> {
    let id = path_id("id", &id)?;
    let reminder_id = path_id("reminder_id", &reminder_id)?;
    Ok(Json(store::cancel(&pool, &owner, id, reminder_id).await?))
}

pub async fn next_actions(
    State(pool): State<PgPool>,
    owner: Owner,
) -> Result<Json<Value>, ApiError> {
    let facts = store::next_action_facts(&pool, &owner).await?;
    Ok(Json(
        json!({ "items": next_actions::compute(&facts, Utc::now()) }),
    ))
}
