//! The CV profile and prompt templates of the caller (tenant and user), over HTTP:
//!
//! - `GET /profile/cv` → 200 `{"items": [{"version", "chars", "first_line",
//!   "skills", "created_at"}, ..]}`, newest first.
//! - `POST /profile/cv` `{"text"}` (1 to [`MAX_CV_CHARS`] characters) → 201 the new
//!   version, or 200 the existing one when the same text was stored before. A
//!   generation started with `cv_version` uses that text (the gateway resolves it).
//! - `GET /profile/cv/{version}` → 200 `{"version", "text", "skills", "created_at"}`.
//! - `GET /profile/templates` → 200 `{"items": [{"kind", "template", "updated_at"}]}`.
//! - `PUT /profile/templates/{kind}` `{"template"}` (`kind`: cover_letter | resume |
//!   interview_prep;
//!   only the placeholders of [`templates::PLACEHOLDERS`]) → 200; a generation of
//!   that kind without a template of its own uses it.
//! - `DELETE /profile/templates/{kind}` → 204, 404 when none was set.
//!
//! - `GET /profile/budgets` → 200 `{"generate_tokens", "regenerate_tokens"}` (null:
//!   the service's `GENERATION_MAX_TOKENS_PER_CALL`); `PUT /profile/budgets` with
//!   the same shape (16 to 200000 each, or null) → 200: the most output tokens one
//!   LLM call of the generation stage, and of the validation stage's regeneration,
//!   asks for ([`stage_budgets`]).
//!
//! Errors are RFC 9457 problems (`application/problem+json`, see
//! [`crate::api::problem`]): 400 `invalid_request` for a body that is not the JSON
//! asked for, 422 `validation_failed` naming the field at fault, 404 `not_found`
//! for another user's or a missing version.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::api::{internal, problem};
use crate::caller::Caller;
use crate::stage_budgets::{self, StageBudgets};
use crate::{profile, store, templates, vocabulary};

/// Longest CV text, in characters (the gateway's limit for a request's own).
pub const MAX_CV_CHARS: usize = 20_000;

/// The string field `field` of a JSON object body.
fn text_field(
    body: Result<Json<Value>, JsonRejection>,
    field: &str,
) -> Result<String, Box<Response>> {
    let Json(body) = body
        .map_err(|rejection| Box::new(problem(StatusCode::BAD_REQUEST, rejection.body_text())))?;
    match body.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(Box::new(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: must be a string"),
        ))),
        None => Err(Box::new(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: is required"),
        ))),
    }
}

/// A stored CV version: (version, text, skills, created at).
type CvRow = (i32, String, sqlx::types::Json<Vec<String>>, DateTime<Utc>);

pub async fn list_cvs(State(pool): State<PgPool>, caller: Caller) -> Response {
    let rows: Result<Vec<CvRow>, _> = sqlx::query_as(
        "SELECT version, cv_text, skills, created_at FROM cv_versions
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY version DESC",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_all(&pool)
    .await;
    match rows {
        Ok(rows) => {
            let items: Vec<Value> = rows
                .into_iter()
                .map(|(version, text, skills, created_at)| {
                    json!({
                        "version": version,
                        "chars": text.chars().count(),
                        "first_line": text.lines().map(str::trim).find(|l| !l.is_empty()),
                        "skills": skills.0,
                        "created_at": created_at,
                    })
                })
                .collect();
            Json(json!({ "items": items })).into_response()
        }
        Err(err) => internal(err),
    }
}

pub async fn upload_cv(
    State(pool): State<PgPool>,
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let text = match text_field(body, "text") {
        Ok(text) => text,
        Err(response) => return *response,
    };
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > MAX_CV_CHARS {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("text: must be 1 to {MAX_CV_CHARS} characters and not blank"),
        );
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "text: must not contain control characters other than line breaks and tabs",
        );
    }
    let skills = vocabulary::find_skills(&text);
    let name = profile::compile(&text, &[], &[]).candidate_name;
    let stored = async {
        let mut tx = pool.begin().await?;
        let before: Option<i32> = sqlx::query_scalar(
            "SELECT max(version) FROM cv_versions WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(&caller.tenant_id)
        .bind(&caller.user_id)
        .fetch_one(&mut *tx)
        .await?;
        let version = store::save_cv(
            &mut tx,
            &caller.tenant_id,
            &caller.user_id,
            &name,
            &text,
            &skills,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((version, before.is_none_or(|b| version > b)))
    }
    .await;
    match stored {
        Ok((version, new)) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                Json(json!({ "version": version, "skills": skills })),
            )
                .into_response()
        }
        Err(err) => internal(err),
    }
}

pub async fn get_cv(
    State(pool): State<PgPool>,
    caller: Caller,
    Path(version): Path<String>,
) -> Response {
    let Ok(version) = version.parse::<i32>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("`{version}` is not a version number"),
        );
    };
    let row: Result<Option<CvRow>, _> = sqlx::query_as(
        "SELECT version, cv_text, skills, created_at FROM cv_versions
             WHERE tenant_id = $1 AND user_id = $2 AND version = $3",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(version)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some((version, text, skills, created_at))) => Json(json!({
            "version": version,
            "text": text,
            "skills": skills.0,
            "created_at": created_at,
        }))
        .into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no CV version {version}")),
        Err(err) => internal(err),
    }
}

pub async fn list_templates(State(pool): State<PgPool>, caller: Caller) -> Response {
    match templates::list(&pool, &caller.tenant_id, &caller.user_id).await {
        Ok(items) => Json(json!({ "items": items })).into_response(),
        Err(err) => internal(err),
    }
}

fn known_kind(kind: &str) -> Result<(), Box<Response>> {
    if templates::KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            format!("no template kind `{kind}`: use cover_letter, resume or interview_prep"),
        )))
    }
}

pub async fn put_template(
    State(pool): State<PgPool>,
    caller: Caller,
    Path(kind): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    if let Err(response) = known_kind(&kind) {
        return *response;
    }
    let template = match text_field(body, "template").map(|t| templates::check(&t)) {
        Ok(Ok(template)) => template,
        Ok(Err(reason)) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("template: {reason}"),
            );
        }
        Err(response) => return *response,
    };
    match templates::put(&pool, &caller.tenant_id, &caller.user_id, &kind, &template).await {
        Ok(stored) => Json(stored).into_response(),
        Err(err) => internal(err),
    }
}

pub async fn delete_template(
    State(pool): State<PgPool>,
    caller: Caller,
    Path(kind): Path<String>,
) -> Response {
    if let Err(response) = known_kind(&kind) {
        return *response;
    }
    match templates::delete(&pool, &caller.tenant_id, &caller.user_id, &kind).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => problem(StatusCode::NOT_FOUND, format!("no {kind} template set")),
        Err(err) => internal(err),
    }
}

pub async fn get_budgets(State(pool): State<PgPool>, caller: Caller) -> Response {
    let budgets = async {
        let mut conn = pool.acquire().await?;
        stage_budgets::get(&mut conn, &caller.tenant_id, &caller.user_id).await
    }
    .await;
    match budgets {
        Ok(budgets) => Json(budgets).into_response(),
        Err(err) => internal(err),
    }
}

pub async fn put_budgets(
    State(pool): State<PgPool>,
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let budgets: StageBudgets = match serde_json::from_value(body) {
        Ok(budgets) => budgets,
        Err(err) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("generate_tokens and regenerate_tokens must be integers or null: {err}"),
            );
        }
    };
    if let Err(reason) = budgets.check() {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, reason);
    }
    match stage_budgets::put(&pool, &caller.tenant_id, &caller.user_id, &budgets).await {
        Ok(()) => Json(budgets).into_response(),
        Err(err) => internal(err),
    }
}
