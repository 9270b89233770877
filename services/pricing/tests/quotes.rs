//! Pricing through the real inbox transaction and PostgreSQL: prices from the
//! catalogue's events only, tax by shipping country, discount codes, stored quotes.

use crate::common;

use common::{db, feed, go, price_order, product};
use sagaflow_events::messages::{CheckoutItem, OrderPriced, OrderPricingFailed};
use sagaflow_pricing::{PricingHandler, Settings, add_discount_code};
use uuid::Uuid;

fn line(sku: &str, quantity: i32, unit_price_minor: i64) -> CheckoutItem {
    CheckoutItem {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

#[tokio::test]
async fn catalogue_prices_discount_and_tax_with_rounding() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, true, &[("EUR", 1234), ("USD", 1399)]),
    )
    .await;
    feed(
        &db.pool,
        &handler,
        &product("TEA-GREEN", 1, true, &[("EUR", 999)]),
    )
    .await;
    add_discount_code(&db.pool, "SAVE15", 15).await?;
    let saga = Uuid::now_v7();

    // 2 × 1234 + 1 × 999 = 3467; 15% = 520.05 → 520; FR 20% of 2947 = 589.4 → 589.
    let order = || {
        price_order(
            saga,
            &[("MUG-BLUE", 2), ("TEA-GREEN", 1)],
            "EUR",
            Some("SAVE15"),
            Some("FR"),
        )
    };
    let priced: OrderPriced = go(&db.pool, &handler, &order()).await.expect();
    assert_eq!(
        (
            priced.subtotal_minor,
            priced.discount_minor,
            priced.tax_minor,
            priced.total_minor
        ),
        (3467, 520, 589, 3536)
    );
    assert_eq!(priced.currency, "EUR");
    assert_eq!(
        priced.lines,
        [line("MUG-BLUE", 2, 1234), line("TEA-GREEN", 1, 999)]
    );

    // Stored by saga: the same answer after the code and the price change.
    add_discount_code(&db.pool, "SAVE15", 50).await?;
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 2, true, &[("EUR", 9999)]),
    )
    .await;
    let again: OrderPriced = go(&db.pool, &handler, &order()).await.expect();
    assert_eq!(again, priced);

    // A new order sees the new price; the customer's lower-case code matches.
    let order = price_order(
        Uuid::now_v7(),
        &[("MUG-BLUE", 1)],
        "EUR",
        Some(" save15 "),
        Some("FR"),
    );
    let priced: OrderPriced = go(&db.pool, &handler, &order).await.expect();
    assert_eq!(priced.lines, [line("MUG-BLUE", 1, 9999)]);
    assert_eq!(priced.discount_minor, 5000); // 50% of 9999 = 4999.5 → 5000
    Ok(())
}

#[tokio::test]
async fn tax_follows_the_shipping_country() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, true, &[("EUR", 1250), ("USD", 1400)]),
    )
    .await;
    let tax_of = |country: Option<&'static str>, currency: &'static str| {
        let order = price_order(Uuid::now_v7(), &[("MUG-BLUE", 2)], currency, None, country);
        let pool = db.pool.clone();
        let handler = handler.clone();
        async move { go(&pool, &handler, &order).await }
    };
    // 2 × 1250 = 2500: DE 19% = 475, FR 20% = 500, NL 21% = 525, lower case accepted.
    for (country, tax) in [(Some("DE"), 475), (Some("FR"), 500), (Some("nl"), 525)] {
        let priced: OrderPriced = tax_of(country, "EUR").await.expect();
        assert_eq!(
            (priced.subtotal_minor, priced.tax_minor),
            (2500, tax),
            "{country:?}"
        );
        assert_eq!(priced.total_minor, 2500 + tax);
    }
    // US: no federal sales tax.
    let priced: OrderPriced = tax_of(Some("US"), "USD").await.expect();
    assert_eq!(
        (priced.subtotal_minor, priced.tax_minor, priced.total_minor),
        (2800, 0, 2800)
    );
    // No country: the configured default (DE by default).
    let priced: OrderPriced = tax_of(None, "EUR").await.expect();
    assert_eq!(priced.tax_minor, 475);
    let handler_gb = PricingHandler::new(Settings {
        default_country: "GB".into(),
        ..Settings::default()
    });
    let order = price_order(Uuid::now_v7(), &[("MUG-BLUE", 2)], "EUR", None, None);
    let priced: OrderPriced = go(&db.pool, &handler_gb, &order).await.expect();
    assert_eq!(priced.tax_minor, 500);
    // A country without a rate, or not a country at all, is refused, named.
    let failed: OrderPricingFailed = tax_of(Some("ZZ"), "EUR").await.expect();
    assert_eq!(failed.reason, "no tax rate for shipping country ZZ");
    let failed: OrderPricingFailed = tax_of(Some("Germany"), "EUR").await.expect();
    assert_eq!(failed.reason, "invalid shipping country `Germany`");
    Ok(())
}

#[tokio::test]
async fn unknown_inactive_and_unpriced_skus_fail_naming_the_sku() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, true, &[("EUR", 1250)]),
    )
    .await;
    feed(
        &db.pool,
        &handler,
        &product("MUG-OLD", 3, false, &[("EUR", 900)]),
    )
    .await;
    let fail = |lines: &'static [(&'static str, i32)], currency: &'static str| {
        let order = price_order(Uuid::now_v7(), lines, currency, None, Some("DE"));
        let pool = db.pool.clone();
        let handler = handler.clone();
        async move {
            let failed: OrderPricingFailed = go(&pool, &handler, &order).await.expect();
            failed.reason
        }
    };
    assert_eq!(
        fail(&[("MUG-BLUE", 1), ("NOPE-1", 1)], "EUR").await,
        "unknown SKU NOPE-1"
    );
    assert_eq!(
        fail(&[("MUG-OLD", 1)], "EUR").await,
        "SKU MUG-OLD is not for sale (inactive)"
    );
    assert_eq!(
        fail(&[("MUG-BLUE", 1)], "USD").await,
        "SKU MUG-BLUE has no price in USD"
    );
    assert_eq!(
        fail(&[("MUG-BLUE", 0)], "EUR").await,
        "invalid quantity 0 for SKU MUG-BLUE"
    );
    assert_eq!(fail(&[], "EUR").await, "an order needs at least one item");
    assert_eq!(
        fail(&[("MUG-BLUE", 1)], "eur").await,
        "invalid currency `eur`"
    );
    Ok(())
}

#[tokio::test]
async fn codes_that_are_unknown_inactive_expired_or_in_another_currency_fail() -> anyhow::Result<()>
{
    let db = db().await?;
    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, true, &[("EUR", 1250)]),
    )
    .await;
    sqlx::query(
        "INSERT INTO discount_codes (code, kind, percent_off, amount_minor, currency, active, expires_at) VALUES
            ('OFF', 'percent', 10, NULL, NULL, false, NULL),
            ('OLD', 'percent', 10, NULL, NULL, true, now() - interval '1 minute'),
            ('FIVE-USD', 'fixed', NULL, 500, 'USD', true, NULL),
            ('FIVE-EUR', 'fixed', NULL, 500, 'EUR', true, now() + interval '1 day')",
    )
    .execute(&db.pool)
    .await?;
    let saga = Uuid::now_v7();
    let order = |saga: Uuid, code: &'static str| {
        price_order(saga, &[("MUG-BLUE", 1)], "EUR", Some(code), Some("DE"))
    };
    let failed: OrderPricingFailed = go(&db.pool, &handler, &order(saga, "BOGUS")).await.expect();
    assert_eq!(failed.reason, "unknown discount code BOGUS");
    // Stored: adding the code later does not change this saga's answer.
    add_discount_code(&db.pool, "BOGUS", 10).await?;
    let again: OrderPricingFailed = go(&db.pool, &handler, &order(saga, "BOGUS")).await.expect();
    assert_eq!(again, failed);

    let reason = |code: &'static str| {
        let message = order(Uuid::now_v7(), code);
        let pool = db.pool.clone();
        let handler = handler.clone();
        async move {
            let failed: OrderPricingFailed = go(&pool, &handler, &message).await.expect();
            failed.reason
        }
    };
    assert_eq!(reason("OFF").await, "discount code OFF is inactive");
    assert_eq!(reason("OLD").await, "discount code OLD has expired");
    assert_eq!(
        reason("FIVE-USD").await,
        "discount code FIVE-USD is an amount in USD, the order is in EUR"
    );
    // A fixed amount in the order's currency comes off before tax:
    // 1250 − 500 = 750; DE 19% = 142.5 → 143.
    let priced: OrderPriced = go(&db.pool, &handler, &order(Uuid::now_v7(), "FIVE-EUR"))
        .await
        .expect();
    assert_eq!(
        (priced.discount_minor, priced.tax_minor, priced.total_minor),
        (500, 143, 893)
    );
    Ok(())
}

#[tokio::test]
async fn overflow_fails() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    feed(
        &db.pool,
        &handler,
        &product("GOLD", 1, true, &[("EUR", i64::MAX / 2)]),
    )
    .await;
    let order = price_order(Uuid::now_v7(), &[("GOLD", 3)], "EUR", None, None);
    let failed: OrderPricingFailed = go(&db.pool, &handler, &order).await.expect();
    assert_eq!(failed.reason, "the order total is too large");
    Ok(())
}
