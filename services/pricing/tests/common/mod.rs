//! The shared test kit: a migrated database, catalogue events and orders.
#![allow(unused_imports, dead_code)]

pub use sagaflow_bus::testing::*;

use sagaflow_bus::Incoming;
use sagaflow_bus::inbox::{Outcome, process};
use sagaflow_events::messages::{OrderLine, PriceOrder, ProductChanged, ProductPrice};
use sagaflow_pricing::{NAME, PricingHandler};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

/// A fresh database with the service's tables.
pub async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("pricing").await?;
    sagaflow_pricing::migrate(&db.pool).await?;
    Ok(db)
}

/// A `ProductChanged` for `sku` at `version`.
pub fn product(sku: &str, version: i64, active: bool, prices: &[(&str, i64)]) -> ProductChanged {
    ProductChanged {
        sku: sku.to_owned(),
        name: format!("{sku} name"),
        description: String::new(),
        active,
        prices: prices
            .iter()
            .map(|(currency, amount_minor)| ProductPrice {
                currency: (*currency).to_owned(),
                amount_minor: *amount_minor,
            })
            .collect(),
        version,
        at_ms: 1_750_000_000_000 + version,
    }
}

/// Feeds `event` through the inbox as the consumer would (no reply expected).
pub async fn feed(pool: &PgPool, handler: &PricingHandler, event: &ProductChanged) {
    let message = incoming(None, event);
    let outcome = process(pool, handler, NAME, &message, Default::default()).await;
    assert_eq!(outcome, Outcome::Handled);
}

/// A `PriceOrder` for `lines` (SKU, quantity) in `currency`.
pub fn price_order(
    saga_id: Uuid,
    lines: &[(&str, i32)],
    currency: &str,
    code: Option<&str>,
    country: Option<&str>,
) -> Incoming {
    incoming(
        Some(saga_id),
        &PriceOrder {
            saga_id,
            items: lines
                .iter()
                .map(|(sku, quantity)| OrderLine {
                    sku: (*sku).to_owned(),
                    quantity: *quantity,
                })
                .collect(),
            currency: currency.to_owned(),
            discount_code: code.map(str::to_owned),
            shipping_country: country.map(str::to_owned),
        },
    )
}

/// Sends `message` to the handler and returns its one reply.
pub async fn go(pool: &PgPool, handler: &PricingHandler, message: &Incoming) -> Reply {
    send(pool, handler, NAME, message)
        .await
        .expect("the handler replies once")
}
