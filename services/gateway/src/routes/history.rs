//! `GET /v1/history`: the caller's checkouts and generations, newest first, each
//! with its status, result id and links. At most [`LIMIT`] entries.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use super::Caller;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// Most entries returned.
pub const LIMIT: i64 = 100;

/// `GET /v1/history`: `{"items": [...]}`; a checkout is `{type: "checkout", id,
/// status, order_id, created_at, links}`, a generation `{type: "generation", id,
/// kind, status, document_id, created_at, links}`.
#[utoipa::path(
    get,
    path = "/v1/history",
    operation_id = "get_history",
    tag = "history",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"items\": [...]}`, newest first, at most 100", body = Object),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT 'checkout' AS type, checkout_id AS id, NULL::text AS kind, status,
                order_id AS result_id, created_at
         FROM checkouts WHERE tenant_id = $1 AND user_id = $2
         UNION ALL
         SELECT 'generation', generation_id, kind, status, document_id, created_at
         FROM generations WHERE tenant_id = $1 AND user_id = $2
         ORDER BY created_at DESC, id DESC
         LIMIT $3",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(LIMIT)
    .fetch_all(&state.pool)
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            let kind: String = row.try_get("type")?;
            let id: Uuid = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            let result_id: Option<Uuid> = row.try_get("result_id")?;
            let created_at: DateTime<Utc> = row.try_get("created_at")?;
            Ok(if kind == "checkout" {
                json!({
                    "type": "checkout",
                    "id": id,
                    "status": status,
                    "order_id": result_id,
                    "created_at": created_at,
                    "links": {
                        "self": format!("/v1/checkouts/{id}"),
                        "events": format!("/v1/sagas/{id}/events"),
                    },
                })
            } else {
                json!({
                    "type": "generation",
                    "id": id,
                    "kind": row.try_get::<Option<String>, _>("kind")?,
                    "status": status,
                    "document_id": result_id,
                    "created_at": created_at,
                    "links": super::generations::links(id),
                })
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(json!({ "items": items })))
}
