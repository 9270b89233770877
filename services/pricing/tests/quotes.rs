//! Pricing through the real inbox transaction and PostgreSQL.

mod common;

use common::{Reply, incoming, send};
use sagaflow_events::messages::{CheckoutItem, OrderPriced, OrderPricingFailed, PriceOrder};
use sagaflow_pricing::{NAME, PricingHandler, Settings, add_discount_code};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("pricing").await?;
    sagaflow_pricing::migrate(&db.pool).await?;
    Ok(db)
}

fn price_order(saga_id: Uuid, items: &[(i32, i64)], code: Option<&str>) -> sagaflow_bus::Incoming {
    let items = items
        .iter()
        .enumerate()
        .map(|(n, (quantity, unit_price_minor))| CheckoutItem {
            sku: format!("SKU-{n}"),
            quantity: *quantity,
            unit_price_minor: *unit_price_minor,
        })
        .collect();
    incoming(
        Some(saga_id),
        &PriceOrder {
            saga_id,
            items,
            currency: "EUR".into(),
            discount_code: code.map(str::to_owned),
        },
    )
}

async fn go(
    pool: &PgPool,
    handler: &PricingHandler,
    message: &sagaflow_bus::Incoming,
) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, message).await?)
}

#[tokio::test]
async fn subtotal_discount_and_tax_with_rounding() -> anyhow::Result<()> {
    let db = db().await?;
    add_discount_code(&db.pool, "SAVE15", 15).await?;
    let handler = PricingHandler::default();
    let saga = Uuid::now_v7();

    // 2 × 1234 + 1 × 999 = 3467; 15% = 520.05 → 520; 20% of 2947 = 589.4 → 589.
    let priced: OrderPriced = go(
        &db.pool,
        &handler,
        &price_order(saga, &[(2, 1234), (1, 999)], Some("SAVE15")),
    )
    .await?
    .expect();
    assert_eq!(
        (
            priced.subtotal_minor,
            priced.discount_minor,
            priced.tax_minor,
            priced.total_minor,
            priced.currency.as_str()
        ),
        (3467, 520, 589, 3536, "EUR")
    );

    // Stored by saga: the same answer after the code changes.
    add_discount_code(&db.pool, "SAVE15", 50).await?;
    let again: OrderPriced = go(
        &db.pool,
        &handler,
        &price_order(saga, &[(2, 1234), (1, 999)], Some("SAVE15")),
    )
    .await?
    .expect();
    assert_eq!(again, priced);

    // Half up: 7% tax on 50 = 3.5 → 4; no code.
    let handler = PricingHandler::new(Settings {
        tax_basis_points: 700,
        ..Settings::default()
    });
    let priced: OrderPriced = go(
        &db.pool,
        &handler,
        &price_order(Uuid::now_v7(), &[(1, 50)], None),
    )
    .await?
    .expect();
    assert_eq!(
        (
            priced.subtotal_minor,
            priced.discount_minor,
            priced.tax_minor,
            priced.total_minor
        ),
        (50, 0, 4, 54)
    );
    Ok(())
}

#[tokio::test]
async fn unknown_code_and_bad_items_fail() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    let saga = Uuid::now_v7();
    let failed: OrderPricingFailed = go(
        &db.pool,
        &handler,
        &price_order(saga, &[(1, 100)], Some("BOGUS")),
    )
    .await?
    .expect();
    assert_eq!(failed.reason, "unknown discount code BOGUS");
    // Stored: adding the code later does not change this saga's answer.
    add_discount_code(&db.pool, "BOGUS", 10).await?;
    let again: OrderPricingFailed = go(
        &db.pool,
        &handler,
        &price_order(saga, &[(1, 100)], Some("BOGUS")),
    )
    .await?
    .expect();
    assert_eq!(again, failed);

    let negative: OrderPricingFailed = go(
        &db.pool,
        &handler,
        &price_order(Uuid::now_v7(), &[(1, -5)], None),
    )
    .await?
    .expect();
    assert!(
        negative.reason.contains("invalid item"),
        "{}",
        negative.reason
    );
    let overflow: OrderPricingFailed = go(
        &db.pool,
        &handler,
        &price_order(Uuid::now_v7(), &[(3, i64::MAX / 2)], None),
    )
    .await?
    .expect();
    assert_eq!(overflow.reason, "the order total is too large");
    Ok(())
}
