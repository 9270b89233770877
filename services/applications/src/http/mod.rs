//! The HTTP API (the gateway proxies these paths unchanged):
//!
//! - `GET|POST /v1/applications` — [`applications::list`], [`applications::create`]
//! - `GET|PATCH|DELETE /v1/applications/{id}` — [`applications::get`],
//!   [`applications::update`], [`applications::delete`]
//! - `POST /v1/applications/{id}/documents` — [`applications::attach_document`]
//! - `GET|POST /v1/applications/{id}/interviews` — [`interviews::list`], [`interviews::create`]
//! - `PATCH|DELETE /v1/applications/{id}/interviews/{interview_id}` —
//!   [`interviews::update`], [`interviews::delete`]
//! - `GET|POST /v1/applications/{id}/reminders`, `DELETE
//!   /v1/applications/{id}/reminders/{reminder_id}` — [`reminders::list`],
//!   [`reminders::create`], [`reminders::cancel`]
//! - `GET /v1/tracker/analytics` — [`tracker::analytics`]; `GET
//!   /v1/tracker/next-actions` — [`reminders::next_actions`]
//! - `GET|PUT /v1/tracker/preferences` — [`tracker::get_preferences`], [`tracker::put_preferences`]
//!
//! **Identity:** the gateway-signed internal token (`Authorization: Bearer`,
//! audience `applications`), verified by `sagaflow_service_auth::internal::guard`,
//! which [`crate::run`] wraps the router in: a request without a valid token is a 401
//! `unauthenticated` problem. `x-tenant-id` / `x-user-id` headers are ignored. Every row is scoped by both, so
//! another tenant's or user's application is 404. `x-request-id` and `traceparent`
//! go on the request's log span and on the events a request writes.
//! Errors: [`error::ApiError`]. Response shapes: [`view`].

pub mod applications;
pub mod error;
pub mod interviews;
pub mod reminders;
pub mod tracker;
pub mod view;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use axum::{Router, middleware};
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

pub use error::ApiError;

use crate::store::{Origin, Owner};

/// The caller's tenant.
pub const TENANT_ID: &str = "x-tenant-id";
/// The caller's user.
pub const USER_ID: &str = "x-user-id";
/// The request id (from the gateway).
pub const REQUEST_ID: &str = "x-request-id";
/// W3C trace context (from the gateway).
pub const TRACEPARENT: &str = "traceparent";
/// Longest accepted tenant, user and request id.
pub const MAX_HEADER_CHARS: usize = 128;
/// Largest request body: a 50 000-character job description of 4-byte characters,
/// JSON-escaped, fits.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The routes above, on `pool`.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route(
            "/v1/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/v1/applications/{id}",
            get(applications::get)
                .patch(applications::update)
                .delete(applications::delete),
        )
        .route(
            "/v1/applications/{id}/documents",
            post(applications::attach_document),
        )
        .route(
            "/v1/applications/{id}/interviews",
            get(interviews::list).post(interviews::create),
        )
        .route(
            "/v1/applications/{id}/interviews/{interview_id}",
            patch(interviews::update).delete(interviews::delete),
        )
        .route(
            "/v1/applications/{id}/reminders",
            get(reminders::list).post(reminders::create),
        )
        .route(
            "/v1/applications/{id}/reminders/{reminder_id}",
            delete(reminders::cancel),
        )
        .route("/v1/tracker/analytics", get(tracker::analytics))
        .route("/v1/tracker/next-actions", get(reminders::next_actions))
        .route(
            "/v1/tracker/preferences",
            get(tracker::get_preferences).put(tracker::put_preferences),
        )
        .fallback(|request: Request| async move {
            ApiError::NoRoute(format!("{} {}", request.method(), request.uri().path()))
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(span))
        .with_state(pool)
}

/// Runs the request inside a span carrying its request id and trace parent.
async fn span(request: Request, next: Next) -> Response {
    let span = {
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        tracing::info_span!(
            "http",
            request_id = %header(REQUEST_ID),
            traceparent = %header(TRACEPARENT),
            method = %request.method(),
            path = %request.uri().path(),
        )
    };
    next.run(request).instrument(span).await
}

impl<S: Send + Sync> FromRequestParts<S> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let caller = parts
            .extensions
            .get::<sagaflow_service_auth::InternalCaller>()
            .ok_or(ApiError::Unauthenticated("authorization"))?;
        Ok(Owner {
            tenant_id: caller.tenant_id.clone(),
            user_id: caller.user_id.clone(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Origin {
            request_id: header(&parts.headers, REQUEST_ID)
                .ok()
                .flatten()
                .map(str::to_owned),
            traceparent: header(&parts.headers, TRACEPARENT)
                .ok()
                .flatten()
                .map(str::to_owned),
        })
    }
}

/// Header `name`: `None` if absent or blank; an error unless it is at most
/// [`MAX_HEADER_CHARS`] printable ASCII characters.
fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let invalid = |reason: String| ApiError::InvalidHeader {
        header: name,
        reason,
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("must be printable ASCII".into()))?
        .trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > MAX_HEADER_CHARS || !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(invalid(format!(
            "must be 1 to {MAX_HEADER_CHARS} printable ASCII characters"
        )));
    }
    Ok(Some(value))
}

/// A UUID path segment named `field`.
fn path_id(field: &'static str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::InvalidPath(field))
}

/// The JSON body as `T` (413 over [`MAX_BODY_BYTES`], 400 when it does not parse).
fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(MAX_BODY_BYTES)
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|err| ApiError::MalformedJson(err.to_string()))
}
