//! The API's one error type and its JSON form: an RFC 9457 problem
//! ([`sagaflow_problem::Problem`], `application/problem+json`,
//! `{"type", "title", "status", "detail", "code", "field"?}`). Internal errors are
//! logged and hidden (`code: "internal"`). A rejected plan is a 422 whose problem
//! also carries the plan (extension member `"plan": {...}`) with every reason.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sagaflow_problem::Problem;
use serde_json::Value;
use tracing::error;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No caller identity (401): the gateway sets both headers from a verified JWT.
    #[error("the {0} header is required (the gateway sets it from a verified token)")]
    Unauthenticated(&'static str),
    /// A header is present but unusable (400).
    #[error("the {header} header is invalid: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    /// The body is not a JSON object (400).
    #[error("the body is not a valid JSON object: {0}")]
    MalformedJson(String),
    /// A body field, path segment or query parameter is unusable (422 / 400).
    #[error("{field}: {message}")]
    Validation {
        status: StatusCode,
        field: String,
        message: String,
    },
    /// No such plan for this caller (404).
    #[error("not found")]
    NotFound,
    /// The plan's state does not allow the request (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The plan failed validation (422); the body carries the plan.
    #[error("the plan was rejected: {message}")]
    Rejected { message: String, plan: Value },
    /// The plan can no longer be confirmed (410).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// A required header is missing (400).
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    /// The idempotency key was used with another body (422).
    #[error("{}", crate::idempotency::Error::Reused)]
    IdempotencyKeyReused,
    /// The first request with this idempotency key has not finished (409).
    #[error("{}", crate::idempotency::Error::InProgress)]
    RequestInProgress,
    /// Our fault (500, hidden).
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 naming a body field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 400 naming a path segment or query parameter.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            status: StatusCode::BAD_REQUEST,
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::InvalidHeader { .. } => (StatusCode::BAD_REQUEST, "invalid_header"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::Validation { status, .. } => (*status, "invalid_input"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "plan_rejected"),
            ApiError::Gone { code, .. } => (StatusCode::GONE, code),
            ApiError::MissingHeader(_) => (StatusCode::BAD_REQUEST, "missing_header"),
            ApiError::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
            }
            ApiError::RequestInProgress => (StatusCode::CONFLICT, "request_in_progress"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(err: crate::error::Error) -> Self {
        ApiError::Internal(err.to_string())
    }
}

impl From<crate::idempotency::Error> for ApiError {
    fn from(err: crate::idempotency::Error) -> Self {
        match err {
            crate::idempotency::Error::Reused => ApiError::IdempotencyKeyReused,
            crate::idempotency::Error::InProgress => ApiError::RequestInProgress,
            crate::idempotency::Error::Database(err) => err.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(format!("database: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        json_response(status, body)
    }
}

/// `body` with `status`: `application/problem+json` for a 4xx or 5xx (a saved
/// answer replays an error as it was sent), else `application/json`.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if status.is_client_error() || status.is_server_error() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(sagaflow_problem::CONTENT_TYPE),
        );
    }
    response
}

impl ApiError {
    /// The status and JSON body of this error (what a saved answer replays).
    pub fn status_and_body(self) -> (StatusCode, Value) {
        let (status, code) = self.status_and_code();
        let mut problem = match &self {
            ApiError::Internal(detail) => {
                error!(%detail, "planner request failed");
                Problem::internal()
            }
            other => Problem::new(status, code, other.to_string()),
        };
        match &self {
            ApiError::Validation { field, .. } => problem = problem.with_field(field.clone()),
            ApiError::Unauthenticated(header)
            | ApiError::InvalidHeader { header, .. }
            | ApiError::MissingHeader(header) => problem = problem.with_field(*header),
            _ => {}
        }
        let mut body = serde_json::to_value(&problem).unwrap_or_default();
        if let ApiError::Rejected { plan, .. } = self {
            body["plan"] = plan;
        }
        (status, body)
    }
}
