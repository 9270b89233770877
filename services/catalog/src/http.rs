//! The operator API (every route but `/healthz` needs an operator token):
//! - `PUT /products/{sku}`: create or replace the whole product
//!   (`{"name", "description", "active", "prices": [{"currency", "amount_minor"}]}`);
//!   201 when created, 200 when changed or already so. Set `active: false` to
//!   withdraw a product.
//! - `GET /products?q=&after=&limit=`: a page by SKU (`limit` 1..=100, default
//!   20), filtered by text; `next_after` names the cursor of the next page.
//! - `GET /products/{sku}`: one product, 404 when unknown.
//!
//! Errors are RFC 9457 problems ([`sagaflow_problem::Problem`],
//! `application/problem+json`): bad input is 422 `validation_failed` (with `field`)
//! or `invalid_body`, an unknown product 404 `not_found`; no or an invalid token
//! 401 `unauthenticated`, a token without the operator role 403 `forbidden`. The catalogue is platform-wide, so a token
//! limited to one tenant may read but not change it (403). Customers read
//! products through the gateway (`GET /v1/products`), never here.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sagaflow_problem::Problem;
use sagaflow_service_auth::{Operator, OperatorVerifier};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;

use crate::product::{Invalid, Product, ProductSpec, validate_sku};
use crate::store::{self, Change};

/// Default page size of `GET /products`.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub operators: OperatorVerifier,
}

impl FromRef<ApiState> for OperatorVerifier {
    fn from_ref(state: &ApiState) -> Self {
        state.operators.clone()
    }
}

/// The operator API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/products", get(list_products))
        .route("/products/{sku}", get(get_product).put(put_product))
        .with_state(state)
}

/// Every error of the API, mapped to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Body(String),
    #[error("no product {0}")]
    NotFound(String),
    #[error("a token limited to one tenant cannot change the platform-wide catalogue")]
    TenantScoped,
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Store(store::Error::Db(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        match self {
            ApiError::Invalid(invalid) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            )
            .with_field(invalid.field),
            ApiError::Body(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", detail)
            }
            ApiError::NotFound(_) => Problem::not_found(detail),
            ApiError::TenantScoped => Problem::forbidden(detail),
            ApiError::Store(err) => {
                tracing::error!(error = %err, "catalog operator API");
                Problem::internal()
            }
        }
        .into_response()
    }
}

async fn put_product(
    operator: Operator,
    State(state): State<ApiState>,
    Path(sku): Path<String>,
    body: Result<Json<ProductSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    if operator.tenant_id.is_some() {
        return Err(ApiError::TenantScoped);
    }
    validate_sku(&sku)?;
    let Json(spec) = body.map_err(|e| ApiError::Body(e.body_text()))?;
    let spec = spec.validated()?;
    let (product, change) = store::put(&state.pool, &sku, &spec, &operator.subject).await?;
    tracing::info!(sku = %product.sku, version = product.version, ?change, operator = %operator.subject, "product put");
    let status = match change {
        Change::Created => StatusCode::CREATED,
        Change::Updated | Change::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(product)))
}

async fn get_product(
    _operator: Operator,
    State(state): State<ApiState>,
    Path(sku): Path<String>,
) -> Result<Json<Product>, ApiError> {
    validate_sku(&sku)?;
    store::get(&state.pool, &sku)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(sku))
}

/// `GET /products` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Text in the SKU, name or description.
    pub q: Option<String>,
    /// The last SKU of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

async fn list_products(
    _operator: Operator,
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Body(e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Invalid {
            field: "limit".into(),
            message: format!("must be 1 to {MAX_LIMIT}"),
        }
        .into());
    }
    let text = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|t| t.chars().count() > 100) {
        return Err(Invalid {
            field: "q".into(),
            message: "must be at most 100 characters".into(),
        }
        .into());
    }
    let products = store::list(&state.pool, text, query.after.as_deref(), limit).await?;
    let next_after = (products.len() as i64 == limit)
        .then(|| products.last().map(|p| p.sku.clone()))
        .flatten();
    Ok(Json(
        json!({ "products": products, "next_after": next_after }),
    ))
}
