//! The operator API (every route but `/healthz` needs an operator token):
//! - `PUT /discounts/{code}` creates or replaces a code: `{"percent_off": 15}` or
//!   `{"amount_minor": 500, "currency": "EUR"}`, plus optional `active` (default
//!   true) and `expires_at` (RFC 3339); 200 with the stored code.
//! - `GET /discounts`: every code. `GET /tax-rates`: the rate table.
//!
//! Errors are RFC 9457 problems ([`sagaflow_problem::Problem`],
//! `application/problem+json`): bad input is 422 `validation_failed` (with `field`)
//! or `invalid_body`; no or an invalid token 401 `unauthenticated`, a token
//! without the operator role 403 `forbidden`. Codes and rates are platform-wide, so a token
//! limited to one tenant may read but not change them (403).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use sagaflow_problem::Problem;
use sagaflow_service_auth::{Operator, OperatorVerifier};
use serde_json::json;
use sqlx::PgPool;

use crate::discounts::{self, DiscountSpec, Invalid};
use crate::tax;

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
        .route("/discounts", get(list_discounts))
        .route("/discounts/{code}", put(put_discount))
        .route("/tax-rates", get(list_tax_rates))
        .with_state(state)
}

/// Every error of the API, mapped to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Body(String),
    #[error("a token limited to one tenant cannot change platform-wide settings")]
    TenantScoped,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
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
            ApiError::TenantScoped => Problem::forbidden(detail),
            ApiError::Db(err) => {
                tracing::error!(error = %err, "pricing operator API");
                Problem::internal()
            }
        }
        .into_response()
    }
}

async fn put_discount(
    operator: Operator,
    State(state): State<ApiState>,
    Path(code): Path<String>,
    body: Result<Json<DiscountSpec>, JsonRejection>,
) -> Result<Json<discounts::DiscountCode>, ApiError> {
    if operator.tenant_id.is_some() {
        return Err(ApiError::TenantScoped);
    }
    let code = discounts::normalize_code(&code)?;
    let Json(spec) = body.map_err(|e| ApiError::Body(e.body_text()))?;
    spec.validate()?;
    let stored = discounts::upsert(&state.pool, &code, &spec, &operator.subject).await?;
    tracing::info!(code = %stored.code, operator = %operator.subject, "discount code changed");
    Ok(Json(stored))
}

async fn list_discounts(
    _operator: Operator,
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let codes = discounts::list(&state.pool).await?;
    Ok(Json(json!({ "discounts": codes })))
}

async fn list_tax_rates(
    _operator: Operator,
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rates = tax::list(&state.pool).await?;
    Ok(Json(json!({ "tax_rates": rates })))
}
