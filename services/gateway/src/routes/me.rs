//! `DELETE /v1/me`: erase the caller's personal data, in the caller's tenant only.
//! In one transaction the gateway
//! - sends `CancelSaga` for each of the caller's running generations (so no further
//!   LLM call is made for them),
//! - deletes its own rows (generations, their progress and cancellations,
//!   idempotency keys) and redacts the personal fields of its checkouts (e.g. the
//!   e-mail and payment method: orders and payments are financial records with
//!   their own retention, so the checkouts themselves stay; so do the order
//!   changes, without their reason),
//! - publishes `UserErasureRequested` on `gateway.events` (keyed by the user id,
//!   the tenant in the envelope), which every service holding the user's data
//!   consumes (cart, applications, notification, planner, generation, the
//!   orchestrator's saga log). The saga timelines of the caller's checkouts keep
//!   their steps and times; their details (which hold the request) are redacted.
//!
//! The sagas are remembered in `erased_sagas` (so late messages bring nothing
//! back) for 30 days; [`crate::housekeeping`] prunes them after that.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{CancelSaga, UserErasureRequested};
use serde_json::{Value, json};

use super::Caller;
use super::progress::TERMINAL;
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
        (status = 202, description = "`{\"erased_generations\": n, \"cancelled_generations\": n, \"erasure_id\", \"status\": \"erasing\"}`", body = Object),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut tx = state.pool.begin().await?;
    // Every saga of the caller, locked as the projection locks one (in order, as
    // it takes one at a time): a progress entry being projected right now commits
    // before the statements below see the table, or sees `erased_sagas` after.
    let sagas: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT checkout_id FROM checkouts WHERE tenant_id = $1 AND user_id = $2
         UNION SELECT generation_id FROM generations WHERE tenant_id = $1 AND user_id = $2
         UNION SELECT saga_id FROM order_changes WHERE tenant_id = $1 AND user_id = $2
         ORDER BY 1",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_all(&mut *tx)
    .await?;
    for saga_id in &sagas {
        crate::projection::lock_saga(&mut tx, *saga_id)
            .await
            .map_err(|err| ApiError::Internal(format!("locking saga {saga_id}: {err}")))?;
    }
    let running: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT generation_id FROM generations
         WHERE tenant_id = $1 AND user_id = $2 AND NOT (status = ANY($3))
         ORDER BY generation_id FOR UPDATE",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(TERMINAL)
    .fetch_all(&mut *tx)
    .await?;
    let mut messages = Vec::new();
    for generation_id in &running {
        let command = CancelSaga {
            saga_id: *generation_id,
            reason: "the user's data is being erased".into(),
        };
        messages.push(Outgoing::new(
            &caller.tenant_id,
            Some(*generation_id),
            generation_id.to_string(),
            &command,
        )?);
    }
    for statement in [
        // Late messages of these sagas must not bring the data back (projection).
        "INSERT INTO erased_sagas (saga_id)
             SELECT checkout_id FROM checkouts WHERE tenant_id = $1 AND user_id = $2
             UNION SELECT generation_id FROM generations WHERE tenant_id = $1 AND user_id = $2
             UNION SELECT saga_id FROM order_changes WHERE tenant_id = $1 AND user_id = $2
         ON CONFLICT (saga_id) DO NOTHING",
        // The checkout stays (a financial record); the person's details go.
        "UPDATE checkouts SET request = request
             || CASE WHEN request ? 'customer_email'
                    THEN '{\"customer_email\": \"[erased]\"}'::JSONB ELSE '{}'::JSONB END
             || CASE WHEN request ? 'payment_method'
                    THEN '{\"payment_method\": \"[erased]\"}'::JSONB ELSE '{}'::JSONB END
             || CASE WHEN request ? 'shipping_country'
                    THEN '{\"shipping_country\": \"[erased]\"}'::JSONB ELSE '{}'::JSONB END,
             updated_at = now()
         WHERE tenant_id = $1 AND user_id = $2",
        // An order change stays too (a refund is a financial record); its reason goes.
        "UPDATE order_changes SET request = request
             || CASE WHEN request ? 'reason' AND request->'reason' <> 'null'::JSONB
                    THEN '{\"reason\": \"[erased]\"}'::JSONB ELSE '{}'::JSONB END,
             updated_at = now()
         WHERE tenant_id = $1 AND user_id = $2",
        "UPDATE saga_progress SET detail = '\"[erased]\"'::JSONB WHERE saga_id IN
             (SELECT checkout_id FROM checkouts WHERE tenant_id = $1 AND user_id = $2
              UNION SELECT saga_id FROM order_changes WHERE tenant_id = $1 AND user_id = $2)",
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
    // What the gateway published for those sagas (the e-mail, the CV text) goes
    // once sent; rows still unsent are pruned by the relay's retention.
    outbox::forget_sent(&mut tx, &caller.tenant_id, &sagas).await?;
    let generations = sqlx::query("DELETE FROM generations WHERE tenant_id = $1 AND user_id = $2")
        .bind(&caller.tenant_id)
        .bind(&caller.user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let request = UserErasureRequested {
        erasure_id: uuid::Uuid::now_v7(),
        user_id: caller.user_id.clone(),
        requested_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    messages.push(Outgoing::new(
        &caller.tenant_id,
        None,
        caller.user_id.clone(),
        &request,
    )?);
    outbox::enqueue(&mut tx, &messages).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %caller.tenant_id, erasure_id = %request.erasure_id, generations,
        cancelled = running.len(), "user data erasure requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "erased_generations": generations,
            "cancelled_generations": running.len(),
            "erasure_id": request.erasure_id,
            "status": "erasing",
        })),
    ))
}
