//! Who is asking the HTTP API: the tenant and user the gateway vouches for. Every
//! query of [`crate::api`] is scoped to both.
//!
//! Source: the gateway-signed internal token (`Authorization: Bearer`, audience
//! `generation`), verified by `sagaflow_service_auth::internal::guard`, which
//! whoever serves [`crate::api::router`] wraps it in. `x-tenant-id` / `x-user-id`
//! headers are ignored; a request without a valid token is a 401 `unauthenticated` problem.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let internal = sagaflow_service_auth::InternalCaller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Caller {
            tenant_id: internal.tenant_id,
            user_id: internal.user_id,
        })
    }
}
