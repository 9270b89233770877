//! The cart HTTP API (served by the caller):
//! - `GET /carts/{id}` → 200 cart JSON
//! - `PUT /carts/{id}/items/{sku}` with `{"quantity": n, "unit_price_minor": p}` →
//!   200 cart JSON (upsert of the line; creates the cart for the user)
//! - `DELETE /carts/{id}/items/{sku}` → 200 cart JSON
//!
//! Every request names its user in the `x-user-id` header (set by the gateway after
//! authentication); a cart owned by another user is 403. Errors are
//! `{"error": {"code", "message"}}` with codes `invalid_input` / `missing_user` (400),
//! `forbidden` (403), `not_found` (404), `internal` (500).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, Cart, CartError};

/// The header naming the calling user.
pub const USER_HEADER: &str = "x-user-id";

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
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<CartError> for ApiError {
    fn from(err: CartError) -> Self {
        let (status, code) = match &err {
            CartError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            CartError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            CartError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
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

fn user(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_user",
                format!("the {USER_HEADER} header is required"),
            )
        })
}

async fn get_cart(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Cart>, ApiError> {
    let user = user(&headers)?;
    Ok(Json(
        store::get_owned_cart(&pool, cart_id(&id)?, &user).await?,
    ))
}

/// Body of `PUT /carts/{id}/items/{sku}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutItem {
    pub quantity: i32,
    pub unit_price_minor: i64,
}

async fn put_item(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    Path((id, sku)): Path<(String, String)>,
    body: Result<Json<PutItem>, JsonRejection>,
) -> Result<Json<Cart>, ApiError> {
    let user = user(&headers)?;
    let id = cart_id(&id)?;
    let Json(body) =
        body.map_err(|rejection| ApiError::bad_request("invalid_input", rejection.body_text()))?;
    Ok(Json(
        store::put_item(&pool, id, &user, &sku, body.quantity, body.unit_price_minor).await?,
    ))
}

async fn delete_item(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    Path((id, sku)): Path<(String, String)>,
) -> Result<Json<Cart>, ApiError> {
    let user = user(&headers)?;
    Ok(Json(
        store::remove_item(&pool, cart_id(&id)?, &user, &sku).await?,
    ))
}
