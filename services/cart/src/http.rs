//! The cart HTTP API (served by the caller):
//! - `GET /carts/{id}` → 200 `{"cart_id", "items": [{"sku", "quantity"}]}`
//! - `PUT /carts/{id}/items/{sku}` with `{"quantity": n}` → 200 cart JSON (sets the
//!   line; creates the cart for the caller). A price in the body is 422: prices come
//!   from the catalogue when the order is priced, never from the client.
//! - `DELETE /carts/{id}/items/{sku}` → 200 cart JSON
//!
//! The caller is a tenant and a user ([`caller`]): those of the gateway-signed
//! internal token (`Authorization: Bearer`, audience `cart`, verified by
//! `sagaflow_service_auth::internal::guard`, which whoever serves [`router`] must
//! wrap it in); `x-tenant-id` / `x-user-id` headers are ignored, and a request
//! without a valid token is a 401 `unauthenticated` problem. A cart is the caller's own: any
//! other user's or tenant's cart, whatever its id, is 404 like one that does not
//! exist. Errors are RFC 9457 problems ([`sagaflow_problem::Problem`],
//! `application/problem+json`, `{"type", "title", "status", "detail", "code"}`)
//! with codes `invalid_input` /
//! `missing_user` (400), `not_found` (404), `price_not_accepted` (422), `internal`
//! (500).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use sagaflow_problem::Problem;
use sagaflow_service_auth::InternalCaller;

use crate::store::{self, Cart, CartError, Owner};

/// The header naming the calling user.
pub const USER_HEADER: &str = "x-user-id";
/// The header naming the calling user's tenant.
pub const TENANT_HEADER: &str = "x-tenant-id";

/// The routes above, on `pool`.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/carts/{id}", get(get_cart))
        .route("/carts/{id}/items/{sku}", put(put_item).delete(delete_item))
        .with_state(pool)
}

/// An API error as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = if self.code == "internal" {
            Problem::internal()
        } else {
            Problem::new(self.status, self.code, self.message)
        };
        problem.into_response()
    }
}

impl From<CartError> for ApiError {
    fn from(err: CartError) -> Self {
        let (status, code) = match &err {
            CartError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            CartError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            CartError::Database(db) => {
                tracing::error!(error = %db, "cart database error");
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "internal error".to_owned(),
                };
            }
        };
        Self {
            status,
            code,
            message: err.to_string(),
        }
    }
}

fn cart_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::bad_request("invalid_input", format!("`{raw}` is not a cart id (UUID)"))
    })
}

/// Who is calling: the tenant and user of the gateway's internal token.
fn caller(internal: &InternalCaller) -> Result<Owner, ApiError> {
    Ok(Owner::new(
        internal.tenant_id.clone(),
        internal.user_id.clone(),
    ))
}

async fn get_cart(
    State(pool): State<PgPool>,
    internal: InternalCaller,
    Path(id): Path<String>,
) -> Result<Json<Cart>, ApiError> {
    let owner = caller(&internal)?;
    Ok(Json(
        store::get_owned_cart(&pool, &owner, cart_id(&id)?).await?,
    ))
}

/// Body of `PUT /carts/{id}/items/{sku}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutItem {
    pub quantity: i32,
}

/// A body naming a price is refused: the catalogue prices the order.
fn refuse_prices(body: &Value) -> Result<(), ApiError> {
    let priced = body
        .as_object()
        .map(|fields| fields.keys().find(|k| k.contains("price")))
        .unwrap_or_default();
    match priced {
        Some(field) => Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "price_not_accepted",
            message: format!(
                "`{field}` is not accepted: prices come from the catalogue; send only {{\"quantity\"}}"
            ),
        }),
        None => Ok(()),
    }
}

async fn put_item(
    State(pool): State<PgPool>,
    internal: InternalCaller,
    Path((id, sku)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Cart>, ApiError> {
    let owner = caller(&internal)?;
    let id = cart_id(&id)?;
    let Json(body) =
        body.map_err(|rejection| ApiError::bad_request("invalid_input", rejection.body_text()))?;
    refuse_prices(&body)?;
    let body: PutItem = serde_json::from_value(body).map_err(|err| {
        ApiError::bad_request(
            "invalid_input",
            format!("the body must be {{\"quantity\": n}}: {err}"),
        )
    })?;
    Ok(Json(
        store::put_item(&pool, &owner, id, &sku, body.quantity).await?,
    ))
}

async fn delete_item(
    State(pool): State<PgPool>,
    internal: InternalCaller,
    Path((id, sku)): Path<(String, String)>,
) -> Result<Json<Cart>, ApiError> {
    let owner = caller(&internal)?;
    Ok(Json(
        store::remove_item(&pool, &owner, cart_id(&id)?, &sku).await?,
    ))
}
