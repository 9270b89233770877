//! `/v1/applications[/{id}[/documents]]`.
//!
//! - `GET /v1/applications?status=applied,interviewing&company=acme&sort=updated|created|priority&limit=20&offset=0`
//!   → 200 [`ApplicationPage`] (items without `job_description` / `documents`;
//!   `sort=priority` ranks by score, then most recently updated).
//! - `POST /v1/applications` [`ApplicationInput`] (company and role required) → 201
//!   [`ApplicationView`]; writes `ApplicationStatusChanged` (from `null`).
//! - `GET /v1/applications/{id}` → 200 [`ApplicationView`] with `documents`.
//! - `PATCH /v1/applications/{id}` [`ApplicationInput`] → 200; a new `status` must
//!   be an allowed transition (else 409 `invalid_transition`) and writes
//!   `ApplicationStatusChanged` in the same transaction.
//! - `DELETE /v1/applications/{id}` → 204.
//! - `POST /v1/applications/{id}/documents` `{"generation_id": uuid}` → 201 (200 if
//!   already attached) `{"application_id", "generation_id", "attached_at", "saga_id"}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::view::{ApplicationPage, ApplicationView};
use super::{ApiError, json_body, path_id};
use crate::application::ApplicationInput;
use crate::priority;
use crate::status::Status;
use crate::store::applications::{self as store, Filter, Order};
use crate::store::documents::{self, Document};
use crate::store::{Origin, Owner, preferences};

/// Default and largest page size.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// Query of `GET /v1/applications`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One status or several, comma-separated.
    pub status: Option<String>,
    /// Part of the company name (case-insensitive).
    pub company: Option<String>,
    /// `updated` (default), `created` or `priority`.
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

fn bad_query(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidQuery {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn number(field: &str, raw: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    let min = if field == "limit" { 1 } else { 0 };
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| bad_query(field, format!("must be a whole number from {min} to {max}")))
}

pub async fn list(
    State(pool): State<PgPool>,
    owner: Owner,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ApplicationPage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_query("query", e.body_text()))?;
    let statuses = match query.status.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(|s| {
                Status::parse(s.trim()).ok_or_else(|| {
                    bad_query(
                        "status",
                        format!(
                            "unknown status `{s}`; expected one of {}",
                            Status::expected()
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let company = query
        .company
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if company.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(bad_query("company", "at most 200 characters"));
    }
    let limit = number("limit", query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = number("offset", query.offset.as_deref(), 0, 1_000_000)?;
    let filter = Filter { statuses, company };
    let (prefs, _) = preferences::get(&pool, &owner).await?;
    let now = Utc::now();
    let (items, total) = match query.sort.as_deref().unwrap_or("updated") {
        "priority" => {
            let (apps, total) = store::list(&pool, &owner, &filter, Order::Updated, None).await?;
            let mut ranked: Vec<_> = apps
                .into_iter()
                .map(|app| (priority::score(&app, &prefs, now), app))
                .collect();
            // Stable: equal scores keep the most recently updated first.
            ranked.sort_by_key(|(p, _)| std::cmp::Reverse(p.score));
            let page = ranked
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|(p, app)| ApplicationView::summary(app, p))
                .collect();
            (page, total)
        }
        sort @ ("updated" | "created") => {
            let order = if sort == "updated" {
                Order::Updated
            } else {
                Order::Created
            };
            let (apps, total) =
                store::list(&pool, &owner, &filter, order, Some((limit, offset))).await?;
            let page = apps
                .into_iter()
                .map(|app| {
                    let p = priority::score(&app, &prefs, now);
                    ApplicationView::summary(app, p)
                })
                .collect();
            (page, total)
        }
        other => {
            return Err(bad_query(
                "sort",
                format!("unknown sort `{other}`; expected updated, created or priority"),
            ));
        }
    };
    Ok(Json(ApplicationPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// The full view of `app` for `owner`, with its documents.
async fn full_view(
    pool: &PgPool,
    owner: &Owner,
    app: crate::application::Application,
) -> Result<ApplicationView, ApiError> {
    let (prefs, _) = preferences::get(pool, owner).await?;
    let documents = documents::list(pool, app.id).await?;
    let p = priority::score(&app, &prefs, Utc::now());
    Ok(ApplicationView::full(app, p, Some(documents)))
}

pub async fn create(
    State(pool): State<PgPool>,
    owner: Owner,
    origin: Origin,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let input: ApplicationInput = json_body(body)?;
    let (fields, status) = input.create()?;
    let app = store::create(&pool, &owner, fields, status, &origin).await?;
    tracing::info!(application_id = %app.id, %status, "application created");
    Ok((
        StatusCode::CREATED,
        Json(full_view(&pool, &owner, app).await?),
    ))
}

pub async fn get(
    State(pool): State<PgPool>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let id = path_id("id", &id)?;
    let app = store::get(&pool, &owner, id)
        .await?
        .ok_or(ApiError::NotFound("application"))?;
    Ok(Json(full_view(&pool, &owner, app).await?))
}

pub async fn update(
    State(pool): State<PgPool>,
    owner: Owner,
    origin: Origin,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ApplicationView>, ApiError> {
    let id = path_id("id", &id)?;
    let input: ApplicationInput = json_body(body)?;
    let app = store::update(&pool, &owner, id, input, &origin).await?;
    Ok(Json(full_view(&pool, &owner, app).await?))
}

pub async fn delete(
    State(pool): State<PgPool>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("id", &id)?;
    if store::delete(&pool, &owner, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("application"))
    }
}

/// Body of `POST /v1/applications/{id}/documents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachInput {
    pub generation_id: Uuid,
}

/// An attachment as the API returns it.
#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub application_id: Uuid,
    #[serde(flatten)]
    pub document: Document,
}

pub async fn attach_document(
    State(pool): State<PgPool>,
    owner: Owner,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    let application_id = path_id("id", &id)?;
    let input: AttachInput = json_body(body)?;
    let (document, new) =
        documents::attach(&pool, &owner, application_id, input.generation_id).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(AttachmentView {
            application_id,
            document,
        }),
    ))
}
