//! One build function per command: saga data in, wire payload out.

use serde_json::{Value, json};
use uuid::Uuid;

use sagaflow_saga_engine::{BuildError, SagaData};

use crate::input::{Created, Paid, Priced, input};
use crate::steps;

/// `ReserveInventory {saga_id, items: [{sku, quantity}]}`.
pub fn reserve_inventory(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    Ok(json!({ "saga_id": data.saga_id, "items": lines(&input.items) }))
}

/// `ReleaseInventory {saga_id, reason}`.
pub fn release_inventory(data: &SagaData) -> Result<Value, BuildError> {
    Ok(json!({ "saga_id": data.saga_id, "reason": compensation_reason() }))
}

/// `PriceOrder {saga_id, items: [{sku, quantity}], currency, discount_code,
/// shipping_country}` (v2): no prices; the pricing service owns them.
pub fn price_order(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    Ok(json!({
        "saga_id": data.saga_id,
        "items": lines(&input.items),
        "currency": input.currency,
        "discount_code": input.discount_code,
        "shipping_country": input.shipping_country,
    }))
}

/// `ProcessPayment {saga_id, customer_id, amount_minor, currency, payment_method}`,
/// charging `OrderPriced.total_minor`.
pub fn process_payment(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let priced = priced(data, &input.currency)?;
    Ok(json!({
        "saga_id": data.saga_id,
        "customer_id": input.user_id,
        "amount_minor": priced.total_minor,
        "currency": input.currency,
        "payment_method": input.payment_method,
    }))
}

/// `CompensatePayment {saga_id, reason}`.
pub fn compensate_payment(data: &SagaData) -> Result<Value, BuildError> {
    Ok(json!({ "saga_id": data.saga_id, "reason": compensation_reason() }))
}

/// `CreateOrder {saga_id, customer_id, items, total_minor, currency, payment_id}`
/// with the priced lines of `OrderPriced` (never a client's price).
pub fn create_order(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let priced = priced(data, &input.currency)?;
    if priced.lines.is_empty() {
        return Err(BuildError::InvalidResult {
            step: steps::PRICE_ORDER.to_owned(),
            reason: "OrderPriced carries no priced lines".to_owned(),
        });
    }
    let paid: Paid = data.result_as(steps::TAKE_PAYMENT)?;
    let items: Vec<Value> = priced
        .lines
        .iter()
        .map(|l| json!({ "sku": l.sku, "quantity": l.quantity, "unit_price_minor": l.unit_price_minor }))
        .collect();
    Ok(json!({
        "saga_id": data.saga_id,
        "customer_id": input.user_id,
        "items": items,
        "total_minor": priced.total_minor,
        "currency": input.currency,
        "payment_id": paid.payment_id,
    }))
}

/// `ClearCart {saga_id, cart_id, user_id, items}` (v2): the lines bought leave
/// the cart; lines added meanwhile stay.
pub fn clear_cart(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    Ok(json!({
        "saga_id": data.saga_id,
        "cart_id": input.cart_id,
        "user_id": input.user_id,
        "items": lines(&input.items),
    }))
}

/// `SendNotification {notification_id, saga_id, channel, recipient, subject, body, user_id}`.
pub fn send_notification(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let created: Created = data.result_as(steps::CREATE_ORDER)?;
    Ok(json!({
        "notification_id": notification_id(data.saga_id),
        "saga_id": data.saga_id,
        "channel": "EMAIL",
        "recipient": input.customer_email,
        "subject": "Your order is confirmed",
        "body": format!("Thank you! Your order {} has been placed.", created.order_id),
        "user_id": input.user_id,
    }))
}

/// Deterministic notification id: UUIDv5 of the saga id and `"notify"`, so a
/// re-sent command is deduplicated by the notification service.
pub fn notification_id(saga_id: Uuid) -> Uuid {
    Uuid::new_v5(&saga_id, b"notify")
}

fn compensation_reason() -> &'static str {
    "checkout saga compensating"
}

/// `[{sku, quantity}]`: the input's lines, without prices.
fn lines(items: &[crate::input::Item]) -> Vec<Value> {
    items
        .iter()
        .map(|i| json!({ "sku": i.sku, "quantity": i.quantity }))
        .collect()
}

/// `OrderPriced`, checked to be in the checkout's currency.
fn priced(data: &SagaData, currency: &str) -> Result<Priced, BuildError> {
    let priced: Priced = data.result_as(steps::PRICE_ORDER)?;
    if priced.currency != currency {
        return Err(BuildError::InvalidResult {
            step: steps::PRICE_ORDER.to_owned(),
            reason: format!(
                "priced in {} but the checkout is in {currency}",
                priced.currency
            ),
        });
    }
    Ok(priced)
}
