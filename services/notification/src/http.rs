//! The unguarded notification HTTP API (served by the caller beside the guarded
//! [`crate::api`]): `POST /send` with `{"channel": "email"|"sms"|"push", "recipient", "subject",
//! "body"}` (and optionally a client-chosen `notification_id` for idempotent
//! retries) → 202 `{"notification_id"}`. Errors are RFC 9457 problems (`application/problem+json`, `code`):
//! `invalid_input` (400) for a bad body, channel or recipient; `internal` (500)
//! ([`ApiError`]).
//!
//! It takes no identity (no token): it sends to the recipient it is given, for no
//! user, so no preference applies. Nothing in the platform calls it today (the
//! gateway does not forward it); it is an operator tool on the service's own port.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;
use crate::sender::{self, Notification, Sender, Sent};

/// The route above, on `pool`.
pub fn router(pool: PgPool) -> Router {
    Router::new().route("/send", post(send)).with_state(pool)
}

/// Body of `POST /send`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub notification_id: Option<Uuid>,
}

async fn send(
    State(pool): State<PgPool>,
    request: Result<Json<SendRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(request) = request.map_err(|rejection| ApiError::Invalid(rejection.body_text()))?;
    let sender = Sender::parse(&request.channel).ok_or_else(|| {
        ApiError::Invalid(format!(
            "unknown channel `{}`: expected email, sms or push",
            request.channel
        ))
    })?;
    let notification = Notification {
        notification_id: request.notification_id.unwrap_or_else(Uuid::now_v7),
        saga_id: None,
        sender,
        recipient: request.recipient,
        subject: request.subject,
        body: request.body,
        owner: None,
    };
    let mut conn = pool.acquire().await?;
    match sender::send(&mut conn, &notification).await? {
        // Skipped and Suppressed need a user; a notification of this route has none.
        Sent::Sent | Sent::AlreadySent | Sent::Suppressed | Sent::Skipped(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "notification_id": notification.notification_id })),
        )),
        Sent::Refused(reason) => Err(ApiError::Invalid(reason)),
    }
}
