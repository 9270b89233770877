//! [`ApiError`]: every error of the notification HTTP APIs ([`crate::http`] and
//! [`crate::api`]), mapped to HTTP here only, as an RFC 9457 problem
//! ([`sagaflow_problem::Problem`], `application/problem+json`, `{"type", "title",
//! "status", "detail", "code"}`).
//! A database failure is logged and answered 500 `internal` without its detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sagaflow_problem::Problem;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_input`: a body that is not JSON, or a bad `POST /send`.
    #[error("{0}")]
    Invalid(String),
    /// 422 `validation_failed`: well-formed JSON with a bad value (the message
    /// names it), or nothing known to send to.
    #[error("{0}")]
    Unprocessable(String),
    /// 422 `idempotency_key_reused`: the key was used for another request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// 409 `channel_turned_off`: the caller turned the channel off.
    #[error("{0}")]
    ChannelOff(String),
    /// 429 `rate_limited`, with `Retry-After` in seconds.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// 500 `internal` (logged, not shown).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) | ApiError::IdempotencyKeyReused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::ChannelOff(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_input",
            ApiError::Unprocessable(_) => "validation_failed",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::ChannelOff(_) => "channel_turned_off",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Database(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut problem = match &self {
            ApiError::Database(err) => {
                tracing::error!(error = %err, "notification database error");
                Problem::internal()
            }
            other => Problem::new(self.status(), self.code(), other.to_string()),
        };
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            problem = problem.with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        problem.into_response()
    }
}
