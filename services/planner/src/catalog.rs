//! The planner's read model of the product catalogue (`catalog_products`), kept
//! from `ProductChanged` on `catalog.events` ([`apply`]: the highest version per
//! SKU wins, so a redelivered or late older version changes nothing). A plan
//! buys at the catalogue's price in the budget currency, never at a price from
//! the text; an unknown or inactive SKU, or one without a price in that
//! currency, cannot be planned ([`lookup`] says which).
//!
//! The price here only sizes the plan (budgets, confirmation): the checkout it
//! starts carries no price, and the pricing service prices it from the same
//! catalogue.

use sagaflow_events::messages::{ProductChanged, ProductPrice};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

/// A unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub unit_price_minor: i64,
    /// ISO 4217.
    pub currency: String,
}

/// What the catalogue says about a SKU, for a plan in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Priced(Price),
    Unknown,
    Inactive,
    NoPriceIn(String),
}

impl Lookup {
    /// Why `sku` cannot be planned, unless it is priced.
    pub fn refusal(&self, sku: &str) -> Option<String> {
        match self {
            Lookup::Priced(_) => None,
            Lookup::Unknown => Some(format!("{sku} is not in the catalogue")),
            Lookup::Inactive => Some(format!(
                "{sku} is no longer sold (inactive in the catalogue)"
            )),
            Lookup::NoPriceIn(currency) => {
                Some(format!("{sku} has no price in {currency} in the catalogue"))
            }
        }
    }
}

/// Applies a product change; returns false when a same or newer version is known.
pub async fn apply(conn: &mut PgConnection, product: &ProductChanged) -> Result<bool, sqlx::Error> {
    let sku = product.sku.trim().to_uppercase();
    let written = sqlx::query(
        "INSERT INTO catalog_products (sku, name, active, prices, version, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (sku) DO UPDATE
         SET name = EXCLUDED.name, active = EXCLUDED.active, prices = EXCLUDED.prices,
             version = EXCLUDED.version, at_ms = EXCLUDED.at_ms, updated_at = now()
         WHERE catalog_products.version < EXCLUDED.version",
    )
    .bind(&sku)
    .bind(&product.name)
    .bind(product.active)
    .bind(Json(&product.prices))
    .bind(product.version)
    .bind(product.at_ms)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}

/// What the catalogue says about `sku` for a plan in `currency`.
pub async fn lookup(
    conn: &mut PgConnection,
    sku: &str,
    currency: &str,
) -> Result<Lookup, sqlx::Error> {
    let row = sqlx::query("SELECT active, prices FROM catalog_products WHERE sku = $1")
        .bind(sku)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(Lookup::Unknown);
    };
    if !row.try_get::<bool, _>("active")? {
        return Ok(Lookup::Inactive);
    }
    let Json(prices): Json<Vec<ProductPrice>> = row.try_get("prices")?;
    Ok(prices
        .into_iter()
        .find(|p| p.currency == currency && p.amount_minor >= 0)
        .map(|p| {
            Lookup::Priced(Price {
                unit_price_minor: p.amount_minor,
                currency: p.currency,
            })
        })
        .unwrap_or_else(|| Lookup::NoPriceIn(currency.to_owned())))
}
