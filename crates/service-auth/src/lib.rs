//! # sagaflow-service-auth — who may call a service that is not the gateway
//!
//! Two kinds of HS256 tokens, each with its own secret (at least
//! [`MIN_SECRET_BYTES`] bytes; [`Secret`] never prints):
//!
//! - **Internal tokens** ([`internal`]): the gateway signs one per forwarded
//!   request with `SAGAFLOW_INTERNAL_TOKEN_SECRET`: `iss = "sagaflow-gateway"`,
//!   `aud` = the target service (`cart`, `planner`, `applications`, `generation`,
//!   `catalog`), `sub` = user id, `tid` = tenant id, `roles`, `exp` = now + 60 s.
//!   A service wraps its router with [`internal::guard`]: a request without a valid
//!   token for its audience is a 401 `unauthenticated` problem; a valid one leaves an
//!   [`InternalCaller`] in the request's extensions (also an extractor), which is
//!   then the **only** source of the caller's identity: `x-tenant-id` /
//!   `x-user-id` headers are not trusted.
//! - **Operator tokens** ([`operator`]): signed with `SAGAFLOW_OPERATOR_JWT_SECRET`,
//!   claims `sub`, `exp`, `roles` (must contain `"operator"`), optional
//!   `tenant_id` (or `tid`). Internal operator APIs take an [`Operator`] argument:
//!
//! ```ignore
//! #[derive(Clone)]
//! struct ApiState { pool: PgPool, operators: OperatorVerifier }
//! impl FromRef<ApiState> for OperatorVerifier {
//!     fn from_ref(state: &ApiState) -> Self { state.operators.clone() }
//! }
//! async fn handler(_operator: Operator, State(state): State<ApiState>) { ... }
//! ```
//!
//! No or an invalid token is 401 (code `unauthenticated`, with `WWW-Authenticate:
//! Bearer`), a valid token without the `operator` role is 403 (code `forbidden`),
//! both RFC 9457 problems (`application/problem+json`, [`sagaflow_problem`]).
//!
//! ## Layout
//! - [`secret`]: [`Secret`] and [`Settings`] (the two environment keys, flattened
//!   once into `sagaflow serve`'s settings and handed to each service).
//! - [`internal`]: [`InternalSigner`], [`InternalVerifier`], [`InternalCaller`],
//!   [`internal::guard`].
//! - [`operator`]: [`OperatorVerifier`], [`Operator`], [`operator::mint`].
//! - [`rejection`]: [`Rejection`], the JSON 401/403.

pub mod internal;
pub mod operator;
pub mod rejection;
pub mod secret;

pub use internal::{InternalCaller, InternalSigner, InternalVerifier};
pub use operator::{OPERATOR_ROLE, Operator, OperatorVerifier};
pub use rejection::Rejection;
pub use secret::{MIN_SECRET_BYTES, Secret, SecretError, Settings};

/// Longest accepted `sub` and tenant id.
pub const MAX_ID_CHARS: usize = 128;

/// `value` if it is 1..=128 visible ASCII characters (ids become database keys).
pub(crate) fn identity(value: String) -> Option<String> {
    let ok =
        (1..=MAX_ID_CHARS).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(value)
}

/// The token of an `Authorization: Bearer <token>` header value.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, Rejection> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            Rejection::unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        })?;
    let value = value.to_str().map_err(|_| {
        Rejection::unauthorized("the Authorization header must be `Bearer <token>`")
    })?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        Rejection::unauthorized("the Authorization header must be `Bearer <token>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() || token.len() > 4096 {
        return Err(Rejection::unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim())
}
