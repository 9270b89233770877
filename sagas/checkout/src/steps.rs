//! Step names, wire message types and topics of the checkout saga.

pub const RESERVE_INVENTORY: &str = "reserve_inventory";
pub const PRICE_ORDER: &str = "price_order";
pub const TAKE_PAYMENT: &str = "take_payment";
pub const CREATE_ORDER: &str = "create_order";
pub const CLEAR_CART: &str = "clear_cart";
pub const NOTIFY: &str = "notify";

pub const INVENTORY_COMMANDS: &str = "inventory.commands";
pub const PRICING_COMMANDS: &str = "pricing.commands";
pub const PAYMENT_COMMANDS: &str = "payment.commands";
pub const ORDER_COMMANDS: &str = "order.commands";
pub const CART_COMMANDS: &str = "cart.commands";
pub const NOTIFICATIONS: &str = "notifications";
