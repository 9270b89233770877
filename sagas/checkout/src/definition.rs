//! The checkout saga definition.

use std::time::Duration;

use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CartCleared, ClearCart, CompensatePayment, CreateOrder, InventoryReleased,
    InventoryReservationFailed, InventoryReserved, NotificationFailed, NotificationSent,
    OrderCreated, OrderCreationFailed, OrderPriced, OrderPricingFailed, PaymentFailed,
    PaymentProcessed, PaymentRefunded, PriceOrder, ProcessPayment, ReleaseInventory,
    ReserveInventory, SendNotification,
};
use sagaflow_saga_engine::{
    BuildError, CommandSpec, Compensation, Definition, ResultSpec, RetryPolicy, SagaData, Step,
};
use uuid::Uuid;

use crate::build;
use crate::input;
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

/// The command `T` of the contracts, on its contract's topic.
fn command<T: Contract>(
    build: fn(&SagaData) -> Result<serde_json::Value, BuildError>,
) -> CommandSpec {
    CommandSpec {
        message_type: T::MESSAGE_TYPE,
        topic: T::TOPIC,
        build,
    }
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
                command::<ReserveInventory>(build::reserve_inventory),
                &[InventoryReserved::MESSAGE_TYPE],
                &[InventoryReservationFailed::MESSAGE_TYPE],
                Compensation::Command {
                    command: command::<ReleaseInventory>(build::release_inventory),
                    completes_on: &[InventoryReleased::MESSAGE_TYPE],
                },
            ),
            step(
                PRICE_ORDER,
                command::<PriceOrder>(build::price_order),
                &[OrderPriced::MESSAGE_TYPE],
                &[OrderPricingFailed::MESSAGE_TYPE],
                Compensation::NotNeeded {
                    reason: "pure calculation",
                },
            ),
            step(
                TAKE_PAYMENT,
                command::<ProcessPayment>(build::process_payment),
                &[PaymentProcessed::MESSAGE_TYPE],
                &[PaymentFailed::MESSAGE_TYPE],
                Compensation::Command {
                    command: command::<CompensatePayment>(build::compensate_payment),
                    completes_on: &[PaymentRefunded::MESSAGE_TYPE],
                },
            ),
            step(
                CREATE_ORDER,
                command::<CreateOrder>(build::create_order),
                &[OrderCreated::MESSAGE_TYPE],
                &[OrderCreationFailed::MESSAGE_TYPE],
                Compensation::Pivot,
            ),
            step(
                CLEAR_CART,
                command::<ClearCart>(build::clear_cart),
                &[CartCleared::MESSAGE_TYPE],
                &[],
                Compensation::NotNeeded {
                    reason: "after the pivot; retried forward",
                },
            ),
            step(
                NOTIFY,
                command::<SendNotification>(build::send_notification),
                &[NotificationSent::MESSAGE_TYPE],
                &[NotificationFailed::MESSAGE_TYPE],
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
    data.result_as::<OrderCreated>(CREATE_ORDER)
        .ok()
        .map(|created| created.order_id)
}

fn user(data: &SagaData) -> Option<String> {
    input::input(data).ok().map(|input| input.user_id)
}
