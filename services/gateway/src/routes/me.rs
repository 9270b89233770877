//! `DELETE /v1/me`: erase the caller's generation data. The gateway deletes its own
//! rows (generations, their progress and cancellations, idempotency keys) and, in
//! the same transaction, sends `EraseUserData` to the generation service, which
//! owns the profiles, CVs, documents and LLM records. Checkouts are kept: orders
//! and payments are financial records with their own retention.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::EraseUserData;
use serde_json::{Value, json};

use super::Caller;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// `DELETE /v1/me`.
#[utoipa::path(
    delete,
    path = "/v1/me",
    operation_id = "erase_me",
    tag = "history",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "`{\"erased_generations\": n, \"status\": \"erasing\"}`", body = Object),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut tx = state.pool.begin().await?;
    for statement in [
        "DELETE FROM saga_progress WHERE saga_id IN
             (SELECT generation_id FROM generations WHERE tenant_id = $1 AND user_id = $2)",
        "DELETE FROM generation_cancellations WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND user_id = $2",
    ] {
        sqlx::query(statement)
            .bind(&caller.tenant_id)
            .bind(&caller.user_id)
            .execute(&mut *tx)
            .await?;
    }
    let generations = sqlx::query("DELETE FROM generations WHERE tenant_id = $1 AND user_id = $2")
        .bind(&caller.tenant_id)
        .bind(&caller.user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let command = EraseUserData {
        user_id: caller.user_id.clone(),
        reason: "erasure requested by the user".into(),
    };
    let out = Outgoing::new(&caller.tenant_id, None, caller.user_id.clone(), &command)?;
    outbox::enqueue(&mut tx, &[out]).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %caller.tenant_id, user_id = %caller.user_id, generations, "user data erasure requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"erased_generations": generations, "status": "erasing"})),
    ))
}
