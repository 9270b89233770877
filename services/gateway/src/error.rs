//! The one error type of the HTTP API and its JSON form: an RFC 9457 problem
//! ([`sagaflow_problem::Problem`], `application/problem+json`):
//! `{"type","title","status","detail","code","field"?,"request_id"?}` (`field` only
//! when a specific header, path segment or body field is at fault).
//!
//! Internal errors (database, encoding, a panic) are logged with the request id and
//! hidden from the client, who gets `code: "internal"` and the same `request_id` to
//! quote. A 401 carries `WWW-Authenticate: Bearer`, a 429 and a 503 of a
//! shutting-down gateway `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sagaflow_problem::Problem;
use tracing::error;

use crate::request_id;

/// The `Retry-After` of [`ApiError::TooManyStreams`].
pub const STREAMS_RETRY_AFTER_SECS: u64 = 5;

/// The message of [`ApiError::TooManyStreams`]: what the person can do.
fn too_many_streams(per_user: bool, limit: u32) -> String {
    if per_user {
        format!(
            "you already have {limit} live event streams open, the most one user may have; \
             close one (another tab or device following a saga) and retry, or read \
             GET /v1/sagas/{{id}}/events instead"
        )
    } else {
        format!(
            "this gateway is serving its maximum of {limit} live event streams; \
             retry in a few seconds"
        )
    }
}

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
    /// No usable bearer token (401). `invalid_token` tells a missing token
    /// (`false`) from a rejected one (`true`).
    #[error("{reason}")]
    Unauthenticated { reason: String, invalid_token: bool },
    /// Too many requests (429); retry after `retry_after_secs`.
    #[error("too many requests {scope}; retry after {retry_after_secs} s")]
    RateLimited {
        scope: &'static str,
        retry_after_secs: u64,
    },
    /// The caller (`per_user`) or this gateway as a whole already holds `limit`
    /// open event streams (429).
    #[error("{}", too_many_streams(*per_user, *limit))]
    TooManyStreams { per_user: bool, limit: u32 },
    /// This gateway is shutting down and takes no new event stream (503).
    #[error("this gateway is shutting down; retry in a moment (another replica will answer)")]
    ShuttingDown,
    /// A query parameter is unusable (400).
    #[error("{field}: {message}")]
    InvalidQuery {
        field: &'static str,
        message: String,
    },
    /// The request URI is too long (414).
    #[error("the request URI is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    /// No route for this method on this path (405).
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
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
    /// A backend answered with a server error or an unreadable response (502,
    /// its body hidden).
    #[error("{0} failed; quote the request_id when reporting it")]
    BadGateway(&'static str),
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
            | ApiError::InvalidPath { .. }
            | ApiError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::RateLimited { .. } | ApiError::TooManyStreams { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Validation { .. } | ApiError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::RequestInProgress | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) | ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::Unauthenticated { .. } => "unauthenticated",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::TooManyStreams { .. } => "too_many_streams",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::InvalidQuery { .. } => "invalid_query",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BadGateway(_) => "bad_gateway",
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
            ApiError::MissingHeader(header) | ApiError::InvalidHeader { header, .. } => {
                Some(header)
            }
            ApiError::Unauthenticated { .. } => Some(crate::auth::AUTHORIZATION),
            ApiError::Validation { field, .. } => Some(field),
            ApiError::InvalidPath { field, .. } | ApiError::InvalidQuery { field, .. } => {
                Some(field)
            }
            ApiError::IdempotencyKeyReused | ApiError::RequestInProgress => {
                Some(crate::routes::IDEMPOTENCY_KEY)
            }
            _ => None,
        }
    }

    fn is_internal(&self) -> bool {
        self.status() == StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The problem sent to the client (without its headers).
    pub fn problem(&self) -> Problem {
        let problem = if self.is_internal() {
            Problem::internal()
        } else {
            Problem::new(self.status(), self.code(), self.to_string())
        };
        let problem = match self.field() {
            Some(field) => problem.with_field(field),
            None => problem,
        };
        problem.with_request_id(request_id::current())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.is_internal() {
            let request_id = request_id::current().unwrap_or_default();
            error!(%request_id, error = %self, "request failed");
            metrics::counter!("sagaflow_gateway_internal_errors_total").increment(1);
        }
        let mut problem = self.problem();
        match &self {
            ApiError::Unauthenticated { invalid_token, .. } => {
                let challenge = if *invalid_token {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                };
                problem = problem.with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => {
                problem =
                    problem.with_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::TooManyStreams { .. } => {
                problem = problem.with_header(
                    header::RETRY_AFTER,
                    HeaderValue::from(STREAMS_RETRY_AFTER_SECS),
                );
            }
            ApiError::ShuttingDown => {
                problem = problem.with_header(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            _ => {}
        }
        problem.into_response()
    }
}

/// The JSON form of every error (for the OpenAPI document): the problem shape.
pub use sagaflow_problem::Problem as ErrorBody;
