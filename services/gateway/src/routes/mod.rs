//! The HTTP routes and what they share: the caller's identity and header checks.
//!
//! - `POST /v1/checkouts` — [`checkouts::create`]
//! - `GET /v1/checkouts/{id}` — [`checkouts::get`]
//! - `POST /v1/generations` — [`generations::create`]
//! - `GET /v1/generations/{id}` — [`generations::get`]
//! - `GET /v1/generations/{id}/stream` — [`generations::stream`] (server-sent events)
//! - `DELETE /v1/generations/{id}` — [`generations::cancel`]
//! - `GET /v1/history` — [`history::history`]
//! - `GET /v1/sagas/{id}/events` — [`sagas::events`]
//! - `GET /healthz`, `GET /readyz` — [`health`]
//!
//! **Identity (temporary):** the caller is named by the `X-Tenant-Id` and `X-User-Id`
//! headers, trusted as sent. This is only acceptable behind an authenticating proxy;
//! JWT validation will replace it, and a missing header is already a 401 as a
//! missing token will be.

pub mod checkout_request;
pub mod checkouts;
pub mod documents;
pub mod generation_request;
pub mod generations;
pub mod health;
pub mod history;
pub mod me;
pub mod sagas;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::rejection::BytesRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use uuid::Uuid;

use crate::error::ApiError;

/// The idempotency key header of `POST /v1/checkouts` and `POST /v1/generations`.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The caller's tenant (until JWT).
pub const TENANT_ID: &str = "X-Tenant-Id";
/// The caller's user (until JWT).
pub const USER_ID: &str = "X-User-Id";

/// Longest accepted idempotency key, tenant id and user id.
pub const MAX_HEADER_CHARS: usize = 128;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let tenant_id =
            header(&parts.headers, TENANT_ID)?.ok_or(ApiError::Unauthenticated(TENANT_ID))?;
        let user_id = header(&parts.headers, USER_ID)?.ok_or(ApiError::Unauthenticated(USER_ID))?;
        Ok(Caller {
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
        })
    }
}

/// The value of header `name`: `None` if absent; an error unless it is
/// 1..=[`MAX_HEADER_CHARS`] printable ASCII characters.
pub fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let invalid = |reason: &str| ApiError::InvalidHeader {
        header: name,
        reason: reason.to_owned(),
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("must be printable ASCII"))?;
    if value.is_empty() || value.len() > MAX_HEADER_CHARS {
        return Err(invalid(&format!(
            "must be 1 to {MAX_HEADER_CHARS} characters"
        )));
    }
    if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(invalid("must be printable ASCII"));
    }
    Ok(Some(value))
}

/// A UUID path segment named `field`.
pub fn path_id(field: &'static str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::InvalidPath {
        field,
        message: "must be a UUID".to_owned(),
    })
}

/// The request body, or 413 when it is over `limit` bytes (400 otherwise).
pub fn read_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })
}
