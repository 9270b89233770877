//! The order read API (served by the caller, see `sagaflow serve order`):
//!
//! Customers, through the gateway ([`router`]; whoever serves it wraps it in
//! `sagaflow_service_auth::internal::guard` with audience `order`, so a request
//! without the gateway's internal token is a 401 `unauthenticated` problem). The caller's
//! tenant and user are the token's ([`InternalCaller`]), never a header or a
//! parameter:
//! - `GET /orders?limit=&before=` → 200 `{"orders": [Order], "next_before": uuid | null}`,
//!   the caller's orders newest first; `limit` 1..=200 (default 50); `before` is
//!   the `next_before` of the previous page.
//! - `GET /orders/{order_id}` → 200 `Order`; 404 `not_found` ("order `<id>` not found")
//!   for an order that is not the caller's, as for one that does not exist.
//!
//! Operators ([`operator_router`], served beside the guarded router, not behind
//! it: the operator token is the request's bearer token):
//! - `GET /operator/orders?tenant_id=&user_id=&status=&limit=&before=` → 200
//!   `{"orders": [Order + {"tenant_id", "user_id"}], "next_before"}`. `tenant_id`
//!   is required unless the token is limited to a tenant (then it is that tenant,
//!   and another is 403); `user_id` and `status` (`created` | `cancelled`) narrow
//!   it. No or an invalid operator token is 401, one without the `operator` role
//!   403.
//!
//! `Order` is `{"order_id", "status" (created|cancelled), "total_minor",
//! "refunded_minor" (confirmed refunds), "currency", "items": [{"sku",
//! "quantity", "unit_price_minor"}], "created_at" (RFC 3339), "refunds":
//! [{"refund_id" (the refund saga), "status" (reserved|released|confirmed),
//! "amount_minor", "items", "created_at"}], "cancelled_by" (saga id | null)}`.
//! Errors are RFC 9457 problems ([`sagaflow_problem::Problem`],
//! `application/problem+json`, `{"type", "title", "status", "detail", "code"}`):
//! bad parameters are 400 `invalid_parameter`, a foreign tenant 403 `forbidden`,
//! a database failure 500 `internal` (its cause logged, not sent).

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sagaflow_problem::Problem;
use sagaflow_service_auth::{InternalCaller, Operator, OperatorVerifier};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::aftersale::not_found;
use crate::read::{self, DEFAULT_LIMIT, Filter, MAX_LIMIT, OrderView, OwnedOrder, STATUSES};

/// The customer routes, on `pool` (wrap them in `internal::guard`).
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/orders", get(list_orders))
        .route("/orders/{order_id}", get(get_order))
        .with_state(pool)
}

/// What the operator routes share.
#[derive(Clone)]
pub struct OperatorState {
    pub pool: PgPool,
    pub operators: OperatorVerifier,
}

impl FromRef<OperatorState> for OperatorVerifier {
    fn from_ref(state: &OperatorState) -> Self {
        state.operators.clone()
    }
}

/// The operator routes (their own authentication: the [`Operator`] extractor).
pub fn operator_router(pool: PgPool, operators: OperatorVerifier) -> Router {
    Router::new()
        .route("/operator/orders", get(operator_orders))
        .with_state(OperatorState { pool, operators })
}

/// Every error of the API, mapped to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("{}", not_found(*.0))]
    NotFound(Uuid),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        match self {
            ApiError::Invalid(_) => Problem::bad_request("invalid_parameter", detail),
            ApiError::NotFound(_) => Problem::not_found(detail),
            ApiError::Forbidden(_) => Problem::forbidden(detail),
            ApiError::Database(err) => {
                tracing::error!(error = %err, "order read API");
                Problem::internal()
            }
        }
        .into_response()
    }
}

/// A page of orders.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub orders: Vec<T>,
    /// `before` of the next page; `null` on the last.
    pub next_before: Option<Uuid>,
}

/// Query of `GET /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub before: Option<Uuid>,
}

/// Query of `GET /operator/orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorQuery {
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub before: Option<Uuid>,
}

fn limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit must be 1..={MAX_LIMIT}, not {limit}"
        )));
    }
    Ok(limit)
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|rejection| ApiError::Invalid(rejection.body_text()))
}

/// Reads one more than `filter.limit` to know whether a next page exists.
async fn page(pool: &PgPool, mut filter: Filter<'_>) -> Result<Page<OwnedOrder>, ApiError> {
    let limit = filter.limit;
    filter.limit = limit + 1;
    let mut orders = read::orders(pool, &filter).await?;
    let more = orders.len() as i64 > limit;
    orders.truncate(usize::try_from(limit).unwrap_or_default());
    let next_before = more
        .then(|| orders.last().map(|o| o.order.order_id))
        .flatten();
    Ok(Page {
        orders,
        next_before,
    })
}

async fn list_orders(
    State(pool): State<PgPool>,
    caller: InternalCaller,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<OrderView>>, ApiError> {
    let params = query(params)?;
    let filter = Filter {
        tenant_id: &caller.tenant_id,
        user_id: Some(&caller.user_id),
        order_id: None,
        status: None,
        before: params.before,
        limit: limit(params.limit)?,
    };
    let page = page(&pool, filter).await?;
    Ok(Json(Page {
        orders: page.orders.into_iter().map(|o| o.order).collect(),
        next_before: page.next_before,
    }))
}

async fn get_order(
    State(pool): State<PgPool>,
    caller: InternalCaller,
    Path(order_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order_id = Uuid::parse_str(&order_id)
        .map_err(|_| ApiError::Invalid(format!("`{order_id}` is not an order id (UUID)")))?;
    read::order(&pool, &caller.tenant_id, &caller.user_id, order_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(order_id))
}

async fn operator_orders(
    operator: Operator,
    State(state): State<OperatorState>,
    params: Result<Query<OperatorQuery>, QueryRejection>,
) -> Result<Json<Page<OwnedOrder>>, ApiError> {
    let params = query(params)?;
    let tenant_id = match (&operator.tenant_id, &params.tenant_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::Forbidden(format!(
                "this operator token is limited to tenant {own}"
            )));
        }
        (_, Some(asked)) => asked.clone(),
        (Some(own), None) => own.clone(),
        (None, None) => {
            return Err(ApiError::Invalid("tenant_id is required".to_owned()));
        }
    };
    let unknown_status = params.status.as_deref().filter(|s| !STATUSES.contains(s));
    if let Some(status) = unknown_status {
        return Err(ApiError::Invalid(format!(
            "status must be one of {}, not {status}",
            STATUSES.join(", ")
        )));
    }
    let filter = Filter {
        tenant_id: &tenant_id,
        user_id: params.user_id.as_deref(),
        order_id: None,
        status: params.status.as_deref(),
        before: params.before,
        limit: limit(params.limit)?,
    };
    tracing::info!(operator = %operator.subject, tenant = %tenant_id, "operator order view");
    Ok(Json(page(&state.pool, filter).await?))
}
