//! The price table from `ProductChanged`: the highest version per SKU wins, an
//! older event is ignored, activation and prices follow the latest version.

use crate::common;

use common::{db, feed, go, price_order, product};
use sagaflow_events::messages::{OrderPriced, OrderPricingFailed};
use sagaflow_pricing::PricingHandler;
use sagaflow_pricing::catalog::{Applied, apply};
use uuid::Uuid;

#[tokio::test]
async fn the_highest_version_wins_and_older_events_are_ignored() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PricingHandler::default();
    let price_of = |currency: &'static str| {
        let order = price_order(
            Uuid::now_v7(),
            &[("MUG-BLUE", 1)],
            currency,
            None,
            Some("US"),
        );
        let pool = db.pool.clone();
        let handler = handler.clone();
        async move { go(&pool, &handler, &order).await }
    };

    // Version 2 arrives before version 1: version 1 changes nothing.
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 2, true, &[("EUR", 1300)]),
    )
    .await;
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 1, false, &[("EUR", 1)]),
    )
    .await;
    let priced: OrderPriced = price_of("EUR").await.expect();
    assert_eq!(priced.lines[0].unit_price_minor, 1300);

    // The same version again is stale too.
    let mut conn = db.pool.acquire().await?;
    let same = product("MUG-BLUE", 2, false, &[("EUR", 5)]);
    assert_eq!(apply(&mut conn, &same).await?, Applied::Stale);
    drop(conn);

    // Version 3 deactivates it.
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 3, false, &[("EUR", 1300)]),
    )
    .await;
    let failed: OrderPricingFailed = price_of("EUR").await.expect();
    assert_eq!(failed.reason, "SKU MUG-BLUE is not for sale (inactive)");

    // Version 4 reactivates it with a USD price only: the EUR price is gone.
    feed(
        &db.pool,
        &handler,
        &product("MUG-BLUE", 4, true, &[("USD", 1500)]),
    )
    .await;
    let failed: OrderPricingFailed = price_of("EUR").await.expect();
    assert_eq!(failed.reason, "SKU MUG-BLUE has no price in EUR");
    let priced: OrderPriced = price_of("USD").await.expect();
    assert_eq!(
        (priced.lines[0].unit_price_minor, priced.total_minor),
        (1500, 1500)
    );

    let stored: (i64, bool) =
        sqlx::query_as("SELECT version, active FROM catalog_products WHERE sku = 'MUG-BLUE'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(stored, (4, true));
    Ok(())
}
