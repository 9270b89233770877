//! The `cart.commands` handler.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{CartCleared, ClearCart};
use sqlx::PgConnection;
use tracing::info;

use crate::config::Settings;
use crate::store;

/// Handles `ClearCart`.
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
        match incoming.message_type() {
            ClearCart::MESSAGE_TYPE => {
                let command: ClearCart = incoming.decode()?;
                // Emptying is naturally idempotent; a missing cart is already empty.
                let removed = store::clear_cart(tx, command.cart_id, &command.user_id).await?;
                info!(cart_id = %command.cart_id, removed, "cart cleared");
                let cleared = CartCleared {
                    saga_id: command.saga_id,
                    cart_id: command.cart_id,
                };
                Ok(vec![Outgoing::caused_by(&incoming.envelope, &cleared)?])
            }
            other => Err(Failure::Poison(format!("cart does not handle {other}"))),
        }
    }
}
