//! The price table: the catalogue's products as `ProductChanged` events describe
//! them (no synchronous call to the catalogue service).
//!
//! Each event carries the whole product; [`apply`] keeps the highest `version` per
//! SKU, so a late or replayed older event changes nothing. [`unit_prices`] looks
//! the lines of an order up in one query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sagaflow_events::messages::{OrderLine, ProductChanged};
use sqlx::PgConnection;

/// Whether [`apply`] changed the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event is newer than what the table had (or the SKU is new).
    Updated,
    /// The table already holds this version or a newer one.
    Stale,
}

/// Stores `event` if its version is higher than the stored one, in the caller's
/// transaction. Prices that are not positive ISO 4217 amounts are skipped (the
/// catalogue never publishes them; a reader must not fail on them either).
pub async fn apply(
    conn: &mut PgConnection,
    event: &ProductChanged,
) -> Result<Applied, sqlx::Error> {
    let changed_at = DateTime::<Utc>::from_timestamp_millis(event.at_ms).unwrap_or_else(Utc::now);
    let updated = sqlx::query(
        "INSERT INTO catalog_products (sku, active, version, changed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sku) DO UPDATE
            SET active = EXCLUDED.active, version = EXCLUDED.version, changed_at = EXCLUDED.changed_at
          WHERE catalog_products.version < EXCLUDED.version",
    )
    .bind(&event.sku)
    .bind(event.active)
    .bind(event.version)
    .bind(changed_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(Applied::Stale);
    }
    sqlx::query("DELETE FROM catalog_prices WHERE sku = $1")
        .bind(&event.sku)
        .execute(&mut *conn)
        .await?;
    let (currencies, amounts): (Vec<&str>, Vec<i64>) = event
        .prices
        .iter()
        .filter(|p| {
            p.amount_minor > 0
                && p.currency.len() == 3
                && p.currency.bytes().all(|b| b.is_ascii_uppercase())
        })
        .map(|p| (p.currency.as_str(), p.amount_minor))
        .unzip();
    sqlx::query(
        "INSERT INTO catalog_prices (sku, currency, amount_minor)
         SELECT $1, c, a FROM UNNEST($2::text[], $3::bigint[]) AS t(c, a)
         ON CONFLICT (sku, currency) DO UPDATE SET amount_minor = EXCLUDED.amount_minor",
    )
    .bind(&event.sku)
    .bind(&currencies)
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    Ok(Applied::Updated)
}

/// Why a line cannot be priced; the message names the SKU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unpriceable {
    #[error("unknown SKU {0}")]
    Unknown(String),
    #[error("SKU {0} is not for sale (inactive)")]
    Inactive(String),
    #[error("SKU {sku} has no price in {currency}")]
    NoPrice { sku: String, currency: String },
}

/// The catalogue unit price of every line in `currency`, in the order of `lines`,
/// or why the first line that cannot be priced cannot.
pub async fn unit_prices(
    conn: &mut PgConnection,
    lines: &[OrderLine],
    currency: &str,
) -> Result<Result<Vec<i64>, Unpriceable>, sqlx::Error> {
    let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
    let rows: Vec<(String, bool, Option<i64>)> = sqlx::query_as(
        "SELECT p.sku, p.active, pr.amount_minor
         FROM catalog_products p
         LEFT JOIN catalog_prices pr ON pr.sku = p.sku AND pr.currency = $2
         WHERE p.sku = ANY($1)",
    )
    .bind(&skus)
    .bind(currency)
    .fetch_all(&mut *conn)
    .await?;
    let known: HashMap<String, (bool, Option<i64>)> = rows
        .into_iter()
        .map(|(sku, active, amount)| (sku, (active, amount)))
        .collect();
    let mut prices = Vec::with_capacity(lines.len());
    for line in lines {
        let price = match known.get(&line.sku) {
            None => Err(Unpriceable::Unknown(line.sku.clone())),
            Some((false, _)) => Err(Unpriceable::Inactive(line.sku.clone())),
            Some((true, None)) => Err(Unpriceable::NoPrice {
                sku: line.sku.clone(),
                currency: currency.to_owned(),
            }),
            Some((true, Some(amount))) => Ok(*amount),
        };
        match price {
            Ok(amount) => prices.push(amount),
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(prices))
}
