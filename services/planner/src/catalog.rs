//! The planner's price catalogue (`catalog_prices`): what a plan charges for a
//! SKU, decided by the catalogue and never by the text. Loaded from
//! `PLANNER_CATALOG` at start and by [`set_price`]. A SKU without a price cannot
//! be bought or added by a plan.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Row};

/// A unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub unit_price_minor: i64,
    /// ISO 4217.
    pub currency: String,
}

/// Sets (or changes) the price of `sku` (upper-cased).
pub async fn set_price<'e>(
    db: impl PgExecutor<'e>,
    sku: &str,
    unit_price_minor: i64,
    currency: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO catalog_prices (sku, unit_price_minor, currency) VALUES ($1, $2, $3)
         ON CONFLICT (sku) DO UPDATE
         SET unit_price_minor = EXCLUDED.unit_price_minor, currency = EXCLUDED.currency,
             updated_at = now()",
    )
    .bind(sku.trim().to_uppercase())
    .bind(unit_price_minor)
    .bind(currency)
    .execute(db)
    .await?;
    Ok(())
}

/// The price of `sku`, if the catalogue has one.
pub async fn price(conn: &mut PgConnection, sku: &str) -> Result<Option<Price>, sqlx::Error> {
    let row = sqlx::query("SELECT unit_price_minor, currency FROM catalog_prices WHERE sku = $1")
        .bind(sku)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        Ok(Price {
            unit_price_minor: row.try_get("unit_price_minor")?,
            currency: row.try_get("currency")?,
        })
    })
    .transpose()
}
