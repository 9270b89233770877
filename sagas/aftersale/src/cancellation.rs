//! `order_cancellation` v1: cancel a placed order, refund what is left of its
//! payment, return its stock, notify the customer.
//!
//! | step | command | completes on | fails on | undo |
//! |---|---|---|---|---|
//! | `cancel_order` | `CancelPlacedOrder` | `PlacedOrderCancelled` | `OrderCancellationRefused` | `ReinstateOrder` |
//! | `refund_payment` | `RefundPayment` | `PaymentRefundIssued` | `PaymentRefundFailed` | pivot |
//! | `restock` | `RestockOrder` | `InventoryRestocked` | | forward only |
//! | `notify` | `SendNotification` | `NotificationSent` | `NotificationFailed` | forward only |

use std::time::Duration;

use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CancelPlacedOrder, InitiateOrderCancellation, InventoryRestocked, NotificationFailed,
    NotificationSent, OrderCancellationRefused, OrderReinstated, PaymentRefundFailed,
    PaymentRefundIssued, PlacedOrderCancelled, RefundPayment, ReinstateOrder, RestockOrder,
    SendNotification,
};
use sagaflow_saga_engine::{
    BuildError, CommandSpec, Compensation, Definition, ResultSpec, SagaData,
};
use serde_json::Value;

use crate::data::{self, payload};
use crate::names::*;
use crate::notify;
use crate::policy::{self, COMPENSATION_RETRY, STEP_TIMEOUT};

/// `order_cancellation` v1 with the default step timeout.
pub fn definition() -> Definition {
    definition_with_timeout(STEP_TIMEOUT)
}

/// `order_cancellation` v1 with every step's timeout set to `step_timeout`.
pub fn definition_with_timeout(step_timeout: Duration) -> Definition {
    let step = |name, command, completes_on, fails_on, compensation| {
        policy::step(
            name,
            command,
            completes_on,
            fails_on,
            compensation,
            step_timeout,
        )
    };
    Definition {
        name: CANCELLATION,
        version: 1,
        steps: vec![
            step(
                CANCEL_ORDER,
                CommandSpec {
                    message_type: CancelPlacedOrder::MESSAGE_TYPE,
                    topic: CancelPlacedOrder::TOPIC,
                    build: cancel_order,
                },
                &[PlacedOrderCancelled::MESSAGE_TYPE],
                &[OrderCancellationRefused::MESSAGE_TYPE],
                Compensation::Command {
                    command: CommandSpec {
                        message_type: ReinstateOrder::MESSAGE_TYPE,
                        topic: ReinstateOrder::TOPIC,
                        build: reinstate_order,
                    },
                    completes_on: &[OrderReinstated::MESSAGE_TYPE],
                },
            ),
            step(
                REFUND_PAYMENT,
                CommandSpec {
                    message_type: RefundPayment::MESSAGE_TYPE,
                    topic: RefundPayment::TOPIC,
                    build: refund_payment,
                },
                &[PaymentRefundIssued::MESSAGE_TYPE],
                &[PaymentRefundFailed::MESSAGE_TYPE],
                Compensation::Pivot,
            ),
            step(
                RESTOCK,
                CommandSpec {
                    message_type: RestockOrder::MESSAGE_TYPE,
                    topic: RestockOrder::TOPIC,
                    build: restock,
                },
                &[InventoryRestocked::MESSAGE_TYPE],
                &[],
                Compensation::NotNeeded {
                    reason: "after the pivot; retried forward",
                },
            ),
            step(
                NOTIFY,
                CommandSpec {
                    message_type: SendNotification::MESSAGE_TYPE,
                    topic: SendNotification::TOPIC,
                    build: notify_customer,
                },
                &[NotificationSent::MESSAGE_TYPE],
                &[NotificationFailed::MESSAGE_TYPE],
                Compensation::NotNeeded {
                    reason: "after the pivot; retried forward",
                },
            ),
        ],
        compensation_retry: COMPENSATION_RETRY,
        result: Some(ResultSpec {
            name: RESULT_REFUND_ID,
            read: data::refund_id,
        }),
        user: Some(user),
    }
}

fn start(data: &SagaData) -> Result<InitiateOrderCancellation, BuildError> {
    data.input_as()
}

fn cancelled(data: &SagaData) -> Result<PlacedOrderCancelled, BuildError> {
    data.result_as(CANCEL_ORDER)
}

/// `CancelPlacedOrder`: the order and its customer from the saga input (the
/// gateway took the user from the token).
pub fn cancel_order(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    payload(&CancelPlacedOrder {
        saga_id: data.saga_id,
        order_id: start.order_id,
        customer_id: start.user_id,
        reason: start.reason,
    })
}

/// `ReinstateOrder`: the refund was refused, the order stands.
pub fn reinstate_order(data: &SagaData) -> Result<Value, BuildError> {
    payload(&ReinstateOrder {
        saga_id: data.saga_id,
        reason: "order cancellation compensating: the refund did not go through".to_owned(),
    })
}

/// `RefundPayment` of what the order service says is left to refund.
pub fn refund_payment(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    let cancelled = cancelled(data)?;
    payload(&RefundPayment {
        saga_id: data.saga_id,
        payment_id: cancelled.payment_id,
        amount_minor: cancelled.refund_minor,
        currency: cancelled.currency,
        reason: start.reason,
    })
}

/// `RestockOrder` of the checkout saga that placed the order.
pub fn restock(data: &SagaData) -> Result<Value, BuildError> {
    let cancelled = cancelled(data)?;
    payload(&RestockOrder {
        saga_id: data.saga_id,
        checkout_saga_id: cancelled.checkout_saga_id,
        reason: "order cancelled".to_owned(),
    })
}

/// The customer's e-mail: the order is cancelled and how much comes back.
pub fn notify_customer(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    let refunded: PaymentRefundIssued = data.result_as(REFUND_PAYMENT)?;
    let body = format!(
        "Your order {} is cancelled. {} is on its way back to you.",
        start.order_id,
        notify::money(refunded.amount_minor, &refunded.currency)
    );
    payload(&notify::email(
        data.saga_id,
        &start.user_id,
        &start.customer_email,
        "Your order is cancelled",
        body,
    ))
}

fn user(data: &SagaData) -> Option<String> {
    start(data).ok().map(|start| start.user_id)
}
