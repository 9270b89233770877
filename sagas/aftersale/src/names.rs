//! Definition, step and result names of the after-sale sagas, as readers (the
//! gateway's projection, the planner) see them in progress.

/// `Definition::name` of the cancellation saga.
pub const CANCELLATION: &str = "order_cancellation";
/// `Definition::name` of the partial-refund saga.
pub const REFUND: &str = "order_refund";

/// Cancellation: mark the order cancelled (undone by `ReinstateOrder`).
pub const CANCEL_ORDER: &str = "cancel_order";
/// Refund: reserve the refunded lines on the order (undone by `ReleaseRefund`).
pub const RESERVE_REFUND: &str = "reserve_refund";
/// Both: refund through the payment service (the pivot).
pub const REFUND_PAYMENT: &str = "refund_payment";
/// Cancellation: the checkout's reserved stock goes back.
pub const RESTOCK: &str = "restock";
/// Refund: the reserved refund becomes final on the order.
pub const CONFIRM_REFUND: &str = "confirm_refund";
/// Both: tell the customer.
pub const NOTIFY: &str = "notify";

/// The result of both sagas: the payment provider's refund.
pub const RESULT_REFUND_ID: &str = "refund_id";
