//! One build function per command: saga data in, the typed command of
//! `sagaflow_events::messages` out, as the JSON payload the driver encodes.

use serde_json::Value;
use uuid::Uuid;

use sagaflow_events::messages::{
    Channel, ClearCart, CompensatePayment, CreateOrder, OrderCreated, OrderLine, OrderPriced,
    PaymentProcessed, PriceOrder, ProcessPayment, ReleaseInventory, ReserveInventory,
    SendNotification, StockItem,
};
use sagaflow_saga_engine::{BuildError, SagaData, payload};

use crate::input::{Item, input};
use crate::steps;

/// `ReserveInventory {saga_id, items: [{sku, quantity}]}`.
pub fn reserve_inventory(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let items = lines(&input.items)?
        .into_iter()
        .map(|l| StockItem {
            sku: l.sku,
            quantity: l.quantity,
        })
        .collect();
    payload(&ReserveInventory {
        saga_id: data.saga_id,
        items,
    })
}

/// `ReleaseInventory {saga_id, reason}`.
pub fn release_inventory(data: &SagaData) -> Result<Value, BuildError> {
    payload(&ReleaseInventory {
        saga_id: data.saga_id,
        reason: compensation_reason(),
    })
}

/// `PriceOrder {saga_id, items: [{sku, quantity}], currency, discount_code,
/// shipping_country}` (v2): no prices; the pricing service owns them.
pub fn price_order(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    payload(&PriceOrder {
        saga_id: data.saga_id,
        items: lines(&input.items)?,
        currency: input.currency,
        discount_code: input.discount_code,
        shipping_country: input.shipping_country,
    })
}

/// `ProcessPayment {saga_id, customer_id, amount_minor, currency, payment_method}`,
/// charging `OrderPriced.total_minor`.
pub fn process_payment(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let priced = priced(data, &input.currency)?;
    payload(&ProcessPayment {
        saga_id: data.saga_id,
        customer_id: input.user_id,
        amount_minor: priced.total_minor,
        currency: input.currency,
        payment_method: input.payment_method,
    })
}

/// `CompensatePayment {saga_id, reason}`.
pub fn compensate_payment(data: &SagaData) -> Result<Value, BuildError> {
    payload(&CompensatePayment {
        saga_id: data.saga_id,
        reason: compensation_reason(),
    })
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
    let paid: PaymentProcessed = data.result_as(steps::TAKE_PAYMENT)?;
    payload(&CreateOrder {
        saga_id: data.saga_id,
        customer_id: input.user_id,
        items: priced.lines,
        total_minor: priced.total_minor,
        currency: input.currency,
        payment_id: paid.payment_id,
    })
}

/// `ClearCart {saga_id, cart_id, user_id, items}` (v2): the lines bought leave
/// the cart; lines added meanwhile stay.
pub fn clear_cart(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    payload(&ClearCart {
        saga_id: data.saga_id,
        cart_id: input.cart_id,
        user_id: input.user_id,
        items: lines(&input.items)?,
    })
}

/// `SendNotification {notification_id, saga_id, channel, recipient, subject, body, user_id}`.
pub fn send_notification(data: &SagaData) -> Result<Value, BuildError> {
    let input = input(data)?;
    let created: OrderCreated = data.result_as(steps::CREATE_ORDER)?;
    payload(&SendNotification {
        notification_id: notification_id(data.saga_id),
        saga_id: Some(data.saga_id),
        channel: Channel::Email,
        recipient: input.customer_email,
        subject: "Your order is confirmed".to_owned(),
        body: format!(
            "Thank you! Your order {} has been placed.",
            created.order_id
        ),
        user_id: Some(input.user_id),
    })
}

/// Deterministic notification id: UUIDv5 of the saga id and `"notify"`, so a
/// re-sent command is deduplicated by the notification service.
pub fn notification_id(saga_id: Uuid) -> Uuid {
    Uuid::new_v5(&saga_id, b"notify")
}

fn compensation_reason() -> String {
    "checkout saga compensating".to_owned()
}

/// `[{sku, quantity}]`: the input's lines, without prices.
fn lines(items: &[Item]) -> Result<Vec<OrderLine>, BuildError> {
    items
        .iter()
        .map(|i| {
            Ok(OrderLine {
                sku: i.sku.clone(),
                quantity: quantity(i)?,
            })
        })
        .collect()
}

/// The line's quantity as the contracts carry it (an Avro `int`).
fn quantity(item: &Item) -> Result<i32, BuildError> {
    i32::try_from(item.quantity).map_err(|_| {
        BuildError::InvalidInput(format!(
            "quantity {} of {} is out of range",
            item.quantity, item.sku
        ))
    })
}

/// `OrderPriced`, checked to be in the checkout's currency.
fn priced(data: &SagaData, currency: &str) -> Result<OrderPriced, BuildError> {
    let priced: OrderPriced = data.result_as(steps::PRICE_ORDER)?;
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
