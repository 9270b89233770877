//! The one error type of the HTTP API and its JSON form: an RFC 9457 problem
//! ([`sagaflow_problem::Problem`], `application/problem+json`,
//! `{"type", "title", "status", "detail", "code", "field"?}`; `field`: the header, path segment,
//! query parameter or body field at fault). Internal errors are logged (inside the
//! request's span, so with its request id) and hidden from the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sagaflow_problem::Problem;

use crate::status::InvalidTransition;
use crate::store;
use crate::validate::FieldError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `x-tenant-id` or `x-user-id` is missing (401).
    #[error("the {0} header is required")]
    Unauthenticated(&'static str),
    /// A header is present but unusable (400).
    #[error("the {header} header is invalid: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    /// A path segment is not a UUID (400).
    #[error("{0} must be a UUID")]
    InvalidPath(&'static str),
    /// A query parameter is unusable (400).
    #[error("{field}: {message}")]
    InvalidQuery { field: String, message: String },
    /// The body is not the expected JSON (400).
    #[error("the body is not valid JSON for this request: {0}")]
    MalformedJson(String),
    /// A body field is refused (400, or 413 when too long).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The body is over the limit (413).
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Not found, or not the caller's (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// No such route (404) or method (405).
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The status change is not allowed (409).
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// Our fault (500, hidden).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::NotFound(what) => ApiError::NotFound(what),
            store::Error::Field(err) => ApiError::Field(err),
            store::Error::Transition(err) => ApiError::Transition(err),
            store::Error::Database(err) => ApiError::Internal(format!("database: {err}")),
            store::Error::Contract(err) => ApiError::Internal(format!("contract: {err}")),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidHeader { .. }
            | ApiError::InvalidPath(_)
            | ApiError::InvalidQuery { .. }
            | ApiError::MalformedJson(_)
            | ApiError::Field(FieldError::Invalid { .. }) => StatusCode::BAD_REQUEST,
            ApiError::Field(FieldError::TooLong { .. }) | ApiError::PayloadTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::NotFound(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Transition(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::InvalidHeader { .. } => "invalid_header",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::InvalidQuery { .. } => "invalid_query",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Field(FieldError::Invalid { .. }) => "validation_failed",
            ApiError::Field(FieldError::TooLong { .. }) => "field_too_long",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::NotFound(_) | ApiError::NoRoute(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Transition(_) => "invalid_transition",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The header, path segment, query parameter or body field at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Unauthenticated(header) | ApiError::InvalidHeader { header, .. } => {
                Some(header)
            }
            ApiError::InvalidPath(field) => Some(field),
            ApiError::InvalidQuery { field, .. } => Some(field),
            ApiError::Field(err) => Some(err.field()),
            ApiError::Transition(_) => Some("status"),
            _ => None,
        }
    }

    /// The problem sent to the client.
    pub fn problem(&self) -> Problem {
        let problem = match self {
            ApiError::Internal(_) => Problem::internal(),
            other => Problem::new(self.status(), self.code(), other.to_string()),
        };
        match self.field() {
            Some(field) => problem.with_field(field),
            None => problem,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "applications request failed");
        }
        self.problem().into_response()
    }
}
