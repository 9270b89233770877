//! `order_refund` v1: refund some lines of a placed order.
//!
//! | step | command | completes on | fails on | undo |
//! |---|---|---|---|---|
//! | `reserve_refund` | `ReserveRefund` | `RefundReserved` | `RefundRefused` | `ReleaseRefund` |
//! | `refund_payment` | `RefundPayment` | `PaymentRefundIssued` | `PaymentRefundFailed` | pivot |
//! | `confirm_refund` | `ConfirmRefund` | `RefundConfirmed` | | forward only |
//! | `notify` | `SendNotification` | `NotificationSent` | `NotificationFailed` | forward only |
//!
//! The request names lines and quantities only; the order service prices them
//! at the prices the order was placed at and refuses more than is left.

use std::time::Duration;

use sagaflow_events::Contract;
use sagaflow_events::messages::{
    ConfirmRefund, InitiateRefund, NotificationFailed, NotificationSent, PaymentRefundFailed,
    PaymentRefundIssued, RefundConfirmed, RefundPayment, RefundRefused, RefundReleased,
    RefundReserved, ReleaseRefund, ReserveRefund, SendNotification,
};
use sagaflow_saga_engine::{
    BuildError, CommandSpec, Compensation, Definition, ResultSpec, SagaData,
};
use serde_json::Value;

use crate::data::{self, payload};
use crate::names::*;
use crate::notify;
use crate::policy::{self, COMPENSATION_RETRY, STEP_TIMEOUT};

/// `order_refund` v1 with the default step timeout.
pub fn definition() -> Definition {
    definition_with_timeout(STEP_TIMEOUT)
}

/// `order_refund` v1 with every step's timeout set to `step_timeout`.
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
        name: REFUND,
        version: 1,
        steps: vec![
            step(
                RESERVE_REFUND,
                CommandSpec {
                    message_type: ReserveRefund::MESSAGE_TYPE,
                    topic: ReserveRefund::TOPIC,
                    build: reserve_refund,
                },
                &[RefundReserved::MESSAGE_TYPE],
                &[RefundRefused::MESSAGE_TYPE],
                Compensation::Command {
                    command: CommandSpec {
                        message_type: ReleaseRefund::MESSAGE_TYPE,
                        topic: ReleaseRefund::TOPIC,
                        build: release_refund,
                    },
                    completes_on: &[RefundReleased::MESSAGE_TYPE],
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
                CONFIRM_REFUND,
                CommandSpec {
                    message_type: ConfirmRefund::MESSAGE_TYPE,
                    topic: ConfirmRefund::TOPIC,
                    build: confirm_refund,
                },
                &[RefundConfirmed::MESSAGE_TYPE],
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

fn start(data: &SagaData) -> Result<InitiateRefund, BuildError> {
    data.input_as()
}

/// `ReserveRefund`: lines and quantities only; the order prices them.
pub fn reserve_refund(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    payload(&ReserveRefund {
        saga_id: data.saga_id,
        order_id: start.order_id,
        customer_id: start.user_id,
        lines: start.lines,
        reason: start.reason,
    })
}

/// `ReleaseRefund`: the payment refund was refused; the lines are refundable again.
pub fn release_refund(data: &SagaData) -> Result<Value, BuildError> {
    payload(&ReleaseRefund {
        saga_id: data.saga_id,
        reason: "order refund compensating: the refund did not go through".to_owned(),
    })
}

/// `RefundPayment` of the amount the order service reserved.
pub fn refund_payment(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    let reserved: RefundReserved = data.result_as(RESERVE_REFUND)?;
    payload(&RefundPayment {
        saga_id: data.saga_id,
        payment_id: reserved.payment_id,
        amount_minor: reserved.amount_minor,
        currency: reserved.currency,
        reason: start.reason,
    })
}

/// `ConfirmRefund`: the money moved; the refund is final on the order.
pub fn confirm_refund(data: &SagaData) -> Result<Value, BuildError> {
    let issued: PaymentRefundIssued = data.result_as(REFUND_PAYMENT)?;
    payload(&ConfirmRefund {
        saga_id: data.saga_id,
        reason: format!("payment refund {}", issued.refund_id),
    })
}

/// The customer's e-mail: which lines and how much.
pub fn notify_customer(data: &SagaData) -> Result<Value, BuildError> {
    let start = start(data)?;
    let reserved: RefundReserved = data.result_as(RESERVE_REFUND)?;
    let lines: Vec<String> = reserved
        .items
        .iter()
        .map(|i| format!("{} x {}", i.quantity, i.sku))
        .collect();
    let body = format!(
        "We refunded {} for {} of your order {}.",
        notify::money(reserved.amount_minor, &reserved.currency),
        lines.join(", "),
        start.order_id
    );
    payload(&notify::email(
        data.saga_id,
        &start.user_id,
        &start.customer_email,
        "Your refund is on its way",
        body,
    ))
}

fn user(data: &SagaData) -> Option<String> {
    start(data).ok().map(|start| start.user_id)
}
