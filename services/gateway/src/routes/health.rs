//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the
//! broker's last probe passed, see `Settings::broker_health`, and the database
//! answers `SELECT 1` within a second).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tracing::warn;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /healthz`: always 200 `{"status":"ok"}`.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations", responses((status = 200, description = "`{\"status\":\"ok\"}`", body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 `{"status":"ok"}`, or 503 when the broker's last probe
/// failed or the database does not answer (the message names which).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{\"status\":\"ok\"}`", body = Object),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if !state.settings.broker_health.is_serving() {
        return Err(ApiError::Unavailable("broker"));
    }
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool);
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(Json(json!({ "status": "ok" }))),
        Ok(Err(err)) => {
            warn!(error = %err, "readiness: database error");
            Err(ApiError::Unavailable("database"))
        }
        Err(_) => {
            warn!("readiness: database timed out");
            Err(ApiError::Unavailable("database"))
        }
    }
}
