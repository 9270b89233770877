//! The `cart.commands` handler: `ClearCart` (checkout saga), `AddCartItem` /
//! `RemoveCartItem` (a planner step and its compensation, see [`crate::saga_items`]).
//! The tenant of every command is its envelope's; the cart is the command's user's
//! in that tenant.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AddCartItem, CartCleared, CartItemAddFailed, CartItemAdded, CartItemRemoved, ClearCart,
    RemoveCartItem,
};
use sqlx::PgConnection;
use tracing::info;

use crate::config::Settings;
use crate::erasure;
use crate::saga_items::{self, Added};
use crate::store::{self, Owner};

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
                let tenant_id = &incoming.envelope.tenant_id;
                // Once per saga; a missing cart is fine; an erased user's cart is gone.
                if erasure::guard(tx, tenant_id, &command.user_id, command.saga_id).await? {
                    info!(cart_id = %command.cart_id, "cart of an erased user: nothing to clear");
                } else {
                    let owner = Owner::new(tenant_id.clone(), command.user_id.clone());
                    let bought: Vec<(String, i32)> = command
                        .items
                        .iter()
                        .map(|line| (line.sku.clone(), line.quantity))
                        .collect();
                    let removed =
                        store::clear_bought(tx, &owner, command.saga_id, command.cart_id, &bought)
                            .await?;
                    info!(cart_id = %command.cart_id, ?removed, "bought lines taken out of the cart");
                }
                let cleared = CartCleared {
                    saga_id: command.saga_id,
                    cart_id: command.cart_id,
                };
                Outgoing::caused_by(&incoming.envelope, &cleared)?
            }
            AddCartItem::MESSAGE_TYPE => {
                let command: AddCartItem = incoming.decode()?;
                match saga_items::add(tx, &incoming.envelope.tenant_id, &command).await? {
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
                let quantity_removed =
                    saga_items::remove(tx, &incoming.envelope.tenant_id, &command).await?;
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
