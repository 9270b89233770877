//! The checkout saga definition.

use std::time::Duration;

use sagaflow_saga_engine::{
    CommandSpec, Compensation, Definition, ResultSpec, RetryPolicy, SagaData, Step,
};
use uuid::Uuid;

use crate::build;
use crate::input::{self, Created};
use crate::steps::*;

/// Per-attempt timeout of every step by default.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Forward steps: 3 attempts, backoff 1 s, 2 s (capped at 30 s).
pub const STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// Compensations: 5 attempts, backoff 1 s, 2 s, 4 s, 8 s (capped at 60 s).
pub const COMPENSATION_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(60),
};

/// `checkout` v1 with the default 30 s step timeout.
pub fn definition() -> Definition {
    definition_with_timeout(STEP_TIMEOUT)
}

/// `checkout` v1 with every step's timeout set to `step_timeout` (for tests).
pub fn definition_with_timeout(step_timeout: Duration) -> Definition {
    let step = |name, command, completes_on, fails_on, compensation| Step {
        name,
        command,
        completes_on,
        fails_on,
        compensation,
        timeout: step_timeout,
        retry: STEP_RETRY,
    };
    Definition {
        name: NAME,
        version: 1,
        steps: vec![
            step(
                RESERVE_INVENTORY,
                CommandSpec {
                    message_type: "ReserveInventory",
                    topic: INVENTORY_COMMANDS,
                    build: build::reserve_inventory,
                },
                &["InventoryReserved"],
                &["InventoryReservationFailed"],
                Compensation::Command {
                    command: CommandSpec {
                        message_type: "ReleaseInventory",
                        topic: INVENTORY_COMMANDS,
                        build: build::release_inventory,
                    },
                    completes_on: &["InventoryReleased"],
                },
            ),
            step(
                PRICE_ORDER,
                CommandSpec {
                    message_type: "PriceOrder",
                    topic: PRICING_COMMANDS,
                    build: build::price_order,
                },
                &["OrderPriced"],
                &["OrderPricingFailed"],
                Compensation::NotNeeded {
                    reason: "pure calculation",
                },
            ),
            step(
                TAKE_PAYMENT,
                CommandSpec {
                    message_type: "ProcessPayment",
                    topic: PAYMENT_COMMANDS,
                    build: build::process_payment,
                },
                &["PaymentProcessed"],
                &["PaymentFailed"],
                Compensation::Command {
                    command: CommandSpec {
                        message_type: "CompensatePayment",
                        topic: PAYMENT_COMMANDS,
                        build: build::compensate_payment,
                    },
                    completes_on: &["PaymentRefunded"],
                },
            ),
            step(
                CREATE_ORDER,
                CommandSpec {
                    message_type: "CreateOrder",
                    topic: ORDER_COMMANDS,
                    build: build::create_order,
                },
                &["OrderCreated"],
                &["OrderCreationFailed"],
                Compensation::Pivot,
            ),
            step(
                CLEAR_CART,
                CommandSpec {
                    message_type: "ClearCart",
                    topic: CART_COMMANDS,
                    build: build::clear_cart,
                },
                &["CartCleared"],
                &[],
                Compensation::NotNeeded {
                    reason: "after the pivot; retried forward",
                },
            ),
            step(
                NOTIFY,
                CommandSpec {
                    message_type: "SendNotification",
                    topic: NOTIFICATIONS,
                    build: build::send_notification,
                },
                &["NotificationSent"],
                &["NotificationFailed"],
                Compensation::NotNeeded {
                    reason: "after the pivot; retried forward",
                },
            ),
        ],
        compensation_retry: COMPENSATION_RETRY,
        result: Some(RESULT),
        user: Some(user),
    }
}

/// What a checkout produces: the order `create_order` made.
pub const RESULT: ResultSpec = ResultSpec {
    name: RESULT_ORDER_ID,
    read: order_id,
};

fn order_id(data: &SagaData) -> Option<Uuid> {
    data.result_as::<Created>(CREATE_ORDER)
        .ok()
        .map(|created| created.order_id)
}

fn user(data: &SagaData) -> Option<String> {
    input::input(data).ok().map(|input| input.user_id)
}
