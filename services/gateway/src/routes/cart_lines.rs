//! The lines of a caller's cart, for `POST /v1/checkouts` by `cart_id`: a
//! server-side `GET /carts/{id}` to the cart service through [`proxy::send`], so
//! it carries the caller's verified identity (the internal token the proxy signs
//! for every backend call) exactly as a forwarded request would.
//!
//! Only `sku` and `quantity` are read from each line; any price the cart service
//! still sends is ignored (prices come from the catalogue). An unknown cart, a cart
//! of someone else and an empty cart are 422 on `cart_id`; the cart service being
//! down is 503 / 502 as for the forwarded routes.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use serde::Deserialize;
use uuid::Uuid;

use super::checkout_request::{Item, limits};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::proxy::{self, Forward, Upstream};

/// The part of the cart service's `GET /carts/{id}` answer read here.
#[derive(Debug, Deserialize)]
struct Cart {
    #[serde(default)]
    items: Vec<Line>,
}

#[derive(Debug, Deserialize)]
struct Line {
    sku: String,
    quantity: i64,
}

/// The lines of cart `cart_id` of `caller`.
pub async fn lines(
    state: &AppState,
    caller: &Caller,
    cart_id: Uuid,
) -> Result<Vec<Item>, ApiError> {
    let headers = HeaderMap::new();
    let response = proxy::send(
        &state.http,
        &state.settings,
        state.signer.as_ref(),
        caller,
        Forward {
            upstream: Upstream::Cart,
            method: Method::GET,
            path: format!("/carts/{cart_id}"),
            query: None,
            headers: &headers,
            body: Bytes::new(),
        },
    )
    .await?;
    let status = response.status();
    if matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
        return Err(ApiError::validation(
            "cart_id",
            "no such cart of yours; put items in it first",
        ));
    }
    let upstream = Upstream::Cart.label();
    if !status.is_success() {
        tracing::warn!(%status, %cart_id, "the cart service refused the cart read");
        return Err(ApiError::BadGateway(upstream));
    }
    let body = axum::body::to_bytes(response.into_body(), proxy::MAX_RESPONSE_BYTES)
        .await
        .map_err(|_| ApiError::BadGateway(upstream))?;
    let cart: Cart = serde_json::from_slice(&body).map_err(|err| {
        tracing::warn!(error = %err, %cart_id, "the cart service's answer is unreadable");
        ApiError::BadGateway(upstream)
    })?;
    to_items(cart)
}

/// The cart's lines as checkout lines, within the request's limits.
fn to_items(cart: Cart) -> Result<Vec<Item>, ApiError> {
    if cart.items.is_empty() {
        return Err(ApiError::validation(
            "cart_id",
            "the cart is empty; put items in it first",
        ));
    }
    if cart.items.len() > limits::MAX_ITEMS {
        return Err(ApiError::validation(
            "cart_id",
            format!("the cart holds more than {} lines", limits::MAX_ITEMS),
        ));
    }
    cart.items
        .into_iter()
        .map(|line| {
            let quantity = i32::try_from(line.quantity)
                .ok()
                .filter(|q| (1..=limits::MAX_QUANTITY).contains(&i64::from(*q)))
                .ok_or_else(|| {
                    ApiError::validation(
                        "cart_id",
                        format!(
                            "the cart's line {} has quantity {}; 1 to {} can be checked out",
                            line.sku,
                            line.quantity,
                            limits::MAX_QUANTITY
                        ),
                    )
                })?;
            Ok(Item {
                sku: line.sku,
                quantity,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart(json: &str) -> Cart {
        serde_json::from_str(json).expect("cart")
    }

    #[test]
    fn prices_in_the_cart_are_ignored() {
        let items = to_items(cart(
            r#"{"cart_id":"x","items":[{"sku":"MUG-BLUE","quantity":2,"unit_price_minor":1}],"total_minor":2}"#,
        ))
        .expect("lines");
        assert_eq!(
            items,
            vec![Item {
                sku: "MUG-BLUE".into(),
                quantity: 2
            }]
        );
    }

    #[test]
    fn empty_and_oversized_carts_are_refused_on_cart_id() {
        for json in [
            r#"{"items":[]}"#,
            r#"{}"#,
            r#"{"items":[{"sku":"A","quantity":0}]}"#,
            r#"{"items":[{"sku":"A","quantity":5000}]}"#,
        ] {
            match to_items(cart(json)) {
                Err(ApiError::Validation { field, .. }) => assert_eq!(field, "cart_id", "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
