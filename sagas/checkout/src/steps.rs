//! Step names and topics of the checkout saga (its message types are the
//! `MESSAGE_TYPE`s of `sagaflow_events::messages`).

/// The definition's name (`Definition::name`), as readers see it in progress.
pub const NAME: &str = "checkout";

pub const RESERVE_INVENTORY: &str = "reserve_inventory";
pub const PRICE_ORDER: &str = "price_order";
pub const TAKE_PAYMENT: &str = "take_payment";
pub const CREATE_ORDER: &str = "create_order";
pub const CLEAR_CART: &str = "clear_cart";
pub const NOTIFY: &str = "notify";

/// The name of the saga's result (the id of the order it created).
pub const RESULT_ORDER_ID: &str = "order_id";

/// The topics the saga's commands go to (each command's `Contract::TOPIC`).
pub use sagaflow_events::topics::{
    CART_COMMANDS, INVENTORY_COMMANDS, NOTIFICATIONS, ORDER_COMMANDS, PAYMENT_COMMANDS,
    PRICING_COMMANDS,
};
