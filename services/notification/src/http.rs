//! The notification HTTP API (served by the caller):
//! `POST /send` with `{"channel": "email"|"sms"|"push", "recipient", "subject",
//! "body"}` (and optionally a client-chosen `notification_id` for idempotent
//! retries) → 202 `{"notification_id"}`. Errors are `{"error": {"code", "message"}}`:
//! `invalid_input` (400) for a bad body, channel or recipient; `internal` (500).

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

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

/// An API error as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_input",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "notification database error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error".to_owned(),
        }
    }
}

async fn send(
    State(pool): State<PgPool>,
    request: Result<Json<SendRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(request) = request.map_err(|rejection| ApiError::invalid(rejection.body_text()))?;
    let sender = Sender::parse(&request.channel).ok_or_else(|| {
        ApiError::invalid(format!(
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
        Sent::Sent | Sent::AlreadySent | Sent::Suppressed => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "notification_id": notification.notification_id })),
        )),
        Sent::Refused(reason) => Err(ApiError::invalid(reason)),
    }
}
