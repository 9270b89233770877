//! The contract catalogue: every message type, listed once, with its topic.
//! The `catalog!` invocation below implements [`Contract`] for each type
//! and generates the JSON dispatchers behind [`crate::encode_json`] and
//! [`crate::decode_json`]. Adding a message type = a struct in
//! [`crate::messages`] + one line here + its schema in `events/schemas/`.

use serde::Deserialize;
use serde_json::Value;

use crate::messages::*;
use crate::{Contract, Error, topics::*};

macro_rules! catalog {
    ($($ty:ident => $topic:ident),* $(,)?) => {
        $(
            impl Contract for $ty {
                const MESSAGE_TYPE: &'static str = stringify!($ty);
                const TOPIC: &'static str = $topic;
            }
        )*

        /// `(message type, topic)` of every contract type.
        pub const CONTRACTS: &[(&str, &str)] = &[$((stringify!($ty), $topic)),*];

        /// Deserialises `value` into the type named `message_type`, then
        /// encodes it with [`crate::encode`].
        pub(crate) fn encode_json(message_type: &str, value: &Value) -> Result<Vec<u8>, Error> {
            match message_type {
                $(stringify!($ty) => crate::encode(&$ty::deserialize(value)?),)*
                other => Err(Error::UnknownMessageType(other.to_owned())),
            }
        }

        /// Decodes `bytes` as the type named `message_type` and renders it
        /// as JSON.
        pub(crate) fn decode_json(
            message_type: &str,
            bytes: &[u8],
        ) -> Result<(&'static str, Value), Error> {
            match message_type {
                $(stringify!($ty) => Ok((
                    $ty::MESSAGE_TYPE,
                    serde_json::to_value(crate::decode::<$ty>(bytes)?)?,
                )),)*
                other => Err(Error::UnknownMessageType(other.to_owned())),
            }
        }
    };
}

catalog! {
    InitiateCheckout => ORCHESTRATOR_COMMANDS,
    InitiateGeneration => ORCHESTRATOR_COMMANDS,
    CancelSaga => ORCHESTRATOR_COMMANDS,
    InitiateOrderCancellation => ORCHESTRATOR_COMMANDS,
    InitiateRefund => ORCHESTRATOR_COMMANDS,
    SagaProgressed => ORCHESTRATOR_EVENTS,
    SagaFinished => ORCHESTRATOR_EVENTS,
    ReserveInventory => INVENTORY_COMMANDS,
    ReleaseInventory => INVENTORY_COMMANDS,
    InventoryReserved => INVENTORY_EVENTS,
    InventoryReservationFailed => INVENTORY_EVENTS,
    InventoryReleased => INVENTORY_EVENTS,
    RestockOrder => INVENTORY_COMMANDS,
    InventoryRestocked => INVENTORY_EVENTS,
    PriceOrder => PRICING_COMMANDS,
    OrderPriced => PRICING_EVENTS,
    OrderPricingFailed => PRICING_EVENTS,
    ProcessPayment => PAYMENT_COMMANDS,
    CompensatePayment => PAYMENT_COMMANDS,
    PaymentProcessed => PAYMENT_EVENTS,
    PaymentFailed => PAYMENT_EVENTS,
    PaymentRefunded => PAYMENT_EVENTS,
    RefundPayment => PAYMENT_COMMANDS,
    PaymentRefundIssued => PAYMENT_EVENTS,
    PaymentRefundFailed => PAYMENT_EVENTS,
    CreateOrder => ORDER_COMMANDS,
    CancelOrder => ORDER_COMMANDS,
    OrderCreated => ORDER_EVENTS,
    OrderCreationFailed => ORDER_EVENTS,
    OrderCancelled => ORDER_EVENTS,
    CancelPlacedOrder => ORDER_COMMANDS,
    PlacedOrderCancelled => ORDER_EVENTS,
    OrderCancellationRefused => ORDER_EVENTS,
    ReinstateOrder => ORDER_COMMANDS,
    OrderReinstated => ORDER_EVENTS,
    ReserveRefund => ORDER_COMMANDS,
    RefundReserved => ORDER_EVENTS,
    RefundRefused => ORDER_EVENTS,
    ReleaseRefund => ORDER_COMMANDS,
    RefundReleased => ORDER_EVENTS,
    ConfirmRefund => ORDER_COMMANDS,
    RefundConfirmed => ORDER_EVENTS,
    ClearCart => CART_COMMANDS,
    CartCleared => CART_EVENTS,
    AddCartItem => CART_COMMANDS,
    RemoveCartItem => CART_COMMANDS,
    CartItemAdded => CART_EVENTS,
    CartItemAddFailed => CART_EVENTS,
    CartItemRemoved => CART_EVENTS,
    PlanEventRecorded => PLANNER_EVENTS,
    SendNotification => NOTIFICATIONS,
    NotificationSent => NOTIFICATION_EVENTS,
    NotificationFailed => NOTIFICATION_EVENTS,
    AnalyseJob => GENERATION_COMMANDS,
    CompileProfile => GENERATION_COMMANDS,
    GenerateDocument => GENERATION_COMMANDS,
    ValidateDocument => GENERATION_COMMANDS,
    ExportDocument => GENERATION_COMMANDS,
    ReleaseTokenBudget => GENERATION_COMMANDS,
    VoidDraft => GENERATION_COMMANDS,
    EraseUserData => GENERATION_COMMANDS,
    JobAnalysed => GENERATION_EVENTS,
    JobAnalysisFailed => GENERATION_EVENTS,
    ProfileCompiled => GENERATION_EVENTS,
    DocumentGenerated => GENERATION_EVENTS,
    GenerationFailed => GENERATION_EVENTS,
    DocumentValidated => GENERATION_EVENTS,
    DocumentRejected => GENERATION_EVENTS,
    DocumentExported => GENERATION_EVENTS,
    ExportFailed => GENERATION_EVENTS,
    TokenBudgetReleased => GENERATION_EVENTS,
    DraftVoided => GENERATION_EVENTS,
    AttachDocumentToApplication => APPLICATIONS_COMMANDS,
    DetachDocumentFromApplication => APPLICATIONS_COMMANDS,
    ApplicationStatusChanged => APPLICATIONS_EVENTS,
    DocumentAttached => APPLICATIONS_EVENTS,
    DocumentAttachFailed => APPLICATIONS_EVENTS,
    DocumentDetached => APPLICATIONS_EVENTS,
    ProductChanged => CATALOG_EVENTS,
    UserErasureRequested => GATEWAY_EVENTS,
}
