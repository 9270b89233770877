//! Step names, wire message types and topics of the checkout saga.

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

pub const INVENTORY_COMMANDS: &str = "inventory.commands";
pub const PRICING_COMMANDS: &str = "pricing.commands";
pub const PAYMENT_COMMANDS: &str = "payment.commands";
pub const ORDER_COMMANDS: &str = "order.commands";
pub const CART_COMMANDS: &str = "cart.commands";
pub const NOTIFICATIONS: &str = "notifications";
