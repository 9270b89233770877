//! The `cart.commands` handler: `ClearCart` (checkout saga), `AddCartItem` /
//! `RemoveCartItem` (a planner step and its compensation, see [`crate::saga_items`]).

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AddCartItem, CartCleared, CartItemAddFailed, CartItemAdded, CartItemRemoved, ClearCart,
    RemoveCartItem,
};
use sqlx::PgConnection;
use tracing::info;

use crate::config::Settings;
use crate::saga_items::{self, Added};
use crate::store;

/// Handles `ClearCart`, `AddCartItem` and `RemoveCartItem`.
#[derive(Debug, Clone, Default)]
pub struct CartHandler {
    pub settings: Settings,
}

impl CartHandler {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl Handler for CartHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            ClearCart::MESSAGE_TYPE => {
                let command: ClearCart = incoming.decode()?;
                // Emptying is naturally idempotent; a missing cart is already empty.
                let removed = store::clear_cart(tx, command.cart_id, &command.user_id).await?;
                info!(cart_id = %command.cart_id, removed, "cart cleared");
                let cleared = CartCleared {
                    saga_id: command.saga_id,
                    cart_id: command.cart_id,
                };
                Outgoing::caused_by(&incoming.envelope, &cleared)?
            }
            AddCartItem::MESSAGE_TYPE => {
                let command: AddCartItem = incoming.decode()?;
                match saga_items::add(tx, &command).await? {
                    Added::Added {
                        quantity_added,
                        line_quantity,
                    } => {
                        info!(cart_id = %command.cart_id, sku = %command.sku, quantity_added, "cart line added");
                        let added = CartItemAdded {
                            saga_id: command.saga_id,
                            cart_id: command.cart_id,
                            sku: command.sku,
                            quantity_added,
                            line_quantity,
                        };
                        Outgoing::caused_by(&incoming.envelope, &added)?
                    }
                    Added::Refused { reason } => {
                        info!(cart_id = %command.cart_id, sku = %command.sku, %reason, "cart line refused");
                        let failed = CartItemAddFailed {
                            saga_id: command.saga_id,
                            cart_id: command.cart_id,
                            sku: command.sku,
                            reason,
                        };
                        Outgoing::caused_by(&incoming.envelope, &failed)?
                    }
                }
            }
            RemoveCartItem::MESSAGE_TYPE => {
                let command: RemoveCartItem = incoming.decode()?;
                let quantity_removed = saga_items::remove(tx, &command).await?;
                info!(cart_id = %command.cart_id, sku = %command.sku, quantity_removed, "cart line taken back");
                let removed = CartItemRemoved {
                    saga_id: command.saga_id,
                    cart_id: command.cart_id,
                    sku: command.sku,
                    quantity_removed,
                };
                Outgoing::caused_by(&incoming.envelope, &removed)?
            }
            other => return Err(Failure::Poison(format!("cart does not handle {other}"))),
        };
        Ok(vec![reply])
    }
}
