//! After-sale changes of the caller's orders:
//!
//! - `POST /v1/orders/{id}/cancel` ([`cancel`]): cancel the order, refund what is
//!   left of it, return its stock (saga `order_cancellation`).
//! - `POST /v1/orders/{id}/refunds` ([`refund`]): refund some lines
//!   (`{lines: [{sku, quantity}], reason?}`, saga `order_refund`).
//!
//! Both take an `Idempotency-Key` (a retry with the same key and body gets the
//! first answer) and answer 202 with the change's saga id and links; its
//! progress is in `GET /v1/sagas/{id}/events` and `/stream`, and the order's state
//! (with its refunds) in `GET /v1/orders/{id}`, forwarded to the order service.
//!
//! The order must be the order of one of the caller's checkouts (same tenant
//! **and** user; anyone else's is 404, as for an order that does not exist). The
//! e-mail for the customer's notice is the checkout's, never the request's. The
//! body names no price: a refund is priced by the order service at the prices the
//! order was placed at; a price field is 422. The gateway checks what it can see
//! (the SKUs and quantities bought, a change of the same order still running:
//! 409); the order service decides the rest (what is left to refund, an order
//! already cancelled), and a refusal ends the saga `compensated` with its reason.
//!
//! One transaction: the idempotency row, the `order_changes` row and an outbox
//! row with `InitiateOrderCancellation` / `InitiateRefund` (topic
//! `orchestrator.commands`, key and saga id = the change id, tenant = the
//! caller's).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{InitiateOrderCancellation, InitiateRefund, OrderLine};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, Row};
use tracing::info;
use utoipa::ToSchema;
use uuid::Uuid;

use super::checkout_request::{Item, lines, priceless_object, text};
use super::progress::TERMINAL;
use super::{ApiPath, Caller, IDEMPOTENCY_KEY, header, path_id, read_body};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::idempotency::{self, Scope, Started};

/// Longest `reason`.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason when the request gives none.
const NO_REASON: &str = "requested by the customer";

/// The body of `POST /v1/orders/{id}/cancel` (optional: an empty body is `{}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CancelRequest {
    /// Why (1 to 500 characters), shown to the customer and operators.
    pub reason: Option<String>,
}

/// The body of `POST /v1/orders/{id}/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RefundRequest {
    /// The lines to refund: `{sku, quantity}`, no prices.
    pub lines: Vec<Item>,
    /// Why (1 to 500 characters).
    pub reason: Option<String>,
}

/// A body as a JSON object (`{}` when empty); a price field anywhere is 422.
fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    priceless_object(body)
}

fn reason(object: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match object.get("reason") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => text(value, "reason", MAX_REASON_CHARS).map(Some),
    }
}

impl CancelRequest {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        Ok(Self {
            reason: reason(&object(body)?)?,
        })
    }
}

impl RefundRequest {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let object = object(body)?;
        Ok(Self {
            lines: lines(&object, "lines")?,
            reason: reason(&object)?,
        })
    }
}

/// The links of an order change.
pub fn change_links(order_id: Uuid, saga_id: Uuid) -> Value {
    json!({
        "order": format!("/v1/orders/{order_id}"),
        "events": format!("/v1/sagas/{saga_id}/events"),
        "stream": format!("/v1/sagas/{saga_id}/stream"),
    })
}

/// The caller's checkout that placed `order_id`.
struct Placed {
    checkout_id: Uuid,
    customer_email: String,
    /// Quantity bought per SKU.
    bought: BTreeMap<String, i64>,
}

async fn placed(
    tx: &mut PgConnection,
    caller: &Caller,
    order_id: Uuid,
) -> Result<Placed, ApiError> {
    let row = sqlx::query(
        "SELECT checkout_id, request FROM checkouts
         WHERE order_id = $1 AND tenant_id = $2 AND user_id = $3",
    )
    .bind(order_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    let request: Value = row.try_get("request")?;
    let mut bought = BTreeMap::new();
    for item in request["items"].as_array().into_iter().flatten() {
        if let (Some(sku), Some(quantity)) = (item["sku"].as_str(), item["quantity"].as_i64()) {
            *bought.entry(sku.to_owned()).or_insert(0) += quantity;
        }
    }
    Ok(Placed {
        checkout_id: row.try_get("checkout_id")?,
        customer_email: request["customer_email"].as_str().unwrap_or("").to_owned(),
        bought,
    })
}

/// 409 when a change of the order is still running or it was cancelled.
async fn settled(tx: &mut PgConnection, order_id: Uuid) -> Result<(), ApiError> {
    let running: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT saga_id, kind FROM order_changes
         WHERE order_id = $1 AND NOT (status = ANY($2)) LIMIT 1",
    )
    .bind(order_id)
    .bind(TERMINAL)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((saga_id, kind)) = running {
        return Err(ApiError::Conflict(format!(
            "a {kind} of this order is still running (saga {saga_id}); try again when it has finished"
        )));
    }
    let cancelled: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM order_changes
                        WHERE order_id = $1 AND kind = 'cancellation' AND status = 'completed')",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    if cancelled {
        return Err(ApiError::Conflict(
            "this order is already cancelled".to_owned(),
        ));
    }
    Ok(())
}

/// Each line is a SKU of the order, in no more than was bought.
fn check_lines(lines: &[Item], placed: &Placed, order_id: Uuid) -> Result<(), ApiError> {
    let mut asked: BTreeMap<&str, i64> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(bought) = placed.bought.get(&line.sku) else {
            return Err(ApiError::validation(
                format!("lines[{index}].sku"),
                format!("{} is not in order {order_id}", line.sku),
            ));
        };
        let total = asked.entry(line.sku.as_str()).or_insert(0);
        *total += i64::from(line.quantity);
        if *total > *bought {
            return Err(ApiError::validation(
                format!("lines[{index}].quantity"),
                format!("only {bought} of {} were bought", line.sku),
            ));
        }
    }
    Ok(())
}

/// What the two routes share once the body is parsed.
struct Change<'a> {
    kind: &'static str,
    order_id: Uuid,
    request: Value,
    caller: &'a Caller,
}

async fn start(
    state: &AppState,
    headers: &HeaderMap,
    change: Change<'_>,
    build: impl FnOnce(Uuid, &Placed) -> Result<Outgoing, ApiError>,
    check: impl FnOnce(&Placed) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let key = header(headers, IDEMPOTENCY_KEY)?.ok_or(ApiError::MissingHeader(IDEMPOTENCY_KEY))?;
    let operation = format!("POST /v1/orders/{{id}}/{}", change.kind);
    let hash = idempotency::fingerprint(
        &operation,
        &json!({ "order_id": change.order_id, "request": change.request }),
    )?;
    let scope = Scope {
        tenant_id: &change.caller.tenant_id,
        user_id: &change.caller.user_id,
        key,
    };
    let counter = |result: &'static str| {
        metrics::counter!("sagaflow_gateway_order_changes_total", "kind" => change.kind, "result" => result)
            .increment(1);
    };
    let mut tx =
        match idempotency::start(&state.pool, scope, &hash, state.settings.idempotency_ttl())
            .await?
        {
            Started::New(tx) => tx,
            Started::Replay { status, body } => {
                counter("replayed");
                return Ok((status, Json(body)).into_response());
            }
        };
    let checked = async {
        let placed = placed(&mut tx, change.caller, change.order_id).await?;
        check(&placed)?;
        settled(&mut tx, change.order_id).await?;
        Ok::<_, ApiError>(placed)
    }
    .await;
    let placed = match checked {
        Ok(placed) => placed,
        Err(err) => {
            // Now, so that the key is free for a corrected retry.
            let _ = tx.rollback().await;
            counter("refused");
            return Err(err);
        }
    };
    let saga_id = Uuid::now_v7();
    let message = build(saga_id, &placed)?;
    sqlx::query(
        "INSERT INTO order_changes (saga_id, tenant_id, user_id, order_id, checkout_id, kind, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(saga_id)
    .bind(&change.caller.tenant_id)
    .bind(&change.caller.user_id)
    .bind(change.order_id)
    .bind(placed.checkout_id)
    .bind(change.kind)
    .bind(&change.request)
    .execute(&mut *tx)
    .await?;
    outbox::enqueue(&mut tx, std::slice::from_ref(&message)).await?;
    let status = StatusCode::ACCEPTED;
    let response = json!({
        "saga_id": saga_id,
        "order_id": change.order_id,
        "kind": change.kind,
        "status": super::checkouts::PENDING,
        "links": change_links(change.order_id, saga_id),
    });
    idempotency::complete(&mut tx, scope, status, &response).await?;
    tx.commit().await?;
    counter("started");
    info!(%saga_id, order_id = %change.order_id, kind = change.kind, tenant_id = %change.caller.tenant_id, "order change started");
    Ok((status, Json(response)).into_response())
}

/// `POST /v1/orders/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/cancel",
    operation_id = "cancel_order",
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The order id (a checkout's `order_id`)"),
        ("Idempotency-Key" = String, Header, description = "1 to 128 printable ASCII characters; a retry with the same key and body gets the same answer"),
    ),
    request_body(content = CancelRequest, description = "Optional `{reason}`."),
    responses(
        (status = 202, description = "Started: `{saga_id, order_id, kind, status, links}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "A change of the order is running, or it is already cancelled", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let order_id = path_id("id", &id)?;
    let body = read_body(body, state.settings.max_body())?;
    let request = CancelRequest::parse(&body)?;
    let reason = request
        .reason
        .clone()
        .unwrap_or_else(|| NO_REASON.to_owned());
    let stored = serde_json::to_value(&request).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tenant = caller.tenant_id.clone();
    let user = caller.user_id.clone();
    start(
        &state,
        &headers,
        Change {
            kind: "cancellation",
            order_id,
            request: stored,
            caller: &caller,
        },
        |saga_id, placed| {
            let command = InitiateOrderCancellation {
                cancellation_id: saga_id,
                order_id,
                user_id: user,
                customer_email: placed.customer_email.clone(),
                reason,
            };
            Ok(Outgoing::start(&tenant, &command)?)
        },
        |_| Ok(()),
    )
    .await
}

/// `POST /v1/orders/{id}/refunds`.
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/refunds",
    operation_id = "refund_order_lines",
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The order id (a checkout's `order_id`)"),
        ("Idempotency-Key" = String, Header, description = "1 to 128 printable ASCII characters; a retry with the same key and body gets the same answer"),
    ),
    request_body(content = RefundRequest, description = "`{lines: [{sku, quantity}], reason?}`: SKUs of the order, at most what was bought. No prices: the order service prices the lines at the order's prices; a price field is 422."),
    responses(
        (status = 202, description = "Started: `{saga_id, order_id, kind, status, links}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "A change of the order is running, or it is cancelled", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let order_id = path_id("id", &id)?;
    let body = read_body(body, state.settings.max_body())?;
    let request = RefundRequest::parse(&body)?;
    let reason = request
        .reason
        .clone()
        .unwrap_or_else(|| NO_REASON.to_owned());
    let stored = serde_json::to_value(&request).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tenant = caller.tenant_id.clone();
    let user = caller.user_id.clone();
    let lines: Vec<OrderLine> = request
        .lines
        .iter()
        .map(|l| OrderLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect();
    start(
        &state,
        &headers,
        Change {
            kind: "refund",
            order_id,
            request: stored,
            caller: &caller,
        },
        |saga_id, placed| {
            let command = InitiateRefund {
                refund_id: saga_id,
                order_id,
                user_id: user,
                customer_email: placed.customer_email.clone(),
                lines,
                reason,
            };
            Ok(Outgoing::start(&tenant, &command)?)
        },
        |placed| check_lines(&request.lines, placed, order_id),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::checkout_request::PRICE_REFUSED;

    fn placed(lines: &[(&str, i64)]) -> Placed {
        Placed {
            checkout_id: Uuid::nil(),
            customer_email: "a@example.test".into(),
            bought: lines.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect(),
        }
    }

    fn item(sku: &str, quantity: i32) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn refund_lines_must_be_bought_skus_within_the_quantity() {
        let order = placed(&[("SKU-1", 2), ("SKU-2", 1)]);
        assert!(check_lines(&[item("SKU-1", 2), item("SKU-2", 1)], &order, Uuid::nil()).is_ok());
        match check_lines(&[item("SKU-9", 1)], &order, Uuid::nil()) {
            Err(ApiError::Validation { field, message }) => {
                assert_eq!(field, "lines[0].sku");
                assert!(message.contains("SKU-9 is not in order"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Two lines of one SKU add up.
        match check_lines(&[item("SKU-1", 1), item("SKU-1", 2)], &order, Uuid::nil()) {
            Err(ApiError::Validation { field, message }) => {
                assert_eq!(field, "lines[1].quantity");
                assert_eq!(message, "only 2 of SKU-1 were bought");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bodies_are_checked_and_prices_refused() {
        assert_eq!(CancelRequest::parse(b"").unwrap().reason, None);
        assert_eq!(
            CancelRequest::parse(br#"{"reason": "too late"}"#)
                .unwrap()
                .reason
                .as_deref(),
            Some("too late")
        );
        assert!(matches!(
            CancelRequest::parse(b"[1]"),
            Err(ApiError::MalformedJson(_))
        ));
        match RefundRequest::parse(
            br#"{"lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 1}]}"#,
        ) {
            Err(ApiError::Validation { field, message }) => {
                assert_eq!(field, "lines[0].unit_price_minor");
                assert_eq!(message, PRICE_REFUSED);
            }
            other => panic!("{other:?}"),
        }
        match RefundRequest::parse(br#"{"lines": []}"#) {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "lines"),
            other => panic!("{other:?}"),
        }
        match RefundRequest::parse(br#"{"lines": [{"sku": "A", "quantity": 0}]}"#) {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "lines[0].quantity"),
            other => panic!("{other:?}"),
        }
    }
}
