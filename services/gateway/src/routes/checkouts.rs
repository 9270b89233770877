//! `POST /v1/checkouts` (start a checkout) and `GET /v1/checkouts/{id}` (its state
//! from the read model).
//!
//! Starting a checkout is one transaction: the idempotency row, the `checkouts`
//! row and an outbox row with `InitiateCheckout` (topic `orchestrator.commands`,
//! key and saga id = checkout id, tenant = the caller's tenant). The orchestrator
//! starts the saga with saga id = checkout id.
//!
//! The client never names a price (a body with one is 422, see
//! [`CheckoutRequest`]): the lines are `{sku, quantity}`, from the body or from
//! the caller's cart (`cart_id` without `items`: [`cart_lines`] reads it from the
//! cart service inside the idempotency key's transaction, a read and not a side
//! effect, so a retry of a finished checkout replays its answer even after the
//! cart was cleared). Every line must be a SKU the catalogue read model
//! ([`catalog`]) knows, active, with a price in the request's currency; otherwise
//! 422 naming the SKU, and nothing is stored: no checkout, no outbox row, no
//! idempotency row. The pricing step of the saga prices the lines from the
//! catalogue and adds the tax of `shipping_country`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{InitiateCheckout, OrderLine};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use tracing::info;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cart_lines;
use super::checkout_request::{CheckoutRequest, Item};
use super::{ApiPath, Caller, IDEMPOTENCY_KEY, header, path_id};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::idempotency::{self, Scope, Started};
use crate::projection::catalog::{self, Product};

/// The operation name in the idempotency fingerprint.
pub const OPERATION: &str = "POST /v1/checkouts";

/// Status of a checkout before the first saga progress event.
pub const PENDING: &str = "pending";

/// `POST /v1/checkouts`: 202 with the checkout id and its links.
#[utoipa::path(
    post,
    path = "/v1/checkouts",
    operation_id = "create_checkout",
    tag = "checkouts",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 128 printable ASCII characters; a retry with the same key and body gets the same answer")),
    request_body(content = CheckoutRequest, description = "The order: `{sku, quantity}` items, or a `cart_id` without items to buy the cart's lines. No prices: a price field is 422 (prices come from the catalogue); an unknown or inactive SKU, or one without a price in `currency`, is 422 naming it."),
    responses(
        (status = 202, description = "Started", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let key = header(&headers, IDEMPOTENCY_KEY)?.ok_or(ApiError::MissingHeader(IDEMPOTENCY_KEY))?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: state.settings.max_body(),
            }
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })?;
    let request = CheckoutRequest::parse(&body)?;
    let hash = idempotency::fingerprint(OPERATION, &request)?;
    let scope = Scope {
        tenant_id: &caller.tenant_id,
        user_id: &caller.user_id,
        key,
    };

    let started =
        idempotency::start(&state.pool, scope, &hash, state.settings.idempotency_ttl()).await?;
    let mut tx = match started {
        Started::New(tx) => tx,
        Started::Replay { status, body } => {
            metrics::counter!("sagaflow_gateway_checkouts_total", "result" => "replayed")
                .increment(1);
            return Ok((status, Json(body)).into_response());
        }
    };

    let items = match lines(&state, &caller, &request, &mut tx).await {
        Ok(items) => items,
        Err(err) => {
            // Now, not when the connection is next used: the key stays locked
            // until then and a corrected retry would get 409.
            let _ = tx.rollback().await;
            metrics::counter!("sagaflow_gateway_checkouts_total", "result" => "refused")
                .increment(1);
            return Err(err);
        }
    };

    let checkout_id = Uuid::now_v7();
    let command = InitiateCheckout {
        checkout_id,
        user_id: caller.user_id.clone(),
        cart_id: request.cart_id,
        items: items
            .iter()
            .map(|item| OrderLine {
                sku: item.sku.clone(),
                quantity: item.quantity,
            })
            .collect(),
        currency: request.currency.clone(),
        payment_method: request.payment_method.clone(),
        customer_email: request.customer_email.clone(),
        discount_code: request.discount_code.clone(),
        shipping_country: Some(request.shipping_country.clone()),
    };
    let message = Outgoing::start(&caller.tenant_id, &command)?;
    let mut stored_request = serde_json::to_value(&request)
        .map_err(|err| ApiError::Internal(format!("serialising the request: {err}")))?;
    // The lines bought, also when they came from the cart.
    stored_request["items"] = json!(items);
    sqlx::query(
        "INSERT INTO checkouts (checkout_id, tenant_id, user_id, cart_id, request, status)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(checkout_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(request.cart_id)
    .bind(&stored_request)
    .bind(PENDING)
    .execute(&mut *tx)
    .await?;
    outbox::enqueue(&mut tx, std::slice::from_ref(&message)).await?;
    let status = StatusCode::ACCEPTED;
    let response = json!({
        "checkout_id": checkout_id,
        "status": PENDING,
        "links": {
            "self": format!("/v1/checkouts/{checkout_id}"),
            "events": format!("/v1/sagas/{checkout_id}/events"),
        },
    });
    idempotency::complete(&mut tx, scope, status, &response).await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_gateway_checkouts_total", "result" => "created").increment(1);
    info!(%checkout_id, tenant_id = %caller.tenant_id, "checkout started");
    Ok((status, Json(response)).into_response())
}

/// The lines of `request` (its `items`, or its cart's), each checked against the
/// catalogue read model.
async fn lines(
    state: &AppState,
    caller: &Caller,
    request: &CheckoutRequest,
    tx: &mut sqlx::PgConnection,
) -> Result<Vec<Item>, ApiError> {
    let (items, from_cart) = match &request.items {
        Some(items) => (items.clone(), false),
        None => (
            cart_lines::lines(state, caller, request.cart_id).await?,
            true,
        ),
    };
    let skus: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
    let products = catalog::find(&mut *tx, &skus).await?;
    for (index, item) in items.iter().enumerate() {
        let field = if from_cart {
            "cart_id".to_owned()
        } else {
            format!("items[{index}].sku")
        };
        if let Some(reason) = not_buyable(products.get(&item.sku), &request.currency) {
            return Err(ApiError::validation(
                field,
                format!("SKU {} {reason}", item.sku),
            ));
        }
    }
    Ok(items)
}

/// Why a line of `product` (`None`: unknown) cannot be bought in `currency`.
fn not_buyable(product: Option<&Product>, currency: &str) -> Option<String> {
    match product {
        None => Some("is not in the catalogue".to_owned()),
        Some(p) if !p.active => Some("is not for sale (inactive in the catalogue)".to_owned()),
        Some(p) if p.price_in(currency).is_none() => {
            Some(format!("has no catalogue price in {currency}"))
        }
        Some(_) => None,
    }
}

/// One entry of a checkout's `steps`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Step {
    pub seq: i64,
    pub kind: String,
    pub step: Option<String>,
    pub status: String,
    pub at: DateTime<Utc>,
}

/// The body of `GET /v1/checkouts/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutView {
    pub checkout_id: Uuid,
    pub status: String,
    pub order_id: Option<Uuid>,
    pub steps: Vec<Step>,
    pub failure: Option<Value>,
}

/// `GET /v1/checkouts/{id}`: the caller's own checkout (another tenant's or
/// user's is 404).
#[utoipa::path(
    get,
    path = "/v1/checkouts/{id}",
    operation_id = "get_checkout",
    tag = "checkouts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The checkout id")),
    responses(
        (status = 200, body = CheckoutView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CheckoutView>, ApiError> {
    let checkout_id = path_id("id", &id)?;
    let row = sqlx::query(
        "SELECT status, order_id, failure FROM checkouts
         WHERE checkout_id = $1 AND tenant_id = $2 AND user_id = $3",
    )
    .bind(checkout_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let steps = sqlx::query(
        "SELECT seq, kind, step, status, at FROM saga_progress WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(checkout_id)
    .fetch_all(&state.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Step {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            step: row.try_get("step")?,
            status: row.try_get("status")?,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(CheckoutView {
        checkout_id,
        status: row.try_get("status")?,
        order_id: row.try_get("order_id")?,
        steps,
        failure: row.try_get("failure")?,
    }))
}
