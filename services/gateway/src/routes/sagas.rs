//! `GET /v1/sagas/{id}/events`: the projected saga log of a checkout or a
//! generation. Visible to its tenant (checked through the `checkouts` and
//! `generations` tables); any other caller gets 404.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{Caller, path_id};
use crate::AppState;
use crate::error::ApiError;

/// One projected saga log entry.
#[derive(Debug, Serialize)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub step: Option<String>,
    pub status: String,
    pub detail: Value,
    pub at: DateTime<Utc>,
}

/// The body of `GET /v1/sagas/{id}/events`.
#[derive(Debug, Serialize)]
pub struct SagaEvents {
    pub saga_id: Uuid,
    pub events: Vec<Event>,
}

/// `GET /v1/sagas/{id}/events`.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SagaEvents>, ApiError> {
    let saga_id = path_id("id", &id)?;
    let visible: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM checkouts WHERE checkout_id = $1 AND tenant_id = $2)
             OR EXISTS (SELECT 1 FROM generations WHERE generation_id = $1 AND tenant_id = $2)",
    )
    .bind(saga_id)
    .bind(&caller.tenant_id)
    .fetch_one(&state.pool)
    .await?;
    if !visible {
        return Err(ApiError::NotFound);
    }
    let events = sqlx::query(
        "SELECT seq, kind, step, status, detail, at FROM saga_progress
         WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(saga_id)
    .fetch_all(&state.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Event {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            step: row.try_get("step")?,
            status: row.try_get("status")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(SagaEvents { saga_id, events }))
}
