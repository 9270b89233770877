//! The HTTP routes ([`table`]: the one list the router is built from and the
//! OpenAPI test checks) and what handlers share.
//!
//! Served by the gateway:
//! - `POST /v1/checkouts` — [`checkouts::create`]
//! - `GET /v1/checkouts/{id}` — [`checkouts::get`]
//! - `GET /v1/products`, `GET /v1/products/{sku}` — [`products`] (public: no
//!   token needed)
//! - `POST /v1/generations` — [`generations::create`]
//! - `GET /v1/generations/{id}` — [`generations::get`]
//! - `DELETE /v1/generations/{id}` — [`generations::cancel`]
//! - `GET /v1/generations/{id}/stream` — [`generations::stream`] (server-sent events)
//! - `GET /v1/documents/{id}/{format}` — [`documents::download`]
//! - `POST /v1/orders/{id}/cancel`, `POST /v1/orders/{id}/refunds` — [`orders`]
//! - `GET /v1/history` — [`history::history`]; `DELETE /v1/me` — [`me::erase`]
//! - `GET /v1/sagas` — [`sagas::list`]
//! - `GET /v1/sagas/{id}/events` — [`sagas::events`]
//! - `GET /v1/sagas/{id}/stream` — [`sagas::stream`] (server-sent events)
//! - `GET /healthz`, `GET /readyz` — [`health`]
//! - `GET /openapi.json`, `GET /docs` — [`crate::openapi`]
//! - `GET /asyncapi.json` — [`asyncapi`] (the Kafka contracts)
//! - `GET /`, `GET /app/{file}` — [`web`] (the web page)
//!
//! Forwarded ([`proxied::PROXIED`]): `GET /v1/carts/{id}`, `PUT|DELETE
//! /v1/carts/{id}/items/{sku}` (cart service); `POST /v1/assistant/intents`, `GET
//! /v1/assistant/plans`, `GET /v1/assistant/plans/{id}`, `POST
//! /v1/assistant/plans/{id}/confirm` (planner); `GET|POST /v1/applications`,
//! `GET|PATCH|DELETE /v1/applications/{id}`, `GET|POST
//! /v1/applications/{id}/interviews`, `PATCH|DELETE
//! /v1/applications/{id}/interviews/{interview_id}`, `POST
//! /v1/applications/{id}/documents`, `GET|POST /v1/applications/{id}/reminders`,
//! `DELETE /v1/applications/{id}/reminders/{reminder_id}`, `GET
//! /v1/tracker/next-actions`, `GET /v1/tracker/analytics`, `GET|PUT
//! /v1/tracker/preferences` (applications); `GET /v1/orders`, `GET
//! /v1/orders/{id}` (order service); `GET|PUT /v1/notifications/preferences`,
//! `POST /v1/notifications/test` (notification service).
//!
//! **Identity:** every `/v1` route but the catalogue's takes the caller ([`Caller`]) from the verified
//! bearer token ([`crate::auth`]); a missing or bad token is 401.

pub mod asyncapi;
pub mod cart_lines;
pub mod checkout_request;
pub mod checkouts;
pub mod documents;
pub mod generation_request;
pub mod generations;
pub mod health;
pub mod history;
pub mod me;
pub mod orders;
pub mod products;
pub mod progress;
pub mod proxied;
pub mod sagas;
pub mod web;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{MethodRouter, delete, get, post};
use uuid::Uuid;

use crate::AppState;
pub use crate::auth::Caller;
use crate::error::ApiError;

/// The idempotency key header of `POST /v1/checkouts`, `POST /v1/generations`
/// and the order changes.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Longest accepted idempotency key.
pub const MAX_HEADER_CHARS: usize = 128;

/// One route: a method on a path template, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        handler,
    }
}

/// Every route of the gateway.
pub fn table() -> Vec<Route> {
    let mut routes = vec![
        route(Method::POST, "/v1/checkouts", post(checkouts::create)),
        route(Method::GET, "/v1/checkouts/{id}", get(checkouts::get)),
        route(Method::GET, "/v1/products", get(products::list)),
        route(Method::GET, "/v1/products/{sku}", get(products::get)),
        route(Method::POST, "/v1/generations", post(generations::create)),
        route(Method::GET, "/v1/generations/{id}", get(generations::get)),
        route(
            Method::DELETE,
            "/v1/generations/{id}",
            delete(generations::cancel),
        ),
        route(
            Method::GET,
            "/v1/generations/{id}/stream",
            get(generations::stream),
        ),
        route(
            Method::GET,
            "/v1/documents/{id}/{format}",
            get(documents::download),
        ),
        route(Method::POST, "/v1/orders/{id}/cancel", post(orders::cancel)),
        route(
            Method::POST,
            "/v1/orders/{id}/refunds",
            post(orders::refund),
        ),
        route(Method::GET, "/v1/history", get(history::history)),
        route(Method::DELETE, "/v1/me", delete(me::erase)),
        route(Method::GET, "/v1/sagas", get(sagas::list)),
        route(Method::GET, "/v1/sagas/{id}/events", get(sagas::events)),
        route(Method::GET, "/v1/sagas/{id}/stream", get(sagas::stream)),
        route(Method::GET, "/healthz", get(health::healthz)),
        route(Method::GET, "/readyz", get(health::readyz)),
        route(Method::GET, "/openapi.json", get(crate::openapi::json)),
        route(Method::GET, "/docs", get(crate::openapi::docs)),
        route(Method::GET, "/asyncapi.json", get(asyncapi::document)),
        route(Method::GET, "/", get(web::index)),
        route(Method::GET, "/app/{file}", get(web::asset)),
    ];
    routes.extend(
        proxied::PROXIED
            .iter()
            .map(|p| route(p.method.clone(), p.path, proxied::handler(p))),
    );
    routes
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

/// `axum::extract::Path` whose rejection (e.g. a segment that is not UTF-8) is
/// the API's JSON 400 rather than axum's plain text.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(_) => Err(ApiError::InvalidPath {
                field: "path",
                message: "a path segment is not valid (UTF-8, percent-encoding)".to_owned(),
            }),
        }
    }
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
