//! `/v1/tracker/*`:
//!
//! - `GET /v1/tracker/analytics` → 200 [`Analytics`]: `{"total", "by_status":
//!   {"saved": n, ..every status}, "applied", "responded", "response_rate" (0..1 or
//!   null), "time_to_first_interview": {"applications", "average_days",
//!   "median_days"}, "interviews": {"total", "upcoming"}}` (definitions in
//!   [`crate::analytics`]).
//! - `GET /v1/tracker/preferences` → 200 `{"locations": [..], "remote_ok",
//!   "salary_target", "salary_currency", "preferred_stack": [..], "avoided_stack":
//!   [..], "updated_at"}` (`updated_at` null: never set).
//! - `PUT /v1/tracker/preferences` [`PreferencesInput`] (replaces them; absent
//!   fields are empty) → 200, same shape.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::{ApiError, json_body};
use crate::analytics::{self, Analytics};
use crate::preferences::{Preferences, PreferencesInput};
use crate::store::{self, Owner};

pub async fn analytics(
    State(pool): State<PgPool>,
    owner: Owner,
) -> Result<Json<Analytics>, ApiError> {
    let (apps, interviews) = store::analytics::facts(&pool, &owner).await?;
    Ok(Json(analytics::compute(&apps, &interviews, Utc::now())))
}

/// Preferences as the API returns them.
#[derive(Debug, Serialize)]
pub struct PreferencesView {
    #[serde(flatten)]
    pub preferences: Preferences,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn get_preferences(
    State(pool): State<PgPool>,
    owner: Owner,
) -> Result<Json<PreferencesView>, ApiError> {
    let (preferences, updated_at) = store::preferences::get(&pool, &owner).await?;
    Ok(Json(PreferencesView {
        preferences,
        updated_at,
    }))
}

pub async fn put_preferences(
    State(pool): State<PgPool>,
    owner: Owner,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PreferencesView>, ApiError> {
    let prefs = json_body::<PreferencesInput>(body)?.validate()?;
    let (preferences, updated_at) = store::preferences::put(&pool, &owner, &prefs).await?;
    Ok(Json(PreferencesView {
        preferences,
        updated_at,
    }))
}
