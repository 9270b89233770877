//! The one error type of the HTTP API and its JSON form:
//! `{"error":{"code":"...","message":"...","field":"..."}}` (`field` only when a
//! specific header, path segment or body field is at fault).
//!
//! Internal errors (database, encoding) are logged with the request id and hidden
//! from the client, who gets `code: "internal"` and the same `request_id` to quote.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::error;

use crate::request_id;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A required header is absent (400).
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    /// A header is present but unusable (400).
    #[error("the {header} header is invalid: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    /// The caller is not identified (401); stands in for authentication until JWT.
    #[error("the {0} header is required to identify the caller")]
    Unauthenticated(&'static str),
    /// The body is not JSON, or not a JSON object (400).
    #[error("the body is not a valid JSON object: {0}")]
    MalformedJson(String),
    /// A body field is missing or out of range (422).
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// A path segment is unusable (400).
    #[error("{field}: {message}")]
    InvalidPath {
        field: &'static str,
        message: String,
    },
    /// The body exceeds the configured limit (413).
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The resource does not exist or is not the caller's (404).
    #[error("not found")]
    NotFound,
    /// The idempotency key was used with another body (422).
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// The first request with this idempotency key has not finished (409).
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    RequestInProgress,
    /// The resource is in a state that does not allow the request (409).
    #[error("{0}")]
    Conflict(String),
    /// A dependency is down (503).
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The database failed (500, hidden).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A message could not be encoded (500, hidden).
    #[error("contract: {0}")]
    Contract(#[from] sagaflow_events::Error),
    /// Anything else that is our fault (500, hidden).
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingHeader(_)
            | ApiError::InvalidHeader { .. }
            | ApiError::MalformedJson(_)
            | ApiError::InvalidPath { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Validation { .. } | ApiError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::RequestInProgress | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_) | ApiError::Contract(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingHeader(_) => "missing_header",
            ApiError::InvalidHeader { .. } => "invalid_header",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::InvalidPath { .. } => "invalid_path",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::NotFound => "not_found",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::RequestInProgress => "request_in_progress",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Database(_) | ApiError::Contract(_) | ApiError::Internal(_) => "internal",
        }
    }

    /// The header, path segment or body field at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::MissingHeader(header)
            | ApiError::InvalidHeader { header, .. }
            | ApiError::Unauthenticated(header) => Some(header),
            ApiError::Validation { field, .. } => Some(field),
            ApiError::InvalidPath { field, .. } => Some(field),
            ApiError::IdempotencyKeyReused | ApiError::RequestInProgress => {
                Some(crate::routes::IDEMPOTENCY_KEY)
            }
            _ => None,
        }
    }

    fn is_internal(&self) -> bool {
        self.status() == StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The JSON body sent to the client.
    pub fn body(&self) -> Value {
        let request_id = request_id::current();
        let mut error = if self.is_internal() {
            json!({
                "code": self.code(),
                "message": "internal error; quote the request_id when reporting it",
            })
        } else {
            json!({ "code": self.code(), "message": self.to_string() })
        };
        if let Some(field) = self.field() {
            error["field"] = Value::from(field);
        }
        if let Some(id) = request_id {
            error["request_id"] = Value::from(id);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.is_internal() {
            let request_id = request_id::current().unwrap_or_default();
            error!(%request_id, error = %self, "request failed");
            metrics::counter!("sagaflow_gateway_internal_errors_total").increment(1);
        }
        (self.status(), Json(self.body())).into_response()
    }
}
